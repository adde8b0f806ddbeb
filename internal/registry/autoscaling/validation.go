package autoscaling

import (
	"fmt"
	"slices"
	"strings"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/validation/path"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/registry"
)

// hpaHooks default and validate a HorizontalPodAutoscaler of either served
// version. kube-apiserver validates its internal (v2-shaped) form, so a v1
// object is checked in its v2 conversion and errors carry v2 paths, as
// kube's do.
var hpaHooks = &registry.Hooks{
	Default: defaultHPA,
	Validate: func(obj, _ runtime.Object) field.ErrorList {
		switch h := obj.(type) {
		case *autoscalingv2.HorizontalPodAutoscaler:
			return validateHPASpec(&h.Spec, field.NewPath("spec"))
		case *autoscalingv1.HorizontalPodAutoscaler:
			v2, err := V1ToV2(h)
			if err != nil {
				return field.ErrorList{field.InternalError(field.NewPath("spec"), err)}
			}
			return validateHPASpec(&v2.Spec, field.NewPath("spec"))
		}
		return nil
	},
}

// defaultHPA: minReplicas 1 in both versions; a v2 object without metrics
// targets 80% cpu utilization (v1's implicit target is its conversion's).
func defaultHPA(obj runtime.Object) {
	one := int32(1)
	switch h := obj.(type) {
	case *autoscalingv2.HorizontalPodAutoscaler:
		if h.Spec.MinReplicas == nil {
			h.Spec.MinReplicas = &one
		}
		if len(h.Spec.Metrics) == 0 {
			h.Spec.Metrics = []autoscalingv2.MetricSpec{cpuUtilization(defaultCPUUtilization)}
		}
		if b := h.Spec.Behavior; b != nil {
			b.ScaleUp = withDefaults(b.ScaleUp, defaultScaleUp())
			b.ScaleDown = withDefaults(b.ScaleDown, defaultScaleDown())
		}
	case *autoscalingv1.HorizontalPodAutoscaler:
		if h.Spec.MinReplicas == nil {
			h.Spec.MinReplicas = &one
		}
	}
}

// The scaling rules a behavior that is given but leaves a direction out
// gets, as kube-apiserver's autoscaling/v2 defaults: up by at most 4 pods
// or 100% per 15 seconds, whichever is more, without a stabilization
// window; down by at most 100% per 15 seconds, with the controller's own
// window (nil here).
func defaultScaleUp() *autoscalingv2.HPAScalingRules {
	zero, max := int32(0), autoscalingv2.MaxChangePolicySelect
	return &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: &zero, SelectPolicy: &max,
		Policies: []autoscalingv2.HPAScalingPolicy{
			{Type: autoscalingv2.PodsScalingPolicy, Value: 4, PeriodSeconds: 15},
			{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 15},
		}}
}

func defaultScaleDown() *autoscalingv2.HPAScalingRules {
	max := autoscalingv2.MaxChangePolicySelect
	return &autoscalingv2.HPAScalingRules{SelectPolicy: &max,
		Policies: []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 15}}}
}

// withDefaults is given with def's values where given leaves them nil;
// a policy list that is given, even empty, is kept (validation refuses
// an empty one).
func withDefaults(given, def *autoscalingv2.HPAScalingRules) *autoscalingv2.HPAScalingRules {
	if given == nil {
		return def
	}
	if given.SelectPolicy != nil {
		def.SelectPolicy = given.SelectPolicy
	}
	if given.StabilizationWindowSeconds != nil {
		def.StabilizationWindowSeconds = given.StabilizationWindowSeconds
	}
	if given.Policies != nil {
		def.Policies = given.Policies
	}
	if given.Tolerance != nil {
		def.Tolerance = given.Tolerance
	}
	return def
}

// Limits of kube-apiserver's behavior validation.
const (
	maxPeriodSeconds              = 1800
	maxStabilizationWindowSeconds = 3600
)

var (
	selectPolicies = []string{string(autoscalingv2.DisabledPolicySelect), string(autoscalingv2.MaxChangePolicySelect), string(autoscalingv2.MinChangePolicySelect)}
	policyTypes    = []string{string(autoscalingv2.PercentScalingPolicy), string(autoscalingv2.PodsScalingPolicy)}
)

func validateBehavior(b *autoscalingv2.HorizontalPodAutoscalerBehavior, p *field.Path) field.ErrorList {
	if b == nil {
		return nil
	}
	return append(validateRules(b.ScaleUp, p.Child("scaleUp")), validateRules(b.ScaleDown, p.Child("scaleDown"))...)
}

