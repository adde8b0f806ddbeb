package autoscaling

import (
	"testing"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/runtime"

	"kapi/internal/registry/fieldtest"
)

var bogusSelect = autoscalingv2.ScalingPolicySelect("Sometimes")

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
		{"behavior policy", v2(func(s *autoscalingv2.HorizontalPodAutoscalerSpec) {
			s.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: &autoscalingv2.HPAScalingRules{
				StabilizationWindowSeconds: i32(3601), SelectPolicy: &bogusSelect,
				Policies: []autoscalingv2.HPAScalingPolicy{{Type: "Nodes", Value: 0, PeriodSeconds: 1801}}}}
		}), "spec.behavior.scaleUp.stabilizationWindowSeconds: Invalid value; spec.behavior.scaleUp.selectPolicy: Unsupported value; " +
			"spec.behavior.scaleUp.policies[0].type: Unsupported value; spec.behavior.scaleUp.policies[0].value: Invalid value; " +
			"spec.behavior.scaleUp.policies[0].periodSeconds: Invalid value"},
		{"behavior without policies", v2(func(s *autoscalingv2.HorizontalPodAutoscalerSpec) {
			s.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: &autoscalingv2.HPAScalingRules{
				StabilizationWindowSeconds: i32(-1), Policies: []autoscalingv2.HPAScalingPolicy{}}}
		}), "spec.behavior.scaleDown.stabilizationWindowSeconds: Invalid value; spec.behavior.scaleDown.policies: Required value"},
		{"v1 valid", &autoscalingv1.HorizontalPodAutoscaler{Spec: autoscalingv1.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv1.CrossVersionObjectReference{Kind: "Deployment", Name: "web"}, MaxReplicas: 3}}, ""},
		{"v1 max 0", &autoscalingv1.HorizontalPodAutoscaler{Spec: autoscalingv1.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv1.CrossVersionObjectReference{Kind: "Deployment", Name: "web"}}}, "spec.maxReplicas: Invalid value; spec.maxReplicas: Invalid value"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hpaHooks.PrepareCreate(c.obj)
			if got := fieldtest.Paths(hpaHooks.Validate(c.obj, nil)); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
	h := v2(nil).(*autoscalingv2.HorizontalPodAutoscaler)
	hpaHooks.PrepareCreate(h)
	if *h.Spec.MinReplicas != 1 || len(h.Spec.Metrics) != 1 || *h.Spec.Metrics[0].Resource.Target.AverageUtilization != 80 {
		t.Errorf("defaults: %+v", h.Spec)
	}
}

// A behavior that is given gets kube-apiserver's rules for what it leaves
// out; what it gives is kept. No behavior stays none.
func TestHPABehaviorDefaults(t *testing.T) {
	ref := autoscalingv2.CrossVersionObjectReference{Kind: "Deployment", Name: "web"}
	none := &autoscalingv2.HorizontalPodAutoscaler{Spec: autoscalingv2.HorizontalPodAutoscalerSpec{ScaleTargetRef: ref, MaxReplicas: 5}}
	hpaHooks.PrepareCreate(none)
	if none.Spec.Behavior != nil {
		t.Errorf("no behavior became %+v", none.Spec.Behavior)
	}
	window := int32(60)
	minPolicy := autoscalingv2.MinChangePolicySelect
	h := &autoscalingv2.HorizontalPodAutoscaler{Spec: autoscalingv2.HorizontalPodAutoscalerSpec{ScaleTargetRef: ref, MaxReplicas: 5,
		Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: &window, SelectPolicy: &minPolicy}}}}
	hpaHooks.PrepareCreate(h)
	up, down := h.Spec.Behavior.ScaleUp, h.Spec.Behavior.ScaleDown
	if up == nil || *up.StabilizationWindowSeconds != 0 || *up.SelectPolicy != autoscalingv2.MaxChangePolicySelect || len(up.Policies) != 2 ||
		up.Policies[0] != (autoscalingv2.HPAScalingPolicy{Type: autoscalingv2.PodsScalingPolicy, Value: 4, PeriodSeconds: 15}) ||
		up.Policies[1] != (autoscalingv2.HPAScalingPolicy{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 15}) {
		t.Errorf("scaleUp defaults: %+v", up)
	}
	if *down.StabilizationWindowSeconds != 60 || *down.SelectPolicy != autoscalingv2.MinChangePolicySelect || len(down.Policies) != 1 ||
		down.Policies[0] != (autoscalingv2.HPAScalingPolicy{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 15}) {
		t.Errorf("scaleDown with defaults: %+v", down)
	}
	if errs := hpaHooks.Validate(h, nil); len(errs) != 0 {
		t.Errorf("defaulted behavior invalid: %v", errs)
	}
}
