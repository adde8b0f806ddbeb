package policy

import (
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/registry"
	"kapi/internal/registry/core"
)

// pdbHooks are kube-apiserver's PodDisruptionBudget strategy: a written
// selector loses the match expression policy/v1beta1 used to tell its
// empty selector apart (dropDisabledFields), and the spec is checked as
// kube's ValidatePodDisruptionBudget checks it: either minAvailable or
// maxUnavailable (an integer or a percentage up to 100%), a valid
// selector and a known unhealthy-pod eviction policy. On update a stored
// selector that fails today's rules lets the new one keep invalid label
// values (kube's hasInvalidLabelValueInLabelSelector).
var pdbHooks = &registry.Hooks{
	PrepareForCreate: func(obj runtime.Object) { dropV1beta1Selector(obj.(*policyv1.PodDisruptionBudget), nil) },
	PrepareForUpdate: func(obj, old runtime.Object) {
		dropV1beta1Selector(obj.(*policyv1.PodDisruptionBudget), old.(*policyv1.PodDisruptionBudget))
	},
	Validate: func(obj, old runtime.Object) field.ErrorList {
		var opts metav1validation.LabelSelectorValidationOptions
		if was, ok := old.(*policyv1.PodDisruptionBudget); ok && was != nil && was.Spec.Selector != nil {
			opts.AllowInvalidLabelValueInSelector = len(metav1validation.ValidateLabelSelector(was.Spec.Selector,
				metav1validation.LabelSelectorValidationOptions{}, nil)) > 0
		}
		return validatePDBSpec(&obj.(*policyv1.PodDisruptionBudget).Spec, opts, field.NewPath("spec"))
	},
}

// unhealthyPodEvictionPolicies are kube's supported policies, sorted as
// kube lists them.
var unhealthyPodEvictionPolicies = []string{string(policyv1.AlwaysAllow), string(policyv1.IfHealthyBudget)}

// internalPDBSpec is kube's internal policy.PodDisruptionBudgetSpec, the
// value of the error for both bounds set: kube shows it as JSON, with Go's
// field names and nil pointers.
type internalPDBSpec struct {
	MinAvailable               *intstr.IntOrString
	Selector                   *metav1.LabelSelector
	MaxUnavailable             *intstr.IntOrString
	UnhealthyPodEvictionPolicy *policyv1.UnhealthyPodEvictionPolicyType
}

// validatePDBSpec is kube's ValidatePodDisruptionBudgetSpec.
func validatePDBSpec(s *policyv1.PodDisruptionBudgetSpec, opts metav1validation.LabelSelectorValidationOptions, spec *field.Path) field.ErrorList {
	var errs field.ErrorList
	if s.MinAvailable != nil && s.MaxUnavailable != nil {
		errs = append(errs, field.Invalid(spec, internalPDBSpec(*s), "minAvailable and maxUnavailable cannot be both set"))
	}
	errs = append(errs, core.ValidateIntOrPercent(s.MinAvailable, spec.Child("minAvailable"))...)
	errs = append(errs, core.ValidateIntOrPercent(s.MaxUnavailable, spec.Child("maxUnavailable"))...)
	errs = append(errs, metav1validation.ValidateLabelSelector(s.Selector, opts, spec.Child("selector"))...)
	if p := s.UnhealthyPodEvictionPolicy; p != nil && *p != policyv1.IfHealthyBudget && *p != policyv1.AlwaysAllow {
		errs = append(errs, field.NotSupported(spec.Child("unhealthyPodEvictionPolicy"), *p, unhealthyPodEvictionPolicies))
	}
	return errs
}

// v1beta1SelectorLabel is kube's policy.PDBV1beta1Label, which kube's
// conversion of policy/v1beta1 adds to tell an empty selector (matching
// nothing there, everything in v1) apart.
const v1beta1SelectorLabel = "pdb.kubernetes.io/deprecated-v1beta1-empty-selector-match"

// matchNoneSelector is kube's policy.NonV1beta1MatchNoneSelector.
var matchNoneSelector = &metav1.LabelSelector{
	MatchExpressions: []metav1.LabelSelectorRequirement{{Key: v1beta1SelectorLabel, Operator: metav1.LabelSelectorOpExists}},
}

// dropV1beta1Selector is kube's dropDisabledFields: a selector written
// (a new one, or one changed by an update) loses its expressions on
// v1beta1SelectorLabel, unless it is exactly kube's match-none or
// match-all selector.
func dropV1beta1Selector(pdb, old *policyv1.PodDisruptionBudget) {
	sel := pdb.Spec.Selector
	switch {
	case old != nil && equality.Semantic.DeepEqual(old.Spec.Selector, sel):
	case sel == nil:
	case equality.Semantic.DeepEqual(sel, matchNoneSelector), equality.Semantic.DeepEqual(sel, &metav1.LabelSelector{}):
	default:
		kept := sel.MatchExpressions[:0]
		for _, e := range sel.MatchExpressions {
			if e.Key != v1beta1SelectorLabel {
				kept = append(kept, e)
			}
		}
		sel.MatchExpressions = kept
	}
}
