package autoscaling

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/diff"
)

func i32(v int32) *int32 { return &v }
func i64(v int64) *int64 { return &v }
func q(s string) *resource.Quantity {
	v := resource.MustParse(s)
	return &v
}

var when = metav1.NewTime(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC))

func v1HPA() *autoscalingv1.HorizontalPodAutoscaler {
	return &autoscalingv1.HorizontalPodAutoscaler{
		TypeMeta:   metav1.TypeMeta{APIVersion: "autoscaling/v1", Kind: "HorizontalPodAutoscaler"},
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", Annotations: map[string]string{"team": "a"}},
		Spec: autoscalingv1.HorizontalPodAutoscalerSpec{
			ScaleTargetRef:                 autoscalingv1.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			MinReplicas:                    i32(2),
			MaxReplicas:                    10,
			TargetCPUUtilizationPercentage: i32(50),
		},
		Status: autoscalingv1.HorizontalPodAutoscalerStatus{ObservedGeneration: i64(3), LastScaleTime: &when,
			CurrentReplicas: 3, DesiredReplicas: 4},
	}
}

// v2HPA uses every kind of metric, behavior and conditions, with the
// values set that v1 cannot leave unset, and the cpu target last (where
// v1 puts it back): it survives v1 unchanged.
func v2HPA() *autoscalingv2.HorizontalPodAutoscaler {
	selector := &metav1.LabelSelector{MatchLabels: map[string]string{"queue": "jobs"}}
	maxPolicy := autoscalingv2.MaxChangePolicySelect
	return &autoscalingv2.HorizontalPodAutoscaler{
		TypeMeta:   metav1.TypeMeta{APIVersion: "autoscaling/v2", Kind: "HorizontalPodAutoscaler"},
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", Generation: 2, Labels: map[string]string{"app": "web"}},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			MinReplicas:    i32(1),
			MaxReplicas:    20,
			Metrics: []autoscalingv2.MetricSpec{
				{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceMemory,
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: q("1Gi")}}},
				{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
					Metric: autoscalingv2.MetricIdentifier{Name: "requests", Selector: selector},
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: q("100")}}},
				{Type: autoscalingv2.ObjectMetricSourceType, Object: &autoscalingv2.ObjectMetricSource{
					DescribedObject: autoscalingv2.CrossVersionObjectReference{APIVersion: "networking.k8s.io/v1", Kind: "Ingress", Name: "main"},
					Metric:          autoscalingv2.MetricIdentifier{Name: "hits"},
					Target:          autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, Value: q("2k")}}},
				{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
					Metric: autoscalingv2.MetricIdentifier{Name: "queue_depth", Selector: selector},
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: q("30")}}},
				{Type: autoscalingv2.ContainerResourceMetricSourceType, ContainerResource: &autoscalingv2.ContainerResourceMetricSource{
					Name: corev1.ResourceCPU, Container: "app",
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: i32(60)}}},
				{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceCPU,
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: i32(70)}}},
			},
			Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{
				ScaleUp: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: i32(0), SelectPolicy: &maxPolicy,
					Policies:  []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PodsScalingPolicy, Value: 4, PeriodSeconds: 15}},
					Tolerance: q("50m")},
				ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: i32(300),
					Policies: []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 15}}},
			},
		},
		Status: autoscalingv2.HorizontalPodAutoscalerStatus{
			ObservedGeneration: i64(2), LastScaleTime: &when, CurrentReplicas: 5, DesiredReplicas: 6,
			CurrentMetrics: []autoscalingv2.MetricStatus{
				{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{Name: corev1.ResourceMemory,
					Current: autoscalingv2.MetricValueStatus{AverageValue: q("900Mi")}}},
				{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricStatus{
					Metric: autoscalingv2.MetricIdentifier{Name: "requests", Selector: selector}, Current: autoscalingv2.MetricValueStatus{AverageValue: q("80")}}},
				{Type: autoscalingv2.ObjectMetricSourceType, Object: &autoscalingv2.ObjectMetricStatus{
					DescribedObject: autoscalingv2.CrossVersionObjectReference{APIVersion: "networking.k8s.io/v1", Kind: "Ingress", Name: "main"},
					Metric:          autoscalingv2.MetricIdentifier{Name: "hits"}, Current: autoscalingv2.MetricValueStatus{Value: q("1500")}}},
				{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricStatus{
					Metric:  autoscalingv2.MetricIdentifier{Name: "queue_depth", Selector: selector},
					Current: autoscalingv2.MetricValueStatus{Value: q("12"), AverageValue: q("4")}}},
				{Type: autoscalingv2.ContainerResourceMetricSourceType, ContainerResource: &autoscalingv2.ContainerResourceMetricStatus{
					Name: corev1.ResourceCPU, Container: "app", Current: autoscalingv2.MetricValueStatus{AverageValue: q("200m"), AverageUtilization: i32(40)}}},
				{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{Name: corev1.ResourceCPU,
					Current: autoscalingv2.MetricValueStatus{AverageValue: q("350m"), AverageUtilization: i32(35)}}},
			},
			Conditions: []autoscalingv2.HorizontalPodAutoscalerCondition{
				{Type: autoscalingv2.AbleToScale, Status: corev1.ConditionTrue, LastTransitionTime: when, Reason: "ReadyForNewScale", Message: "ok"},
				{Type: autoscalingv2.ScalingLimited, Status: corev1.ConditionFalse, LastTransitionTime: when, Reason: "DesiredWithinRange", ObservedGeneration: i64(2)},
			},
		},
	}
}