func validateRules(r *autoscalingv2.HPAScalingRules, p *field.Path) field.ErrorList {
	if r == nil {
		return nil
	}
	var errs field.ErrorList
	if w := r.StabilizationWindowSeconds; w != nil && *w < 0 {
		errs = append(errs, field.Invalid(p.Child("stabilizationWindowSeconds"), *w, "must be greater than or equal to zero"))
	} else if w != nil && *w > maxStabilizationWindowSeconds {
		errs = append(errs, field.Invalid(p.Child("stabilizationWindowSeconds"), *w, fmt.Sprintf("must be less than or equal to %d", maxStabilizationWindowSeconds)))
	}
	if sp := r.SelectPolicy; sp != nil && !slices.Contains(selectPolicies, string(*sp)) {
		errs = append(errs, field.NotSupported(p.Child("selectPolicy"), *sp, selectPolicies))
	}
	policies := p.Child("policies")
	if len(r.Policies) == 0 {
		errs = append(errs, field.Required(policies, "must specify at least one Policy"))
	}
	for i, pol := range r.Policies {
		pp := policies.Index(i)
		if !slices.Contains(policyTypes, string(pol.Type)) {
			errs = append(errs, field.NotSupported(pp.Child("type"), pol.Type, policyTypes))
		}
		if pol.Value <= 0 {
			errs = append(errs, field.Invalid(pp.Child("value"), pol.Value, "must be greater than zero"))
		}
		if pol.PeriodSeconds <= 0 {
			errs = append(errs, field.Invalid(pp.Child("periodSeconds"), pol.PeriodSeconds, "must be greater than zero"))
		} else if pol.PeriodSeconds > maxPeriodSeconds {
			errs = append(errs, field.Invalid(pp.Child("periodSeconds"), pol.PeriodSeconds, fmt.Sprintf("must be less than or equal to %d", maxPeriodSeconds)))
		}
	}
	if t := r.Tolerance; t != nil && t.Sign() < 0 {
		errs = append(errs, field.Invalid(p.Child("tolerance"), t.String(), "must be greater than or equal to zero"))
	}
	return errs
}

func validateHPASpec(s *autoscalingv2.HorizontalPodAutoscalerSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if s.MinReplicas != nil && *s.MinReplicas < 1 {
		errs = append(errs, field.Invalid(p.Child("minReplicas"), *s.MinReplicas, "must be greater than or equal to 1"))
	}
	if s.MaxReplicas < 1 {
		errs = append(errs, field.Invalid(p.Child("maxReplicas"), s.MaxReplicas, "must be greater than 0"))
	}
	if s.MinReplicas != nil && s.MaxReplicas < *s.MinReplicas {
		errs = append(errs, field.Invalid(p.Child("maxReplicas"), s.MaxReplicas, "must be greater than or equal to `minReplicas`"))
	}
	ref := p.Child("scaleTargetRef")
	for name, v := range map[string]string{"kind": s.ScaleTargetRef.Kind, "name": s.ScaleTargetRef.Name} {
		if v == "" {
			errs = append(errs, field.Required(ref.Child(name), ""))
			continue
		}
		for _, msg := range path.IsValidPathSegmentName(v) {
			errs = append(errs, field.Invalid(ref.Child(name), v, msg))
		}
	}
	for i := range s.Metrics {
		errs = append(errs, validateMetric(&s.Metrics[i], p.Child("metrics").Index(i))...)
	}
	return append(errs, validateBehavior(s.Behavior, p.Child("behavior"))...)
}

var metricTypes = []string{string(autoscalingv2.ContainerResourceMetricSourceType), string(autoscalingv2.ExternalMetricSourceType),
	string(autoscalingv2.ObjectMetricSourceType), string(autoscalingv2.PodsMetricSourceType), string(autoscalingv2.ResourceMetricSourceType)}

