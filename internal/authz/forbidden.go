package authz

import (
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// sanitizer escapes what a browser would read as markup: the message
// repeats the path and names the client sent, as kube-apiserver's does.
var sanitizer = strings.NewReplacer(`&`, "&amp;", `<`, "&lt;", `>`, "&gt;")

// ForbiddenMessage words a denial as kube-apiserver does, with the
// authorizer's reason after a colon when there is one:
//
//	User "bob" cannot list resource "pods" in API group "" in the namespace "dev"
//	User "bob" cannot get resource "nodes/status" in API group "" at the cluster scope
//	User "bob" cannot get path "/metrics": RBAC: clusterrole.rbac.authorization.k8s.io "x" not found
//
// Forbidden wraps it in the Status that a client sees.
func ForbiddenMessage(a Attributes, reason string) string {
	msg := sanitizer.Replace(denial(a))
	if reason == "" {
		return msg
	}
	return msg + ": " + reason
}

func denial(a Attributes) string {
	user := ""
	if a.User != nil {
		user = a.User.Name
	}
	if !a.ResourceRequest {
		return fmt.Sprintf("User %q cannot %s path %q", user, a.Verb, a.Path)
	}
	resource := a.Resource
	if a.Subresource != "" {
		resource += "/" + a.Subresource
	}
	if a.Namespace != "" {
		return fmt.Sprintf("User %q cannot %s resource %q in API group %q in the namespace %q", user, a.Verb, resource, a.APIGroup, a.Namespace)
	}
	return fmt.Sprintf("User %q cannot %s resource %q in API group %q at the cluster scope", user, a.Verb, resource, a.APIGroup)
}

// Forbidden is the 403 a denied request gets: `pods "p1" is forbidden:
// User ...`, `forbidden: User ... cannot get path ...` for non-resource
// requests (apierrors.NewForbidden words the prefix).
func Forbidden(a Attributes, reason string) *apierrors.StatusError {
	gr := schema.GroupResource{Group: a.APIGroup, Resource: a.Resource}
	return apierrors.NewForbidden(gr, a.Name, fmt.Errorf("%s", ForbiddenMessage(a, reason)))
}
