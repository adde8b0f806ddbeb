package networking

import (
	"slices"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/validate/content"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"kapi/internal/registry"
	"kapi/internal/registry/core"
)

// ingressClassHooks default an IngressClass as kube's
// SetDefaults_IngressClass (parameters are cluster-scoped unless they say
// otherwise) and validate it as kube-apiserver's ValidateIngressClass and
// its update: the controller is a domain-prefixed path of at most 250
// characters and never changes; the parameters as
// validateIngressClassParametersReference.
var ingressClassHooks = &registry.Hooks{
	Default: func(obj runtime.Object) { defaultIngressClass(obj.(*networkingv1.IngressClass)) },
	Validate: func(obj, old runtime.Object) field.ErrorList {
		s := &obj.(*networkingv1.IngressClass).Spec
		path := field.NewPath("spec", "controller")
		var errs field.ErrorList
		if was, ok := old.(*networkingv1.IngressClass); ok && was.Spec.Controller != s.Controller {
			errs = append(errs, field.Invalid(path, s.Controller, apimachineryvalidation.FieldImmutableErrorMsg))
		}
		if len(s.Controller) > 250 {
			errs = append(errs, field.TooLong(path, "", 250))
		}
		errs = append(errs, validation.IsDomainPrefixedPath(path, s.Controller)...)
		return append(errs, validateIngressClassParameters(s.Parameters, field.NewPath("spec", "parameters"))...)
	},
}

func defaultIngressClass(ic *networkingv1.IngressClass) {
	if p := ic.Spec.Parameters; p != nil && p.Scope == nil {
		p.Scope = ptr.To(networkingv1.IngressClassParametersReferenceScopeCluster)
	}
}

var ingressClassScopes = []string{networkingv1.IngressClassParametersReferenceScopeCluster, networkingv1.IngressClassParametersReferenceScopeNamespace}

// validateIngressClassParameters is kube's
// validateIngressClassParametersReference: an apiGroup that is a DNS
// subdomain, a kind and a name that are path segments, and a scope,
// Cluster without a namespace or Namespace with one.
func validateIngressClassParameters(p *networkingv1.IngressClassParametersReference, path *field.Path) field.ErrorList {
	if p == nil {
		return nil
	}
	var errs field.ErrorList
	if p.APIGroup != nil {
		for _, msg := range validation.IsDNS1123Subdomain(*p.APIGroup) {
			errs = append(errs, field.Invalid(path.Child("apiGroup"), *p.APIGroup, msg))
		}
	}
	for _, f := range []struct{ name, value string }{{"kind", p.Kind}, {"name", p.Name}} {
		if f.value == "" {
			errs = append(errs, field.Required(path.Child(f.name), ""))
			continue
		}
		for _, msg := range content.IsPathSegmentName(f.value) {
			errs = append(errs, field.Invalid(path.Child(f.name), f.value, msg))
		}
	}
	switch scope := ptr.Deref(p.Scope, ""); {
	case p.Scope == nil:
		errs = append(errs, field.Required(path.Child("scope"), ""))
	case !slices.Contains(ingressClassScopes, scope):
		errs = append(errs, field.NotSupported(path.Child("scope"), scope, ingressClassScopes))
	case scope == networkingv1.IngressClassParametersReferenceScopeNamespace && p.Namespace == nil:
		errs = append(errs, field.Required(path.Child("namespace"), "`parameters.scope` is set to 'Namespace'"))
	case scope == networkingv1.IngressClassParametersReferenceScopeNamespace:
		for _, msg := range apimachineryvalidation.ValidateNamespaceName(*p.Namespace, false) {
			errs = append(errs, field.Invalid(path.Child("namespace"), *p.Namespace, msg))
		}
	case p.Namespace != nil:
		errs = append(errs, field.Forbidden(path.Child("namespace"), "`parameters.scope` is set to 'Cluster'"))
	}
	return errs
}

// serviceCIDRHooks validate a ServiceCIDR as kube-apiserver's
// ValidateServiceCIDR and its update: one or two valid CIDRs, two of
// different families; they never change, except that a single-stack
// range may gain the other family's.
var serviceCIDRHooks = &registry.Hooks{
	Validate: func(obj, old runtime.Object) field.ErrorList {
		sc := obj.(*networkingv1.ServiceCIDR)
		path := field.NewPath("spec", "cidrs")
		cidrs := sc.Spec.CIDRs
		switch {
		case len(cidrs) == 0:
			return field.ErrorList{field.Required(path, "at least one CIDR required")}
		case len(cidrs) > 2:
			return field.ErrorList{field.Invalid(path, sc.Spec, "may only hold up to 2 values")}
		}
		var errs field.ErrorList
		for i, c := range cidrs {
			errs = append(errs, validation.IsValidCIDR(path.Index(i), c)...)
		}
		if len(errs) > 0 {
			return errs
		}
		if len(cidrs) == 2 && core.SameIPFamily(cidrs[0], cidrs[1]) {
			return field.ErrorList{field.Invalid(path, sc.Spec, "may specify no more than one IP for each IP family, i.e 192.168.0.0/24 and 2001:db8::/64")}
		}
		was, ok := old.(*networkingv1.ServiceCIDR)
		if !ok {
			return nil
		}
		switch before := was.Spec.CIDRs; {
		case len(before) == len(cidrs):
			for i := range before {
				if before[i] != cidrs[i] {
					errs = append(errs, field.Invalid(path.Index(i), cidrs[i], apimachineryvalidation.FieldImmutableErrorMsg))
				}
			}
		case len(before) == 1 && len(cidrs) == 2:
			if before[0] != cidrs[0] {
				errs = append(errs, field.Invalid(path.Index(0), cidrs[0], apimachineryvalidation.FieldImmutableErrorMsg))
			}
		default:
			errs = append(errs, field.Invalid(path, cidrs, apimachineryvalidation.FieldImmutableErrorMsg))
		}
		return errs
	},
}
