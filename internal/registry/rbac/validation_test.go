package rbac

import (
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"kapi/internal/registry"

	"kapi/internal/registry/fieldtest"
)

func TestRBACValidation(t *testing.T) {
	ref := rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "r"}
	cref := rbacv1.RoleRef{Kind: "ClusterRole", Name: "r"}
	cases := []struct {
		name string
		hook *registry.Hooks
		obj  runtime.Object
		want string
	}{
		{"role valid", roleHooks, &rbacv1.Role{Rules: []rbacv1.PolicyRule{{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"pods"}}}}, ""},
		{"role no verbs", roleHooks, &rbacv1.Role{Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}}}}, "rules[0].verbs: Required value"},
		{"role no groups", roleHooks, &rbacv1.Role{Rules: []rbacv1.PolicyRule{{Verbs: []string{"get"}, Resources: []string{"pods"}}}}, "rules[0].apiGroups: Required value"},
		{"role urls", roleHooks, &rbacv1.Role{Rules: []rbacv1.PolicyRule{{Verbs: []string{"get"}, NonResourceURLs: []string{"/healthz"}}}}, "rules[0].nonResourceURLs: Invalid value"},
		{"cluster role urls", clusterRoleHooks, &rbacv1.ClusterRole{Rules: []rbacv1.PolicyRule{{Verbs: []string{"get"}, NonResourceURLs: []string{"/healthz"}}}}, ""},
		{"aggregation", clusterRoleHooks, &rbacv1.ClusterRole{AggregationRule: &rbacv1.AggregationRule{}}, "aggregationRule.clusterRoleSelectors: Required value"},
		{"binding valid", roleBindingHooks, &rbacv1.RoleBinding{RoleRef: ref, Subjects: []rbacv1.Subject{{Kind: "User", Name: "alice"},
			{Kind: "ServiceAccount", Name: "default"}}}, ""},
		{"binding bad kind", roleBindingHooks, &rbacv1.RoleBinding{RoleRef: ref, Subjects: []rbacv1.Subject{{Kind: "Robot", Name: "r2"}}}, "subjects[0].kind: Unsupported value"},
		{"binding no name", roleBindingHooks, &rbacv1.RoleBinding{RoleRef: ref, Subjects: []rbacv1.Subject{{Kind: "User"}}}, "subjects[0].name: Required value"},
		{"binding ref kind", roleBindingHooks, &rbacv1.RoleBinding{RoleRef: rbacv1.RoleRef{Kind: "Pod", Name: "x"}}, "roleRef.kind: Unsupported value"},
		{"cluster binding to role", clusterRoleBindingHooks, &rbacv1.ClusterRoleBinding{RoleRef: ref}, "roleRef.kind: Unsupported value"},
		{"cluster binding sa without namespace", clusterRoleBindingHooks, &rbacv1.ClusterRoleBinding{RoleRef: cref,
			Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "default"}}}, "subjects[0].namespace: Required value"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.hook.PrepareCreate(c.obj)
			if got := fieldtest.Paths(c.hook.Validate(c.obj, nil)); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
	old := &rbacv1.RoleBinding{RoleRef: ref}
	b := &rbacv1.RoleBinding{RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "other"}}
	errs := roleBindingHooks.Validate(b, old)
	if fieldtest.Paths(errs) != "roleRef: Invalid value" || !strings.Contains(errs[0].Error(), "field is immutable") {
		t.Errorf("roleRef change: %v", errs)
	}
}
