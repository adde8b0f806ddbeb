package coordination

import (
	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/registry"
)

// leaseHooks validate a Lease's spec as kube-apiserver's ValidateLeaseSpec:
// a positive duration, transitions not negative, a preferred holder only
// with a strategy.
var leaseHooks = &registry.Hooks{
	Validate: func(obj, _ runtime.Object) field.ErrorList {
		s := &obj.(*coordinationv1.Lease).Spec
		spec := field.NewPath("spec")
		var errs field.ErrorList
		if d := s.LeaseDurationSeconds; d != nil && *d <= 0 {
			errs = append(errs, field.Invalid(spec.Child("leaseDurationSeconds"), *d, "must be greater than 0"))
		}
		if n := s.LeaseTransitions; n != nil && *n < 0 {
			errs = append(errs, field.Invalid(spec.Child("leaseTransitions"), *n, "must be greater than or equal to 0"))
		}
		if p := s.PreferredHolder; p != nil && *p != "" && (s.Strategy == nil || *s.Strategy == "") {
			errs = append(errs, field.Forbidden(spec.Child("preferredHolder"), "may only be specified if `strategy` is defined"))
		}
		return errs
	},
}
