package networking

import (
	networkingv1 "k8s.io/api/networking/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/registry"
	"kapi/internal/registry/core"
)

// ingressClassHooks validate an IngressClass as kube-apiserver's
// ValidateIngressClass and its update: the controller is a
// domain-prefixed path of at most 250 characters and never changes.
var ingressClassHooks = &registry.Hooks{
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
		return append(errs, validation.IsDomainPrefixedPath(path, s.Controller)...)
	},
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