// validateMetric: the type names exactly the one source given, and that
// source names its metric and a sensible target.
func validateMetric(m *autoscalingv2.MetricSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	present := map[autoscalingv2.MetricSourceType]bool{
		autoscalingv2.ObjectMetricSourceType: m.Object != nil, autoscalingv2.PodsMetricSourceType: m.Pods != nil,
		autoscalingv2.ResourceMetricSourceType: m.Resource != nil, autoscalingv2.ContainerResourceMetricSourceType: m.ContainerResource != nil,
		autoscalingv2.ExternalMetricSourceType: m.External != nil,
	}
	switch _, known := present[m.Type]; {
	case m.Type == "":
		errs = append(errs, field.Required(p.Child("type"), "must specify a metric source type"))
	case !known:
		errs = append(errs, field.NotSupported(p.Child("type"), m.Type, metricTypes))
	}
	for t, ok := range present {
		if ok && t != m.Type {
			errs = append(errs, field.Forbidden(p.Child(sourceField(t)), "must populate the given metric source only"))
		}
	}
	if _, known := present[m.Type]; known && !present[m.Type] {
		errs = append(errs, field.Required(p.Child(sourceField(m.Type)), "must populate information for the given metric source"))
	}
	switch {
	case m.Type == autoscalingv2.ResourceMetricSourceType && m.Resource != nil:
		errs = append(errs, validateResourceMetric(m.Resource.Name, m.Resource.Target, p.Child("resource"))...)
	case m.Type == autoscalingv2.ContainerResourceMetricSourceType && m.ContainerResource != nil:
		if m.ContainerResource.Container == "" {
			errs = append(errs, field.Required(p.Child("containerResource", "container"), "must specify a container"))
		}
		errs = append(errs, validateResourceMetric(m.ContainerResource.Name, m.ContainerResource.Target, p.Child("containerResource"))...)
	case m.Type == autoscalingv2.PodsMetricSourceType && m.Pods != nil:
		errs = append(errs, validateNamedMetric(m.Pods.Metric, m.Pods.Target, p.Child("pods"))...)
		if m.Pods.Target.AverageValue == nil {
			errs = append(errs, field.Required(p.Child("pods", "target", "averageValue"), "must specify a positive target averageValue"))
		}
	case m.Type == autoscalingv2.ObjectMetricSourceType && m.Object != nil:
		errs = append(errs, validateNamedMetric(m.Object.Metric, m.Object.Target, p.Child("object"))...)
		errs = append(errs, valueOrAverage(m.Object.Target, p.Child("object", "target"))...)
	case m.Type == autoscalingv2.ExternalMetricSourceType && m.External != nil:
		errs = append(errs, validateNamedMetric(m.External.Metric, m.External.Target, p.Child("external"))...)
		errs = append(errs, valueOrAverage(m.External.Target, p.Child("external", "target"))...)
	}
	return errs
}

func sourceField(t autoscalingv2.MetricSourceType) string {
	s := string(t)
	return strings.ToLower(s[:1]) + s[1:]
}

func validateResourceMetric(name corev1.ResourceName, t autoscalingv2.MetricTarget, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if name == "" {
		errs = append(errs, field.Required(p.Child("name"), "must specify a resource name"))
	}
	errs = append(errs, validateTarget(t, p.Child("target"))...)
	switch {
	case t.AverageUtilization == nil && t.AverageValue == nil:
		errs = append(errs, field.Required(p.Child("target", "averageUtilization"), "must set either a target raw value or a target utilization"))
	case t.AverageUtilization != nil && t.AverageValue != nil:
		errs = append(errs, field.Forbidden(p.Child("target", "averageValue"), "may not set both a target raw value and a target utilization"))
	}
	return errs
}

func validateNamedMetric(id autoscalingv2.MetricIdentifier, t autoscalingv2.MetricTarget, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if id.Name == "" {
		errs = append(errs, field.Required(p.Child("metric", "name"), "must specify a metric name"))
	}
	return append(errs, validateTarget(t, p.Child("target"))...)
}

func valueOrAverage(t autoscalingv2.MetricTarget, p *field.Path) field.ErrorList {
	if t.Value == nil && t.AverageValue == nil {
		return field.ErrorList{field.Required(p.Child("value"), "must set either a target value or averageValue")}
	}
	return nil
}

func validateTarget(t autoscalingv2.MetricTarget, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch t.Type {
	case "":
		errs = append(errs, field.Required(p.Child("type"), "must specify a metric target type"))
	case autoscalingv2.UtilizationMetricType, autoscalingv2.ValueMetricType, autoscalingv2.AverageValueMetricType:
	default:
		errs = append(errs, field.Invalid(p.Child("type"), t.Type, "must be either Utilization, Value, or AverageValue"))
	}
	if t.Value != nil && t.Value.Sign() != 1 {
		errs = append(errs, field.Invalid(p.Child("value"), t.Value, "must be positive"))
	}
	if t.AverageValue != nil && t.AverageValue.Sign() != 1 {
		errs = append(errs, field.Invalid(p.Child("averageValue"), t.AverageValue, "must be positive"))
	}
	if t.AverageUtilization != nil && *t.AverageUtilization < 1 {
		errs = append(errs, field.Invalid(p.Child("averageUtilization"), *t.AverageUtilization, "must be greater than 0"))
	}
	return errs
}
