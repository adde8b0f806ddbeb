package registry

import (
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/validation/path"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// NameRule validates an object name and returns the reasons it is bad.
type NameRule func(name string, prefix bool) []string

// Name rules kube-apiserver applies; a resource row picks one.
var (
	// DNSSubdomain: lower-case alphanumerics, '-' and '.', at most 253.
	DNSSubdomain NameRule = func(name string, prefix bool) []string {
		if prefix {
			name = maskTrailingDash(name)
		}
		return validation.IsDNS1123Subdomain(name)
	}
	// DNSLabel: lower-case alphanumerics and '-', at most 63 (namespaces,
	// services).
	DNSLabel NameRule = func(name string, prefix bool) []string {
		if prefix {
			name = maskTrailingDash(name)
		}
		return validation.IsDNS1123Label(name)
	}
	// PathSegment: anything that is a valid path segment (RBAC objects,
	// events).
	PathSegment NameRule = path.ValidatePathSegmentName
)

// maskTrailingDash lets a generateName prefix end in '-'.
func maskTrailingDash(name string) string {
	if len(name) > 1 && strings.HasSuffix(name, "-") {
		return name[:len(name)-2] + "a"
	}
	return name
}

// standardFinalizers are kube's own finalizers, the only ones without a
// domain.
var standardFinalizers = []string{"kubernetes", metav1.FinalizerOrphanDependents, metav1.FinalizerDeleteDependents}

// QualifiedFinalizer tells whether a finalizer name has a domain (a '/')
// or is one of kube's own: the names a built-in object may have, and a
// custom resource has without a warning.
func QualifiedFinalizer(name string) bool {
	return strings.Contains(name, "/") || slices.Contains(standardFinalizers, name)
}

// finalizerErrors checks the finalizers of an object of the row (new or
// updated) beyond what every object's metadata must be: unless the row
// takes any finalizer, one without a '/' must be one of kube's own.
func (r *Resource) finalizerErrors(m metav1.Object, path *field.Path) field.ErrorList {
	if r.AnyFinalizers {
		return nil
	}
	var errs field.ErrorList
	for i, f := range m.GetFinalizers() {
		if !QualifiedFinalizer(f) {
			errs = append(errs, field.Invalid(path.Child("finalizers").Index(i), f, "name is neither a standard finalizer name nor is it fully qualified"))
		}
	}
	return errs
}

// nameRule returns the resource's name rule.
func (r *Resource) nameRule() NameRule {
	if r.Names != nil {
		return r.Names
	}
	return DNSSubdomain
}
