package admission

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	// The policy comparison (which rules cover which) is kube's own,
	// shared through component-helpers.
	"k8s.io/component-helpers/auth/rbac/validation"

	"kapi/internal/authz"
	"kapi/internal/request"
)

// RBACEscalation keeps RBAC from being a way up: whoever writes a Role or
// ClusterRole must already hold every rule it grants, unless allowed the
// "escalate" verb on it; whoever writes a RoleBinding or
// ClusterRoleBinding must hold every rule of the role it refers to,
// unless allowed the "bind" verb on that role. Members of system:masters
// pass. kube-apiserver does this in its RBAC storage; the checks and the
// 403 messages are the same.
type RBACEscalation struct {
	// Authorizer is the server's authorizer (the union of
	// --authorization-mode): it decides "escalate" and "bind".
	Authorizer authz.Authorizer
	// Held lists the rules the writer holds (RBAC's rule resolver).
	Held authz.RuleResolver
	// Roles resolves the role a binding refers to.
	Roles RoleRefResolver
}

// RoleRefResolver returns the rules of the role a binding in namespace
// ("" for a ClusterRoleBinding) refers to; a missing role is NotFound.
type RoleRefResolver interface {
	RoleRefRules(ref rbacv1.RoleRef, namespace string) ([]rbacv1.PolicyRule, error)
}

// fullAuthority is cluster-admin: what setting an aggregationRule needs,
// since the rule can gather any permission.
var fullAuthority = []rbacv1.PolicyRule{
	{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}},
	{Verbs: []string{"*"}, NonResourceURLs: []string{"*"}},
}

// Validate checks creates and updates of the four RBAC kinds.
func (p RBACEscalation) Validate(ctx context.Context, a *Attributes) error {
	if (a.Operation != Create && a.Operation != Update) || a.Subresource != "" || a.Resource.Group != rbacv1.GroupName {
		return nil
	}
	user := request.UserFrom(ctx)
	// No user: a request from inside kapi, or a kapi without
	// authentication, where nothing could be escalated.
	if user == nil || user.InGroup(request.SystemPrivileged) {
		return nil
	}
	if a.Operation == Update && onlyGCFields(a.Object, a.OldObject) {
		return nil
	}
	gr := schema.GroupResource{Group: rbacv1.GroupName, Resource: a.Resource.Name}
	switch obj := a.Object.(type) {
	case *rbacv1.Role:
		if p.allowed(ctx, user, "escalate", a.Namespace, gr.Resource, a.Name) {
			return nil
		}
		return p.confirm(ctx, user, a.Namespace, gr, obj.Name, obj.Rules)
	case *rbacv1.ClusterRole:
		if p.allowed(ctx, user, "escalate", "", gr.Resource, a.Name) {
			return nil
		}
		if err := p.confirm(ctx, user, "", gr, obj.Name, obj.Rules); err != nil {
			return err
		}
		old, _ := a.OldObject.(*rbacv1.ClusterRole)
		if aggregates(obj) || aggregates(old) {
			if missing, _ := p.missing(ctx, user, "", fullAuthority); len(missing) > 0 {
				return apierrors.NewForbidden(gr, obj.Name, errors.New("must have cluster-admin privileges to use the aggregationRule"))
			}
		}
		return nil
	case *rbacv1.RoleBinding:
		return p.checkBinding(ctx, user, a.Namespace, gr, obj.Name, obj.RoleRef)
	case *rbacv1.ClusterRoleBinding:
		return p.checkBinding(ctx, user, "", gr, obj.Name, obj.RoleRef)
	}
	return nil
}

// checkBinding: allowed to bind the role (in the binding's namespace, or
// cluster-wide), or holding all its rules. A missing role is 404.
func (p RBACEscalation) checkBinding(ctx context.Context, user *request.User, namespace string, gr schema.GroupResource, name string, ref rbacv1.RoleRef) error {
	resource := map[string]string{"Role": "roles", "ClusterRole": "clusterroles"}[ref.Kind]
	if resource == "" {
		return apierrors.NewForbidden(gr, name, fmt.Errorf("unsupported role reference kind: %q", ref.Kind))
	}
	if p.allowed(ctx, user, "bind", namespace, resource, ref.Name) {
		return nil
	}
	rules, err := p.Roles.RoleRefRules(ref, namespace)
	if apierrors.IsNotFound(err) {
		return apierrors.NewNotFound(schema.GroupResource{Group: rbacv1.GroupName, Resource: resource}, ref.Name)
	}
	if err != nil {
		return err
	}
	return p.confirm(ctx, user, namespace, gr, name, rules)
}

// allowed asks the authorizer about verb ("escalate", "bind") on an RBAC
// resource, any version.
func (p RBACEscalation) allowed(ctx context.Context, user *request.User, verb, namespace, resource, name string) bool {
	if p.Authorizer == nil {
		return false
	}
	d, _, err := p.Authorizer.Authorize(ctx, authz.Attributes{User: user, Verb: verb, ResourceRequest: true,
		APIGroup: rbacv1.GroupName, APIVersion: "*", Resource: resource, Namespace: namespace, Name: name})
	return err == nil && d == authz.Allow
}