func mustV2(t *testing.T, in *autoscalingv1.HorizontalPodAutoscaler) *autoscalingv2.HorizontalPodAutoscaler {
	t.Helper()
	out, err := V1ToV2(in)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func mustV1(t *testing.T, in *autoscalingv2.HorizontalPodAutoscaler) *autoscalingv1.HorizontalPodAutoscaler {
	t.Helper()
	out, err := V2ToV1(in)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestV1RoundTrip(t *testing.T) {
	in := v1HPA()
	orig := in.DeepCopy()
	back := mustV1(t, mustV2(t, in))
	if !equality.Semantic.DeepEqual(orig, in) {
		t.Fatal("the conversion changed its input")
	}
	if !equality.Semantic.DeepEqual(orig, back) {
		t.Errorf("v1 -> v2 -> v1 changed the object:\n%s", diff.Diff(orig, back))
	}
}

func TestV1ToV2Fields(t *testing.T) {
	in := v1HPA()
	in.Status.CurrentCPUUtilizationPercentage = i32(42)
	out := mustV2(t, in)
	if out.APIVersion != "autoscaling/v2" || out.Spec.MaxReplicas != 10 || *out.Spec.MinReplicas != 2 ||
		out.Spec.ScaleTargetRef.Name != "web" || *out.Status.ObservedGeneration != 3 || out.Status.DesiredReplicas != 4 {
		t.Errorf("fields not carried over: %+v", out)
	}
	want := []autoscalingv2.MetricSpec{cpuUtilization(50)}
	if !equality.Semantic.DeepEqual(out.Spec.Metrics, want) {
		t.Errorf("metrics = %+v, want cpu at 50%%", out.Spec.Metrics)
	}
	cur := out.Status.CurrentMetrics
	if len(cur) != 1 || cur[0].Resource.Name != corev1.ResourceCPU || *cur[0].Resource.Current.AverageUtilization != 42 {
		t.Errorf("current metrics = %+v, want cpu at 42%%", cur)
	}

	// v1's implicit target: 80% cpu.
	in.Spec.TargetCPUUtilizationPercentage = nil
	if got := mustV2(t, in).Spec.Metrics; !equality.Semantic.DeepEqual(got, []autoscalingv2.MetricSpec{cpuUtilization(80)}) {
		t.Errorf("without a target: %+v, want cpu at 80%%", got)
	}

	// The raw cpu value rides in current-metrics, so reading v1 back adds
	// that annotation, as kube-apiserver does.
	in.Spec.TargetCPUUtilizationPercentage = i32(50)
	back := mustV1(t, mustV2(t, in))
	if *back.Status.CurrentCPUUtilizationPercentage != 42 || back.Annotations[currentMetricsAnnotation] == "" {
		t.Errorf("current cpu lost or not annotated: %+v", back)
	}
}

func TestV2RoundTrip(t *testing.T) {
	in := v2HPA()
	orig := in.DeepCopy()
	mid := mustV1(t, in)
	back := mustV2(t, mid)
	if !equality.Semantic.DeepEqual(orig, in) {
		t.Fatal("the conversion changed its input")
	}
	if !equality.Semantic.DeepEqual(orig, back) {
		t.Errorf("v2 -> v1 -> v2 changed the object:\n%s", diff.Diff(orig, back))
	}
	if back.Annotations != nil {
		t.Errorf("round-trip annotations left behind: %v", back.Annotations)
	}
}

func TestV2ToV1Fields(t *testing.T) {
	out := mustV1(t, v2HPA())
	if out.APIVersion != "autoscaling/v1" || *out.Spec.TargetCPUUtilizationPercentage != 70 ||
		*out.Status.CurrentCPUUtilizationPercentage != 35 || out.Spec.MaxReplicas != 20 || out.Status.CurrentReplicas != 5 {
		t.Errorf("fields: %+v", out)
	}
	if out.Labels["app"] != "web" {
		t.Errorf("labels lost: %v", out.Labels)
	}
	keys := []string{metricsAnnotation, currentMetricsAnnotation, conditionsAnnotation, behaviorAnnotation}
	if len(out.Annotations) != len(keys) {
		t.Errorf("annotations = %v", out.Annotations)
	}
	var others []autoscalingv1.MetricSpec
	if err := json.Unmarshal([]byte(out.Annotations[metricsAnnotation]), &others); err != nil {
		t.Fatal(err)
	}
	// Five metrics besides the cpu utilization target, in v1's shape.
	if len(others) != 5 || others[0].Resource.TargetAverageValue.String() != "1Gi" || others[1].Pods.MetricName != "requests" ||
		others[2].Object.TargetValue.String() != "2k" || *others[4].ContainerResource.TargetAverageUtilization != 60 {
		t.Errorf("metrics annotation = %s", out.Annotations[metricsAnnotation])
	}
	var current []autoscalingv1.MetricStatus
	if err := json.Unmarshal([]byte(out.Annotations[currentMetricsAnnotation]), &current); err != nil || len(current) != 6 {
		t.Errorf("current metrics annotation = %s (%v)", out.Annotations[currentMetricsAnnotation], err)
	}
	var conditions []autoscalingv1.HorizontalPodAutoscalerCondition
	if err := json.Unmarshal([]byte(out.Annotations[conditionsAnnotation]), &conditions); err != nil ||
		len(conditions) != 2 || conditions[0].Reason != "ReadyForNewScale" {
		t.Errorf("conditions annotation = %s (%v)", out.Annotations[conditionsAnnotation], err)
	}
	// The behavior is written as kube-apiserver's internal type marshals:
	// Go field names, nil fields as null.
	b := out.Annotations[behaviorAnnotation]
	for _, want := range []string{`"ScaleUp":{"StabilizationWindowSeconds":0,"SelectPolicy":"Max","Policies":[{"Type":"Pods","Value":4,"PeriodSeconds":15}],"Tolerance":"50m"}`,
		`"SelectPolicy":null`} {
		if !strings.Contains(b, want) {
			t.Errorf("behavior annotation %s lacks %s", b, want)
		}
	}
}

// The cpu target comes back after the other metrics, wherever it was.
func TestCPUTargetMovesLast(t *testing.T) {
	in := v2HPA()
	m := in.Spec.Metrics
	in.Spec.Metrics = append([]autoscalingv2.MetricSpec{m[len(m)-1]}, m[:len(m)-1]...)
	back := mustV2(t, mustV1(t, in))
	if !equality.Semantic.DeepEqual(back.Spec.Metrics, v2HPA().Spec.Metrics) {
		t.Errorf("metrics = %+v", back.Spec.Metrics)
	}
}

// Round-trip annotations never reach storage, and stale ones on a v2
// object do not leak into v1.
func TestRoundTripAnnotationsAreDropped(t *testing.T) {
	in := v1HPA()
	in.Annotations[metricsAnnotation] = "not json"
	in.Annotations[conditionsAnnotation] = "[]"
	out := mustV2(t, in)
	if len(out.Annotations) != 1 || out.Annotations["team"] != "a" {
		t.Errorf("v2 annotations = %v", out.Annotations)
	}
	if got := out.Spec.Metrics; len(got) != 1 || *got[0].Resource.Target.AverageUtilization != 50 {
		t.Errorf("a malformed annotation changed the metrics: %+v", got)
	}

	v2 := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{behaviorAnnotation: "{}"}},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{Metrics: []autoscalingv2.MetricSpec{cpuUtilization(10)}}}
	if v1 := mustV1(t, v2); len(v1.Annotations) != 0 {
		t.Errorf("stale annotation carried into v1: %v", v1.Annotations)
	}
}

// The behavior annotation of kube-apiserver's format reads back into v2.
func TestBehaviorAnnotationFromKubeAPIServer(t *testing.T) {
	in := v1HPA()
	in.Annotations = map[string]string{behaviorAnnotation: `{"ScaleUp":null,"ScaleDown":{"StabilizationWindowSeconds":120,"SelectPolicy":"Min","Policies":[{"Type":"Percent","Value":10,"PeriodSeconds":60}]}}`}
	out := mustV2(t, in)
	d := out.Spec.Behavior.ScaleDown
	if out.Spec.Behavior.ScaleUp != nil || *d.StabilizationWindowSeconds != 120 || *d.SelectPolicy != autoscalingv2.MinChangePolicySelect ||
		d.Policies[0] != (autoscalingv2.HPAScalingPolicy{Type: autoscalingv2.PercentScalingPolicy, Value: 10, PeriodSeconds: 60}) {
		t.Errorf("behavior = %+v", out.Spec.Behavior)
	}
	if out.Annotations != nil {
		t.Errorf("annotations = %v", out.Annotations)
	}
}
