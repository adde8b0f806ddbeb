package autoscaling

import (
	"encoding/json"
	"fmt"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
)

// Converting a HorizontalPodAutoscaler between autoscaling/v1 and v2, with
// kube-apiserver's semantics (pkg/apis/autoscaling/v1/conversion.go).
//
// v1 knows one metric, targetCPUUtilizationPercentage, which is a v2
// Resource metric for cpu with a Utilization target. Whatever else v2
// holds travels through v1 in annotations, so that a v1 client's
// read-modify-write keeps it:
//
//	autoscaling.alpha.kubernetes.io/metrics          the other spec metrics, as []v1.MetricSpec
//	autoscaling.alpha.kubernetes.io/current-metrics  every status metric, as []v1.MetricStatus
//	autoscaling.alpha.kubernetes.io/conditions       status.conditions
//	autoscaling.alpha.kubernetes.io/behavior         spec.behavior, in kube-apiserver's internal JSON
//
// Reading v1 back folds the annotations into the fields and drops them;
// a v1 object without any metric gets v1's implicit target, 80% cpu.
// Like kube-apiserver's, the conversion is lossy where v1 fields are not
// pointers: a v2 target without a value comes back with a zero one.

const (
	metricsAnnotation        = "autoscaling.alpha.kubernetes.io/metrics"
	currentMetricsAnnotation = "autoscaling.alpha.kubernetes.io/current-metrics"
	conditionsAnnotation     = "autoscaling.alpha.kubernetes.io/conditions"
	behaviorAnnotation       = "autoscaling.alpha.kubernetes.io/behavior"
	// The tolerance annotations carry spec.behavior's tolerances through
	// v2beta2; they are round-trip annotations too, and never stored.
	scaleDownToleranceAnnotation = "autoscaling.alpha.kubernetes.io/scale-down-tolerance"
	scaleUpToleranceAnnotation   = "autoscaling.alpha.kubernetes.io/scale-up-tolerance"

	// defaultCPUUtilization is v1's target when none is given.
	defaultCPUUtilization = 80
)

var roundTripAnnotations = []string{metricsAnnotation, currentMetricsAnnotation, conditionsAnnotation,
	behaviorAnnotation, scaleDownToleranceAnnotation, scaleUpToleranceAnnotation}

// dropRoundTripAnnotations removes the annotations the conversion writes
// from m, a copy the caller owns; an emptied map becomes nil.
func dropRoundTripAnnotations(m map[string]string) map[string]string {
	for _, k := range roundTripAnnotations {
		delete(m, k)
	}
	if len(m) == 0 {
		return nil
	}
	return m
}

// toV2 converts a served autoscaling/v1 object to the stored v2.
func toV2(obj runtime.Object) (runtime.Object, error) {
	in, ok := obj.(*autoscalingv1.HorizontalPodAutoscaler)
	if !ok {
		return nil, fmt.Errorf("expected an autoscaling/v1 HorizontalPodAutoscaler, got %T", obj)
	}
	return V1ToV2(in)
}

// toV1 converts a stored autoscaling/v2 object to the served v1.
func toV1(obj runtime.Object) (runtime.Object, error) {
	in, ok := obj.(*autoscalingv2.HorizontalPodAutoscaler)
	if !ok {
		return nil, fmt.Errorf("expected an autoscaling/v2 HorizontalPodAutoscaler, got %T", obj)
	}
	return V2ToV1(in)
}