// confirm refuses rules the user does not hold in namespace, with
// kube-apiserver's message.
func (p RBACEscalation) confirm(ctx context.Context, user *request.User, namespace string, gr schema.GroupResource, name string, rules []rbacv1.PolicyRule) error {
	missing, resolutionErr := p.missing(ctx, user, namespace, rules)
	if len(missing) == 0 {
		return nil
	}
	return apierrors.NewForbidden(gr, name, errors.New(EscalationMessage(user, missing, resolutionErr)))
}

// missing returns the parts of rules the user does not hold, one verb,
// resource and name each, and any error resolving what they hold.
func (p RBACEscalation) missing(ctx context.Context, user *request.User, namespace string, rules []rbacv1.PolicyRule) ([]rbacv1.PolicyRule, error) {
	rr, nr, _, err := p.Held.RulesFor(ctx, user, namespace)
	owner := make([]rbacv1.PolicyRule, 0, len(rr)+len(nr))
	for _, r := range rr {
		owner = append(owner, rbacv1.PolicyRule{Verbs: r.Verbs, APIGroups: r.APIGroups, Resources: r.Resources, ResourceNames: r.ResourceNames})
	}
	for _, r := range nr {
		owner = append(owner, rbacv1.PolicyRule{Verbs: r.Verbs, NonResourceURLs: r.NonResourceURLs})
	}
	_, missing := validation.Covers(owner, rules)
	return missing, err
}

// EscalationMessage words a refused grant as kube-apiserver does: the
// missing rules, those of one group and resource merged, sorted, one a
// line:
//
//	user "bob" (groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held:
//	{APIGroups:[""], Resources:["pods"], Verbs:["delete" "get"]}
func EscalationMessage(user *request.User, missing []rbacv1.PolicyRule, resolutionErr error) string {
	seen := map[string]bool{}
	var lines []string
	for _, r := range compact(missing) {
		if s := compactString(r); !seen[s] {
			seen[s] = true
			lines = append(lines, s)
		}
	}
	sort.Strings(lines)
	msg := fmt.Sprintf("user %q (groups=%q) is attempting to grant RBAC permissions not currently held:\n%s",
		user.Name, user.Groups, strings.Join(lines, "\n"))
	if resolutionErr != nil {
		msg += fmt.Sprintf("; resolution errors: %v", []error{resolutionErr})
	}
	return msg
}

// compact merges the verbs of rules that name one group and one resource
// and nothing else, as the broken-down missing rules do.
func compact(rules []rbacv1.PolicyRule) []rbacv1.PolicyRule {
	var out []rbacv1.PolicyRule
	simple := map[schema.GroupResource]int{}
	for _, r := range rules {
		if len(r.ResourceNames) > 0 || len(r.NonResourceURLs) > 0 || len(r.APIGroups) != 1 || len(r.Resources) != 1 {
			out = append(out, r)
			continue
		}
		gr := schema.GroupResource{Group: r.APIGroups[0], Resource: r.Resources[0]}
		if i, ok := simple[gr]; ok {
			out[i].Verbs = append(out[i].Verbs, r.Verbs...)
			continue
		}
		simple[gr] = len(out)
		out = append(out, rbacv1.PolicyRule{APIGroups: r.APIGroups, Resources: r.Resources, Verbs: append([]string(nil), r.Verbs...)})
	}
	return out
}

// compactString is kube-apiserver's rule notation in these messages.
func compactString(r rbacv1.PolicyRule) string {
	var parts []string
	for _, f := range []struct {
		name string
		v    []string
	}{{"APIGroups", r.APIGroups}, {"Resources", r.Resources}, {"NonResourceURLs", r.NonResourceURLs},
		{"ResourceNames", r.ResourceNames}, {"Verbs", r.Verbs}} {
		if len(f.v) > 0 {
			parts = append(parts, fmt.Sprintf("%s:%q", f.name, f.v))
		}
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func aggregates(r *rbacv1.ClusterRole) bool {
	return r != nil && r.AggregationRule != nil && len(r.AggregationRule.ClusterRoleSelectors) > 0
}

// onlyGCFields reports whether an update changes nothing but owner
// references and finalizers, which the garbage collector must be able to
// write whatever the rules.
func onlyGCFields(obj, old runtime.Object) bool {
	if obj == nil || old == nil || reflect.ValueOf(old).IsNil() {
		return false
	}
	c := obj.DeepCopyObject()
	cm, err := meta.Accessor(c)
	if err != nil {
		return false
	}
	om, err := meta.Accessor(old)
	if err != nil {
		return false
	}
	cm.SetOwnerReferences(om.GetOwnerReferences())
	cm.SetFinalizers(om.GetFinalizers())
	cm.SetSelfLink(om.GetSelfLink())
	cm.SetManagedFields(om.GetManagedFields())
	return equality.Semantic.DeepEqual(c, old)
}
