package bootstrap

import (
	"sort"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
)

// TestBindingsNameRoles: every binding refers to a role of the policy, and
// every object is labelled and annotated as kube-apiserver's.
func TestBindingsNameRoles(t *testing.T) {
	roles := map[string]rbacv1.ClusterRole{}
	for _, r := range ClusterRoles() {
		if _, dup := roles[r.Name]; dup {
			t.Errorf("ClusterRole %s twice", r.Name)
		}
		roles[r.Name] = r
		checkMeta(t, r.Name, r.Labels, r.Annotations)
	}
	for _, b := range ClusterRoleBindings() {
		if _, ok := roles[b.RoleRef.Name]; !ok || b.RoleRef.Kind != "ClusterRole" {
			t.Errorf("ClusterRoleBinding %s refers to %s %s", b.Name, b.RoleRef.Kind, b.RoleRef.Name)
		}
		checkMeta(t, b.Name, b.Labels, b.Annotations)
	}
	local := map[string]bool{}
	for _, r := range Roles() {
		local[r.Namespace+"/"+r.Name] = true
		checkMeta(t, r.Name, r.Labels, r.Annotations)
	}
	for _, b := range RoleBindings() {
		if !local[b.Namespace+"/"+b.RoleRef.Name] {
			t.Errorf("RoleBinding %s/%s refers to a missing Role %s", b.Namespace, b.Name, b.RoleRef.Name)
		}
	}
	for _, want := range []string{"cluster-admin", "admin", "edit", "view", "system:aggregate-to-admin", "system:aggregate-to-edit",
		"system:aggregate-to-view", "system:discovery", "system:basic-user", "system:public-info-viewer", "system:monitoring",
		"system:service-account-issuer-discovery", "system:node", "system:kube-scheduler", "system:kube-controller-manager",
		"system:controller:namespace-controller", "system:controller:clusterrole-aggregation-controller"} {
		if _, ok := roles[want]; !ok {
			t.Errorf("no ClusterRole %s", want)
		}
	}
}

func checkMeta(t *testing.T, name string, labels, annotations map[string]string) {
	t.Helper()
	if labels[BootstrapLabel] != BootstrapValue || annotations[rbacv1.AutoUpdateAnnotationKey] != "true" {
		t.Errorf("%s: labels %v annotations %v", name, labels, annotations)
	}
}

// TestAggregation: admin gathers edit, which gathers view, by their labels.
func TestAggregation(t *testing.T) {
	roles := map[string]rbacv1.ClusterRole{}
	for _, r := range ClusterRoles() {
		roles[r.Name] = r
	}
	for role, parts := range map[string][]string{
		"admin": {"edit", "system:aggregate-to-admin"},
		"edit":  {"system:aggregate-to-edit", "view"},
		"view":  {"system:aggregate-to-view"},
	} {
		sel := roles[role].AggregationRule.ClusterRoleSelectors[0].MatchLabels
		var got []string
		for name, r := range roles {
			match := true
			for k, v := range sel {
				match = match && r.Labels[k] == v
			}
			if match {
				got = append(got, name)
			}
		}
		sort.Strings(got)
		if strings.Join(got, ",") != strings.Join(parts, ",") {
			t.Errorf("%s aggregates %v, want %v", role, got, parts)
		}
	}
}

// TestRulesSorted: rules read as kube-apiserver stores them, and never
// share their lists.
func TestRulesSorted(t *testing.T) {
	a, b := ClusterRoles(), ClusterRoles()
	a[0].Rules[0].Verbs[0] = "changed"
	if b[0].Rules[0].Verbs[0] == "changed" {
		t.Fatal("two calls share rules")
	}
	for _, r := range b {
		for _, p := range r.Rules {
			for _, list := range [][]string{p.Verbs, p.APIGroups, p.Resources, p.ResourceNames, p.NonResourceURLs} {
				if !sort.StringsAreSorted(list) {
					t.Errorf("%s: %v is not sorted", r.Name, list)
				}
			}
		}
	}
}