// V2ToV1 converts a v2 HorizontalPodAutoscaler to v1; in is not changed.
func V2ToV1(in *autoscalingv2.HorizontalPodAutoscaler) (*autoscalingv1.HorizontalPodAutoscaler, error) {
	// The metadata is a copy: its annotations are this object's to change.
	out := &autoscalingv1.HorizontalPodAutoscaler{ObjectMeta: *in.ObjectMeta.DeepCopy()}
	out.APIVersion, out.Kind = autoscalingv1.SchemeGroupVersion.String(), "HorizontalPodAutoscaler"
	out.Annotations = dropRoundTripAnnotations(out.Annotations)

	spec, status := &in.Spec, &in.Status
	out.Spec = autoscalingv1.HorizontalPodAutoscalerSpec{
		ScaleTargetRef: autoscalingv1.CrossVersionObjectReference(spec.ScaleTargetRef),
		MinReplicas:    copyInt32(spec.MinReplicas),
		MaxReplicas:    spec.MaxReplicas,
	}
	// The first cpu metric decides; only a utilization target shows.
	for _, m := range spec.Metrics {
		if isCPU(m.Type, m.Resource) {
			out.Spec.TargetCPUUtilizationPercentage = copyInt32(m.Resource.Target.AverageUtilization)
			break
		}
	}
	out.Status = autoscalingv1.HorizontalPodAutoscalerStatus{
		ObservedGeneration: copyInt64(status.ObservedGeneration),
		LastScaleTime:      status.LastScaleTime.DeepCopy(),
		CurrentReplicas:    status.CurrentReplicas,
		DesiredReplicas:    status.DesiredReplicas,
	}
	for _, m := range status.CurrentMetrics {
		if m.Type == autoscalingv2.ResourceMetricSourceType && m.Resource != nil && m.Resource.Name == corev1.ResourceCPU &&
			m.Resource.Current.AverageUtilization != nil {
			out.Status.CurrentCPUUtilizationPercentage = copyInt32(m.Resource.Current.AverageUtilization)
		}
	}

	// Everything but the cpu utilization target goes to annotations. The
	// status metrics go whole, cpu included, to keep its raw value.
	var others []autoscalingv1.MetricSpec
	for _, m := range spec.Metrics {
		if isCPU(m.Type, m.Resource) && m.Resource.Target.AverageUtilization != nil {
			continue
		}
		others = append(others, metricSpecToV1(m))
	}
	current := make([]autoscalingv1.MetricStatus, len(status.CurrentMetrics))
	for i, m := range status.CurrentMetrics {
		current[i] = metricStatusToV1(m)
	}
	conditions := make([]autoscalingv1.HorizontalPodAutoscalerCondition, len(status.Conditions))
	for i, c := range status.Conditions {
		conditions[i] = autoscalingv1.HorizontalPodAutoscalerCondition{
			Type: autoscalingv1.HorizontalPodAutoscalerConditionType(c.Type), Status: c.Status,
			LastTransitionTime: c.LastTransitionTime, Reason: c.Reason, Message: c.Message,
			ObservedGeneration: copyInt64(c.ObservedGeneration),
		}
	}
	var behavior *behaviorJSON
	if spec.Behavior != nil {
		behavior = behaviorToJSON(spec.Behavior)
	}
	for _, a := range []struct {
		key   string
		value interface{}
		set   bool
	}{
		{metricsAnnotation, others, len(others) > 0},
		{currentMetricsAnnotation, current, len(current) > 0},
		{behaviorAnnotation, behavior, behavior != nil},
		{conditionsAnnotation, conditions, len(conditions) > 0},
	} {
		if !a.set {
			continue
		}
		b, err := json.Marshal(a.value)
		if err != nil {
			return nil, err
		}
		if out.Annotations == nil {
			out.Annotations = map[string]string{}
		}
		out.Annotations[a.key] = string(b)
	}
	return out, nil
}

