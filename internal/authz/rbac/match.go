package rbac

import (
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"

	"kapi/internal/authz"
)

// RuleAllows reports whether one rule allows the request. A resource
// request matches on verb, API group, resource ("pods", "pods/status", or
// "*/status" for that subresource of anything) and, when the rule lists
// them, the object's name; a non-resource request on verb and path, where
// a path ending in "*" is a prefix ("/apis/*").
func RuleAllows(a authz.Attributes, rule *rbacv1.PolicyRule) bool {
	if !has(rule.Verbs, a.Verb) {
		return false
	}
	if !a.ResourceRequest {
		return urlMatches(rule.NonResourceURLs, a.Path)
	}
	resource := a.Resource
	if a.Subresource != "" {
		resource += "/" + a.Subresource
	}
	return has(rule.APIGroups, a.APIGroup) &&
		resourceMatches(rule.Resources, resource, a.Subresource) &&
		(len(rule.ResourceNames) == 0 || contains(rule.ResourceNames, a.Name))
}

// has reports whether list holds want or the wildcard "*".
func has(list []string, want string) bool {
	for _, s := range list {
		if s == "*" || s == want {
			return true
		}
	}
	return false
}

func contains(list []string, want string) bool {
	for _, s := range list {
		if s == want {
			return true
		}
	}
	return false
}

// resourceMatches: "*" matches everything, including subresources; a
// subresource also matches "*/<subresource>".
func resourceMatches(rules []string, resource, subresource string) bool {
	for _, r := range rules {
		if r == "*" || r == resource {
			return true
		}
		if subresource != "" && r == "*/"+subresource {
			return true
		}
	}
	return false
}

// urlMatches: "*" matches every path, "/a/*" every path below "/a/"
// (and "/a/" itself), anything else only itself.
func urlMatches(rules []string, path string) bool {
	for _, r := range rules {
		if r == "*" || r == path {
			return true
		}
		if strings.HasSuffix(r, "*") && strings.HasPrefix(path, strings.TrimRight(r, "*")) {
			return true
		}
	}
	return false
}
