package registry

import (
	"strings"

	"k8s.io/apimachinery/pkg/api/validation/path"
	"k8s.io/apimachinery/pkg/util/validation"
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

// nameRule returns the resource's name rule.
func (r *Resource) nameRule() NameRule {
	if r.Names != nil {
		return r.Names
	}
	return DNSSubdomain
}