// V1ToV2 converts a v1 HorizontalPodAutoscaler to v2; in is not changed.
// Round-trip annotations that do not parse are ignored, as
// kube-apiserver ignores them.
func V1ToV2(in *autoscalingv1.HorizontalPodAutoscaler) (*autoscalingv2.HorizontalPodAutoscaler, error) {
	out := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: *in.ObjectMeta.DeepCopy()}
	out.APIVersion, out.Kind = autoscalingv2.SchemeGroupVersion.String(), "HorizontalPodAutoscaler"

	out.Spec = autoscalingv2.HorizontalPodAutoscalerSpec{
		ScaleTargetRef: autoscalingv2.CrossVersionObjectReference(in.Spec.ScaleTargetRef),
		MinReplicas:    copyInt32(in.Spec.MinReplicas),
		MaxReplicas:    in.Spec.MaxReplicas,
	}
	if p := in.Spec.TargetCPUUtilizationPercentage; p != nil {
		out.Spec.Metrics = []autoscalingv2.MetricSpec{cpuUtilization(*p)}
	}
	out.Status = autoscalingv2.HorizontalPodAutoscalerStatus{
		ObservedGeneration: copyInt64(in.Status.ObservedGeneration),
		LastScaleTime:      in.Status.LastScaleTime.DeepCopy(),
		CurrentReplicas:    in.Status.CurrentReplicas,
		DesiredReplicas:    in.Status.DesiredReplicas,
	}
	if p := in.Status.CurrentCPUUtilizationPercentage; p != nil {
		out.Status.CurrentMetrics = []autoscalingv2.MetricStatus{{
			Type: autoscalingv2.ResourceMetricSourceType,
			Resource: &autoscalingv2.ResourceMetricStatus{Name: corev1.ResourceCPU,
				Current: autoscalingv2.MetricValueStatus{AverageUtilization: copyInt32(p)}},
		}}
	}

	ann := in.Annotations
	var others []autoscalingv1.MetricSpec
	if s, ok := ann[metricsAnnotation]; ok && json.Unmarshal([]byte(s), &others) == nil {
		// The other metrics come first, the cpu target from the field last.
		metrics := make([]autoscalingv2.MetricSpec, 0, len(others)+len(out.Spec.Metrics))
		for _, m := range others {
			metrics = append(metrics, metricSpecToV2(m))
		}
		out.Spec.Metrics = append(metrics, out.Spec.Metrics...)
	}
	if s, ok := ann[behaviorAnnotation]; ok {
		// The annotation holds Go field names; encoding/json matches them
		// to the v2 fields' json names regardless of case.
		var b autoscalingv2.HorizontalPodAutoscalerBehavior
		if json.Unmarshal([]byte(s), &b) == nil && (b.ScaleUp != nil || b.ScaleDown != nil) {
			out.Spec.Behavior = &b
		}
	}
	var current []autoscalingv1.MetricStatus
	if s, ok := ann[currentMetricsAnnotation]; ok && json.Unmarshal([]byte(s), &current) == nil {
		// These have more to say than currentCPUUtilizationPercentage.
		out.Status.CurrentMetrics = make([]autoscalingv2.MetricStatus, len(current))
		for i, m := range current {
			out.Status.CurrentMetrics[i] = metricStatusToV2(m)
		}
	}
	if len(out.Spec.Metrics) == 0 {
		out.Spec.Metrics = []autoscalingv2.MetricSpec{cpuUtilization(defaultCPUUtilization)}
	}
	var conditions []autoscalingv1.HorizontalPodAutoscalerCondition
	if s, ok := ann[conditionsAnnotation]; ok && json.Unmarshal([]byte(s), &conditions) == nil {
		out.Status.Conditions = make([]autoscalingv2.HorizontalPodAutoscalerCondition, len(conditions))
		for i, c := range conditions {
			out.Status.Conditions[i] = autoscalingv2.HorizontalPodAutoscalerCondition{
				Type: autoscalingv2.HorizontalPodAutoscalerConditionType(c.Type), Status: c.Status,
				LastTransitionTime: c.LastTransitionTime, Reason: c.Reason, Message: c.Message,
				ObservedGeneration: c.ObservedGeneration,
			}
		}
	}
	out.Annotations = dropRoundTripAnnotations(out.Annotations)
	return out, nil
}

func isCPU(t autoscalingv2.MetricSourceType, r *autoscalingv2.ResourceMetricSource) bool {
	return t == autoscalingv2.ResourceMetricSourceType && r != nil && r.Name == corev1.ResourceCPU
}

func cpuUtilization(percent int32) autoscalingv2.MetricSpec {
	return autoscalingv2.MetricSpec{
		Type: autoscalingv2.ResourceMetricSourceType,
		Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceCPU,
			Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &percent}},
	}
}

func copyInt32(p *int32) *int32 {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

func copyInt64(p *int64) *int64 {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

func copyQuantity(q *resource.Quantity) *resource.Quantity {
	if q == nil {
		return nil
	}
	c := q.DeepCopy()
	return &c
}

// value returns *q, or zero where v1 has no pointer to say "unset".
func value(q *resource.Quantity) resource.Quantity {
	if q == nil {
		return resource.Quantity{}
	}
	return q.DeepCopy()
}
