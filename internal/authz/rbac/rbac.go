// Package rbac is the RBAC authorizer: Roles, ClusterRoles, RoleBindings
// and ClusterRoleBindings decide, with kube-apiserver's semantics, what a
// user may do. It reads them through Source, which kapi implements with an
// in-memory cache that watches the stores; the package itself knows
// nothing of storage.
package rbac

import (
	"context"
	"fmt"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"

	"kapi/internal/authz"
	"kapi/internal/request"
)

// Source is where the authorizer reads roles and bindings. Its objects
// are shared: the authorizer never changes them.
type Source interface {
	GetRole(namespace, name string) (*rbacv1.Role, bool)
	GetClusterRole(name string) (*rbacv1.ClusterRole, bool)
	ListRoleBindings(namespace string) []*rbacv1.RoleBinding
	ListClusterRoleBindings() []*rbacv1.ClusterRoleBinding
}

// Authorizer is RBAC as an authz.Authorizer and an authz.RuleResolver.
type Authorizer struct {
	src Source
}

// New returns the RBAC authorizer over src.
func New(src Source) *Authorizer { return &Authorizer{src: src} }

// Authorize allows a request that a rule of a binding of the user allows;
// otherwise it has no opinion (RBAC never denies), and its reason lists
// what it could not resolve, such as a binding to a missing role:
// `RBAC: role.rbac.authorization.k8s.io "x" not found`.
func (r *Authorizer) Authorize(_ context.Context, a authz.Attributes) (authz.Decision, string, error) {
	var (
		allowedBy string
		errs      []error
	)
	r.visit(a.User, a.Namespace, func(source fmt.Stringer, rule *rbacv1.PolicyRule, err error) bool {
		if rule != nil && RuleAllows(a, rule) {
			allowedBy = source.String()
			return false
		}
		if err != nil {
			errs = append(errs, err)
		}
		return true
	})
	if allowedBy != "" {
		return authz.Allow, "RBAC: allowed by " + allowedBy, nil
	}
	if len(errs) > 0 {
		return authz.NoOpinion, fmt.Sprintf("RBAC: %v", utilerrors.NewAggregate(errs)), nil
	}
	return authz.NoOpinion, "", nil
}

// RulesFor lists the rules the user holds in namespace (cluster-wide ones
// only for ""), split as a SelfSubjectRulesReview shows them. RBAC always
// knows every rule, so the answer is never incomplete; err lists the
// bindings it could not resolve.
func (r *Authorizer) RulesFor(_ context.Context, user *request.User, namespace string) ([]authz.ResourceRule, []authz.NonResourceRule, bool, error) {
	rules, err := r.PolicyRules(user, namespace)
	var resource []authz.ResourceRule
	var nonResource []authz.NonResourceRule
	for _, p := range rules {
		if len(p.Resources) > 0 {
			resource = append(resource, authz.ResourceRule{Verbs: p.Verbs, APIGroups: p.APIGroups, Resources: p.Resources, ResourceNames: p.ResourceNames})
		}
		if len(p.NonResourceURLs) > 0 {
			nonResource = append(nonResource, authz.NonResourceRule{Verbs: p.Verbs, NonResourceURLs: p.NonResourceURLs})
		}
	}
	return resource, nonResource, false, err
}

// PolicyRules lists every rule the user holds in namespace, as the
// escalation check compares them.
func (r *Authorizer) PolicyRules(user *request.User, namespace string) ([]rbacv1.PolicyRule, error) {
	var rules []rbacv1.PolicyRule
	var errs []error
	r.visit(user, namespace, func(_ fmt.Stringer, rule *rbacv1.PolicyRule, err error) bool {
		if rule != nil {
			rules = append(rules, *rule)
		}
		if err != nil {
			errs = append(errs, err)
		}
		return true
	})
	return rules, utilerrors.NewAggregate(errs)
}

// RoleRefRules returns the rules of the role a binding in namespace ("" for
// a ClusterRoleBinding) refers to. A missing role is a NotFound error
// worded as kube-apiserver's listers word it
// (`clusterrole.rbac.authorization.k8s.io "x" not found`).
func (r *Authorizer) RoleRefRules(ref rbacv1.RoleRef, namespace string) ([]rbacv1.PolicyRule, error) {
	switch ref.Kind {
	case "Role":
		role, ok := r.src.GetRole(namespace, ref.Name)
		if !ok {
			return nil, apierrors.NewNotFound(schema.GroupResource{Group: rbacv1.GroupName, Resource: "role"}, ref.Name)
		}
		return role.Rules, nil
	case "ClusterRole":
		role, ok := r.src.GetClusterRole(ref.Name)
		if !ok {
			return nil, apierrors.NewNotFound(schema.GroupResource{Group: rbacv1.GroupName, Resource: "clusterrole"}, ref.Name)
		}
		return role.Rules, nil
	}
	return nil, fmt.Errorf("unsupported role reference kind: %q", ref.Kind)
}
