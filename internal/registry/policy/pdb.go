package policy

import (
	policyv1 "k8s.io/api/policy/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/registry"
	"kapi/internal/registry/core"
)

// pdbHooks validate a PodDisruptionBudget as kube-apiserver does: either
// minAvailable or maxUnavailable (an integer or a percentage up to 100%),
// a valid selector and a known unhealthy-pod eviction policy.
var pdbHooks = &registry.Hooks{
	Validate: func(obj, _ runtime.Object) field.ErrorList {
		s := &obj.(*policyv1.PodDisruptionBudget).Spec
		spec := field.NewPath("spec")
		var errs field.ErrorList
		if s.MinAvailable != nil && s.MaxUnavailable != nil {
			errs = append(errs, field.Invalid(spec, s, "minAvailable and maxUnavailable cannot be both set"))
		}
		errs = append(errs, core.ValidateIntOrPercent(s.MinAvailable, spec.Child("minAvailable"))...)
		errs = append(errs, core.ValidateIntOrPercent(s.MaxUnavailable, spec.Child("maxUnavailable"))...)
		if s.Selector != nil {
			errs = append(errs, metav1validation.ValidateLabelSelector(s.Selector, metav1validation.LabelSelectorValidationOptions{}, spec.Child("selector"))...)
		}
		if p := s.UnhealthyPodEvictionPolicy; p != nil && *p != policyv1.IfHealthyBudget && *p != policyv1.AlwaysAllow {
			errs = append(errs, field.NotSupported(spec.Child("unhealthyPodEvictionPolicy"), *p,
				[]string{string(policyv1.IfHealthyBudget), string(policyv1.AlwaysAllow)}))
		}
		return errs
	},
}
