package networking

import (
	"slices"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/validate/content"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/registry"
)

// ipAddressName is kube's ValidateIPAddressName: an IPAddress is named by
// its address, strictly parsed and in canonical form ("2001:db8::1", not
// "2001:0db8::1"). A generateName prefix is held to the same rule.
func ipAddressName(name string, prefix bool) []string {
	var msgs []string
	for _, e := range validation.IsValidIP(&field.Path{}, name) {
		msgs = append(msgs, e.Detail)
	}
	return msgs
}

// ipAddressHooks validate an IPAddress as kube's ValidateIPAddress and
// ValidateIPAddressUpdate, as kube-apiserver 1.37 answers them with its
// declarative validation (beta, on by default) in force: a parent
// reference is required, its resource and name too, each a valid path
// segment, its group a DNS subdomain; it never changes. Its strategy
// resets nothing.
var ipAddressHooks = &registry.Hooks{
	Validate: validateIPAddress,
}

func validateIPAddress(obj, old runtime.Object) field.ErrorList {
	ref := obj.(*networkingv1.IPAddress).Spec.ParentRef
	path := field.NewPath("spec", "parentRef")
	changed := false
	if old != nil {
		changed = !equality.Semantic.DeepEqual(ref, old.(*networkingv1.IPAddress).Spec.ParentRef)
	}
	var errs field.ErrorList
	if ref == nil {
		errs = field.ErrorList{field.Required(path, "")}
	} else {
		errs = validateParentReference(ref, path)
		if old == nil {
			// The declarative "required" errors of resource and name take
			// the place of the handwritten ones, after the others.
			slices.SortStableFunc(errs, func(a, b *field.Error) int {
				return boolOrder(a.Type == field.ErrorTypeRequired) - boolOrder(b.Type == field.ErrorTypeRequired)
			})
		}
	}
	if changed {
		// The declarative error, which names no value.
		errs = append(errs, field.Invalid(path, nil, "field is immutable"))
	}
	return errs
}

// validateParentReference is kube's validateIPAddressParentReference of
// a reference that is set.
func validateParentReference(ref *networkingv1.ParentReference, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	// (the core group, the Services', is "")
	if ref.Group != "" {
		for _, msg := range validation.IsDNS1123Subdomain(ref.Group) {
			errs = append(errs, field.Invalid(path.Child("group"), ref.Group, msg))
		}
	}
	for _, f := range []struct {
		name, value string
		required    bool
	}{{"resource", ref.Resource, true}, {"name", ref.Name, true}, {"namespace", ref.Namespace, false}} {
		if f.value == "" {
			if f.required {
				errs = append(errs, field.Required(path.Child(f.name), ""))
			}
			continue
		}
		for _, msg := range content.IsPathSegmentName(f.value) {
			errs = append(errs, field.Invalid(path.Child(f.name), f.value, msg))
		}
	}
	return errs
}

func boolOrder(b bool) int {
	if b {
		return 1
	}
	return 0
}
