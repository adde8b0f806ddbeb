package bootstrap

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

// The files in testdata are kube-apiserver 1.37.2's own record of its
// bootstrap policy with the default feature gates (the golden files of
// k8s.io/kubernetes plugin/pkg/auth/authorizer/rbac/bootstrappolicy,
// Apache-2.0, copied as they are). kube-controller-manager 1.37 runs each
// controller as the service account these roles are made for, so a
// missing rule is a controller that cannot work beside kapi.

func readGolden[T any](t *testing.T, name string) []T {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var list struct{ Items []T }
	if err := yaml.Unmarshal(b, &list); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return list.Items
}

// atoms spells rules out one permission a line, so that two policies
// that grant the same in differently grouped rules compare equal.
func atoms(rules []rbacv1.PolicyRule) []string {
	var out []string
	or := func(s []string) []string {
		if len(s) == 0 {
			return []string{""}
		}
		return s
	}
	for _, r := range rules {
		for _, v := range r.Verbs {
			for _, u := range r.NonResourceURLs {
				out = append(out, fmt.Sprintf("url %s %s", u, v))
			}
			for _, g := range r.APIGroups {
				for _, res := range r.Resources {
					for _, n := range or(r.ResourceNames) {
						out = append(out, fmt.Sprintf("%s/%s %s %s", g, res, n, v))
					}
				}
			}
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}

func diffAtoms(t *testing.T, what string, got, want []rbacv1.PolicyRule) {
	t.Helper()
	g, w := atoms(got), atoms(want)
	var missing, extra []string
	for _, a := range w {
		if _, ok := slices.BinarySearch(g, a); !ok {
			missing = append(missing, a)
		}
	}
	for _, a := range g {
		if _, ok := slices.BinarySearch(w, a); !ok {
			extra = append(extra, a)
		}
	}
	if len(missing) > 0 || len(extra) > 0 {
		t.Errorf("%s: missing %v; beyond kube %v", what, missing, extra)
	}
}

// TestKubeGoldenClusterRoles: kapi's ClusterRoles grant what kube's do,
// name for name, with the same aggregation.
func TestKubeGoldenClusterRoles(t *testing.T) {
	ours := map[string]rbacv1.ClusterRole{}
	for _, r := range ClusterRoles() {
		ours[r.Name] = r
	}
	for _, file := range []string{"cluster-roles.yaml", "controller-roles.yaml"} {
		for _, want := range readGolden[rbacv1.ClusterRole](t, file) {
			got, ok := ours[want.Name]
			if !ok {
				t.Errorf("no ClusterRole %s", want.Name)
				continue
			}
			delete(ours, want.Name)
			diffAtoms(t, "ClusterRole "+want.Name, got.Rules, want.Rules)
			if !reflect.DeepEqual(got.AggregationRule, want.AggregationRule) || !reflect.DeepEqual(got.Labels, want.Labels) {
				t.Errorf("ClusterRole %s: aggregation %v labels %v, want %v %v", want.Name, got.AggregationRule, got.Labels, want.AggregationRule, want.Labels)
			}
		}
	}
	for name := range ours {
		t.Errorf("ClusterRole %s is not kube's", name)
	}
}

// TestKubeGoldenBindings: kapi binds kube's roles to kube's subjects.
func TestKubeGoldenBindings(t *testing.T) {
	ours := map[string]rbacv1.ClusterRoleBinding{}
	for _, b := range ClusterRoleBindings() {
		ours[b.Name] = b
	}
	for _, file := range []string{"cluster-role-bindings.yaml", "controller-role-bindings.yaml"} {
		for _, want := range readGolden[rbacv1.ClusterRoleBinding](t, file) {
			got, ok := ours[want.Name]
			if !ok {
				t.Errorf("no ClusterRoleBinding %s", want.Name)
				continue
			}
			delete(ours, want.Name)
			if !reflect.DeepEqual(got.RoleRef, want.RoleRef) || !reflect.DeepEqual(got.Subjects, want.Subjects) {
				t.Errorf("ClusterRoleBinding %s: %v %v, want %v %v", want.Name, got.RoleRef, got.Subjects, want.RoleRef, want.Subjects)
			}
		}
	}
	for name := range ours {
		t.Errorf("ClusterRoleBinding %s is not kube's", name)
	}
}

// TestKubeGoldenRoles: the namespaced Roles and RoleBindings are kube's.
func TestKubeGoldenRoles(t *testing.T) {
	roles := map[string]rbacv1.Role{}
	for _, r := range Roles() {
		roles[r.Namespace+"/"+r.Name] = r
	}
	for _, want := range readGolden[rbacv1.Role](t, "namespace-roles.yaml") {
		key := want.Namespace + "/" + want.Name
		got, ok := roles[key]
		if !ok {
			t.Errorf("no Role %s", key)
			continue
		}
		delete(roles, key)
		diffAtoms(t, "Role "+key, got.Rules, want.Rules)
	}
	for key := range roles {
		t.Errorf("Role %s is not kube's", key)
	}
	bindings := map[string]rbacv1.RoleBinding{}
	for _, b := range RoleBindings() {
		bindings[b.Namespace+"/"+b.Name] = b
	}
	for _, want := range readGolden[rbacv1.RoleBinding](t, "namespace-role-bindings.yaml") {
		key := want.Namespace + "/" + want.Name
		got, ok := bindings[key]
		if !ok {
			t.Errorf("no RoleBinding %s", key)
			continue
		}
		delete(bindings, key)
		if !reflect.DeepEqual(got.RoleRef, want.RoleRef) || !reflect.DeepEqual(got.Subjects, want.Subjects) {
			t.Errorf("RoleBinding %s: %v %v, want %v %v", key, got.RoleRef, got.Subjects, want.RoleRef, want.Subjects)
		}
	}
	for key := range bindings {
		t.Errorf("RoleBinding %s is not kube's", key)
	}
}
