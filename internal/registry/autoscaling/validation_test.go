package autoscaling

import (
	"strings"
	"testing"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func errPaths(errs field.ErrorList) string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Field+": "+e.Type.String())
	}
	return strings.Join(out, "; ")
}

func TestHPAValidation(t *testing.T) {
	ref := autoscalingv2.CrossVersionObjectReference{Kind: "Deployment", Name: "web", APIVersion: "apps/v1"}
	i32 := func(v int32) *int32 { return &v }
	v2 := func(mut func(*autoscalingv2.HorizontalPodAutoscalerSpec)) runtime.Object {
		h := &autoscalingv2.HorizontalPodAutoscaler{Spec: autoscalingv2.HorizontalPodAutoscalerSpec{ScaleTargetRef: ref, MaxReplicas: 5}}
		if mut != nil {
			mut(&h.Spec)
		}
		return h
	}
	cases := []struct {
		name string
		obj  runtime.Object
		want string
	}{
		{"v2 valid", v2(nil), ""},
		{"min 0", v2(func(s *autoscalingv2.HorizontalPodAutoscalerSpec) { s.MinReplicas = i32(0) }), "spec.minReplicas: Invalid value"},
		{"max below min", v2(func(s *autoscalingv2.HorizontalPodAutoscalerSpec) { s.MinReplicas = i32(6) }), "spec.maxReplicas: Invalid value"},
		{"no target name", v2(func(s *autoscalingv2.HorizontalPodAutoscalerSpec) { s.ScaleTargetRef.Name = "" }), "spec.scaleTargetRef.name: Required value"},
		{"metric without source", v2(func(s *autoscalingv2.HorizontalPodAutoscalerSpec) {
			s.Metrics = []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType}}
		}), "spec.metrics[0].resource: Required value"},
		{"metric without target", v2(func(s *autoscalingv2.HorizontalPodAutoscalerSpec) {
			s.Metrics = []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType,
				Resource: &autoscalingv2.ResourceMetricSource{Name: "cpu", Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType}}}}
		}), "spec.metrics[0].resource.target.averageUtilization: Required value"},
		{"v1 valid", &autoscalingv1.HorizontalPodAutoscaler{Spec: autoscalingv1.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv1.CrossVersionObjectReference{Kind: "Deployment", Name: "web"}, MaxReplicas: 3}}, ""},
		{"v1 max 0", &autoscalingv1.HorizontalPodAutoscaler{Spec: autoscalingv1.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv1.CrossVersionObjectReference{Kind: "Deployment", Name: "web"}}}, "spec.maxReplicas: Invalid value; spec.maxReplicas: Invalid value"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hpaHooks.PrepareForCreate(c.obj)
			if got := errPaths(hpaHooks.Validate(c.obj, nil)); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
	h := v2(nil).(*autoscalingv2.HorizontalPodAutoscaler)
	hpaHooks.PrepareForCreate(h)
	if *h.Spec.MinReplicas != 1 || len(h.Spec.Metrics) != 1 || *h.Spec.Metrics[0].Resource.Target.AverageUtilization != 80 {
		t.Errorf("defaults: %+v", h.Spec)
	}
}
