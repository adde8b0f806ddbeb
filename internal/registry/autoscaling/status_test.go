package autoscaling

import (
	"testing"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	"kapi/internal/registry"
	"kapi/internal/registry/fieldtest"
)

// hpaStatusOf is the status subresource of the row of version.
func hpaStatusOf(t *testing.T, version string) *registry.Subresource {
	t.Helper()
	for _, r := range Resources() {
		if s := r.Sub("status"); r.Version == version && s != nil && s.Validate != nil {
			return s
		}
	}
	t.Fatalf("autoscaling/%s horizontalpodautoscalers have no status subresource of their own", version)
	return nil
}

// controllerStatus is what kube's HPA controller writes of an autoscaler
// scaling a deployment from 2 to 3 replicas on cpu.
func controllerStatus(st *autoscalingv2.HorizontalPodAutoscalerStatus) {
	now := metav1.Unix(100, 0)
	*st = autoscalingv2.HorizontalPodAutoscalerStatus{
		ObservedGeneration: ptr.To[int64](1), LastScaleTime: &now, CurrentReplicas: 2, DesiredReplicas: 3,
		CurrentMetrics: []autoscalingv2.MetricStatus{{Type: autoscalingv2.ResourceMetricSourceType,
			Resource: &autoscalingv2.ResourceMetricStatus{Name: corev1.ResourceCPU,
				Current: autoscalingv2.MetricValueStatus{AverageUtilization: ptr.To[int32](95), AverageValue: ptr.To(resource.MustParse("950m"))}}}},
		Conditions: []autoscalingv2.HorizontalPodAutoscalerCondition{
			{Type: autoscalingv2.AbleToScale, Status: corev1.ConditionTrue, LastTransitionTime: now, Reason: "SucceededRescale",
				Message: "the HPA controller was able to update the target scale to 3", ObservedGeneration: ptr.To[int64](1)},
			{Type: autoscalingv2.ScalingActive, Status: corev1.ConditionTrue, LastTransitionTime: now, Reason: "ValidMetricFound"},
			{Type: autoscalingv2.ScalingLimited, Status: corev1.ConditionFalse, LastTransitionTime: now, Reason: "DesiredWithinRange"},
		},
	}
}

// TestHPAStatusUpdates: kube 1.37's ValidateHorizontalPodAutoscalerStatusUpdate,
// with its messages, for v2 writes through the status subresource.
func TestHPAStatusUpdates(t *testing.T) {
	cases := []struct {
		name  string
		write func(*autoscalingv2.HorizontalPodAutoscalerStatus)
		want  string
	}{
		{"HPA controller", controllerStatus, ""},
		{"scaled to zero", func(st *autoscalingv2.HorizontalPodAutoscalerStatus) { st.DesiredReplicas = 0 }, ""},
		{"negative replicas", func(st *autoscalingv2.HorizontalPodAutoscalerStatus) {
			controllerStatus(st)
			st.CurrentReplicas, st.DesiredReplicas = -1, -2
		}, "status.currentReplicas: Invalid value: -1: must be greater than or equal to 0\n" +
			"status.desiredReplicas: Invalid value: -2: must be greater than or equal to 0"},
		{"condition of negative generation", func(st *autoscalingv2.HorizontalPodAutoscalerStatus) {
			controllerStatus(st)
			st.Conditions[1].ObservedGeneration = ptr.To[int64](-1)
		}, "status.conditions[1].observedGeneration: Invalid value: -1: must be greater than or equal to 0"},
		// kube checks neither status.observedGeneration nor the conditions' other fields.
		{"what kube leaves alone", func(st *autoscalingv2.HorizontalPodAutoscalerStatus) {
			st.ObservedGeneration = ptr.To[int64](-1)
			st.Conditions = []autoscalingv2.HorizontalPodAutoscalerCondition{{Type: "made up"}}
		}, ""},
	}
	sub := hpaStatusOf(t, "v2")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			old := &autoscalingv2.HorizontalPodAutoscaler{}
			now := old.DeepCopy()
			c.write(&now.Status)
			if got := fieldtest.Lines(sub.Validate(now, old)); got != c.want {
				t.Errorf("got\n%s\nwant\n%s", got, c.want)
			}
		})
	}
}

// TestHPAStatusV1: a v1 write is checked in its v2 form, its conditions
// (which v1 carries in an annotation) at their v2 paths, as kube checks
// its internal object.
func TestHPAStatusV1(t *testing.T) {
	sub := hpaStatusOf(t, "v1")
	v1 := func(replicas int32, conditions string) runtime.Object {
		h := &autoscalingv1.HorizontalPodAutoscaler{Status: autoscalingv1.HorizontalPodAutoscalerStatus{
			CurrentReplicas: replicas, DesiredReplicas: replicas, CurrentCPUUtilizationPercentage: ptr.To[int32](40)}}
		if conditions != "" {
			h.Annotations = map[string]string{conditionsAnnotation: conditions}
		}
		return h
	}
	for _, c := range []struct {
		name string
		obj  runtime.Object
		want string
	}{
		{"HPA controller", v1(2, `[{"type":"AbleToScale","status":"True","lastTransitionTime":"2026-01-01T00:00:00Z","reason":"ReadyForNewScale","observedGeneration":1}]`), ""},
		{"negative replicas", v1(-1, ""), "status.currentReplicas: Invalid value: -1: must be greater than or equal to 0\n" +
			"status.desiredReplicas: Invalid value: -1: must be greater than or equal to 0"},
		{"condition of negative generation", v1(1, `[{"type":"AbleToScale","status":"True","observedGeneration":-3}]`),
			"status.conditions[0].observedGeneration: Invalid value: -3: must be greater than or equal to 0"},
	} {
		if got := fieldtest.Lines(sub.Validate(c.obj, &autoscalingv1.HorizontalPodAutoscaler{})); got != c.want {
			t.Errorf("%s: got\n%s\nwant\n%s", c.name, got, c.want)
		}
	}
}

// TestHPAStatusKeepsSpec: a status write checks the status only, so the
// controller can still write the status of an autoscaler whose stored
// spec would not pass today's spec validation.
func TestHPAStatusKeepsSpec(t *testing.T) {
	old := &autoscalingv2.HorizontalPodAutoscaler{Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MaxReplicas: 0}}
	now := old.DeepCopy()
	controllerStatus(&now.Status)
	if errs := hpaHooks.Validate(now, old); len(errs) == 0 {
		t.Fatal("the spec is meant to be invalid")
	}
	if errs := hpaStatusOf(t, "v2").Validate(now, old); len(errs) > 0 {
		t.Errorf("status write: %s", fieldtest.Lines(errs))
	}
}
