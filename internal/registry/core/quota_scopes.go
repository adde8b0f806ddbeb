package core

import (
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// validateQuotaScopes is kube's validateResourceQuotaScopes and
// validateScopeSelector: known scopes, each fit for every standard
// resource the quota limits (BestEffort pods count only as pods), no
// conflicting pair (BestEffort and NotBestEffort, Terminating and
// NotTerminating), and selector requirements whose operator fits the
// scope and whose values fit the operator.
func validateQuotaScopes(spec *corev1.ResourceQuotaSpec) field.ErrorList {
	var errs field.ErrorList
	hard := slices.Sorted(maps.Keys(spec.Hard))
	// kube adds the same error for each resource a scope does not fit.
	misfits := func(scope corev1.ResourceQuotaScope) int {
		n := 0
		for _, r := range hard {
			if standardQuotaResource(r) && !scopeFitsResource(scope, r) {
				n++
			}
		}
		return n
	}
	if len(spec.Scopes) > 0 {
		p := field.NewPath("spec", "scopes")
		seen := sets.New[corev1.ResourceQuotaScope]()
		for _, s := range spec.Scopes {
			if !standardQuotaScopes.Has(s) {
				errs = append(errs, field.Invalid(p, spec.Scopes, "unsupported scope"))
			}
			for range misfits(s) {
				errs = append(errs, field.Invalid(p, spec.Scopes, "unsupported scope applied to resource"))
			}
			seen.Insert(s)
		}
		errs = append(errs, conflictingScopes(seen, p, spec.Scopes)...)
	}
	if spec.ScopeSelector == nil {
		return errs
	}
	p := field.NewPath("spec", "scopeSelector", "matchExpressions")
	seen := sets.New[corev1.ResourceQuotaScope]()
	for _, req := range spec.ScopeSelector.MatchExpressions {
		if !standardQuotaScopes.Has(req.ScopeName) {
			errs = append(errs, field.Invalid(p.Child("scopeName"), req.ScopeName, "unsupported scope"))
		}
		for range misfits(req.ScopeName) {
			errs = append(errs, field.Invalid(p, spec.ScopeSelector, "unsupported scope applied to resource"))
		}
		switch req.ScopeName {
		case corev1.ResourceQuotaScopeBestEffort, corev1.ResourceQuotaScopeNotBestEffort, corev1.ResourceQuotaScopeTerminating,
			corev1.ResourceQuotaScopeNotTerminating, corev1.ResourceQuotaScopeCrossNamespacePodAffinity:
			if req.Operator != corev1.ScopeSelectorOpExists {
				errs = append(errs, field.Invalid(p.Child("operator"), req.Operator,
					"must be 'Exists' when scope is any of ResourceQuotaScopeTerminating, ResourceQuotaScopeNotTerminating, ResourceQuotaScopeBestEffort, ResourceQuotaScopeNotBestEffort or ResourceQuotaScopeCrossNamespacePodAffinity"))
			}
		}
		switch req.Operator {
		case corev1.ScopeSelectorOpIn, corev1.ScopeSelectorOpNotIn:
			if len(req.Values) == 0 {
				errs = append(errs, field.Required(p.Child("values"), "must be at least one value when `operator` is 'In' or 'NotIn' for scope selector"))
			}
		case corev1.ScopeSelectorOpExists, corev1.ScopeSelectorOpDoesNotExist:
			if len(req.Values) != 0 {
				errs = append(errs, field.Invalid(p.Child("values"), req.Values, "must be no value when `operator` is 'Exist' or 'DoesNotExist' for scope selector"))
			}
		default:
			errs = append(errs, field.Invalid(p.Child("operator"), req.Operator, "not a valid selector operator"))
		}
		seen.Insert(req.ScopeName)
	}
	// kube names the scopes list here too.
	return append(errs, conflictingScopes(seen, p, spec.Scopes)...)
}

func conflictingScopes(seen sets.Set[corev1.ResourceQuotaScope], p *field.Path, value []corev1.ResourceQuotaScope) field.ErrorList {
	var errs field.ErrorList
	for _, pair := range [][2]corev1.ResourceQuotaScope{
		{corev1.ResourceQuotaScopeBestEffort, corev1.ResourceQuotaScopeNotBestEffort},
		{corev1.ResourceQuotaScopeTerminating, corev1.ResourceQuotaScopeNotTerminating},
	} {
		if seen.HasAll(pair[0], pair[1]) {
			errs = append(errs, field.Invalid(p, value, "conflicting scopes"))
		}
	}
	return errs
}

// standardQuotaScopes are kube's IsStandardResourceQuotaScope.
var standardQuotaScopes = sets.New(corev1.ResourceQuotaScopeTerminating, corev1.ResourceQuotaScopeNotTerminating,
	corev1.ResourceQuotaScopeBestEffort, corev1.ResourceQuotaScopeNotBestEffort, corev1.ResourceQuotaScopePriorityClass,
	corev1.ResourceQuotaScopeVolumeAttributesClass, corev1.ResourceQuotaScopeCrossNamespacePodAffinity)

// standardQuotaResource is kube's IsStandardQuotaResourceName.
func standardQuotaResource(r corev1.ResourceName) bool {
	switch r {
	case corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage, corev1.ResourceRequestsCPU,
		corev1.ResourceRequestsMemory, corev1.ResourceRequestsStorage, corev1.ResourceRequestsEphemeralStorage,
		corev1.ResourceLimitsCPU, corev1.ResourceLimitsMemory, corev1.ResourceLimitsEphemeralStorage, corev1.ResourcePods,
		corev1.ResourceQuotas, corev1.ResourceServices, corev1.ResourceReplicationControllers, corev1.ResourceSecrets,
		corev1.ResourcePersistentVolumeClaims, corev1.ResourceConfigMaps, corev1.ResourceServicesNodePorts,
		corev1.ResourceServicesLoadBalancers:
		return true
	}
	return strings.HasPrefix(string(r), corev1.ResourceHugePagesPrefix) || strings.HasPrefix(string(r), corev1.ResourceRequestsHugePagesPrefix)
}

// scopeFitsResource is kube's IsResourceQuotaScopeValidForResource: pod
// scopes limit pods and their compute resources (BestEffort pods only
// their count), the volume attributes class scope claims and their
// storage.
func scopeFitsResource(scope corev1.ResourceQuotaScope, r corev1.ResourceName) bool {
	pods := r == corev1.ResourcePods
	compute := false
	switch r {
	case corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceLimitsCPU, corev1.ResourceLimitsMemory,
		corev1.ResourceRequestsCPU, corev1.ResourceRequestsMemory:
		compute = true
	}
	switch scope {
	case corev1.ResourceQuotaScopeTerminating, corev1.ResourceQuotaScopeNotTerminating, corev1.ResourceQuotaScopeNotBestEffort,
		corev1.ResourceQuotaScopePriorityClass, corev1.ResourceQuotaScopeCrossNamespacePodAffinity:
		return pods || compute
	case corev1.ResourceQuotaScopeBestEffort:
		return pods
	case corev1.ResourceQuotaScopeVolumeAttributesClass:
		return r == corev1.ResourcePersistentVolumeClaims || r == corev1.ResourceRequestsStorage
	}
	return true
}
