package rbac

import (
	"context"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"kapi/internal/authz"
	"kapi/internal/request"
)

// static is a Source over fixed objects.
type static struct {
	roles           []*rbacv1.Role
	clusterRoles    []*rbacv1.ClusterRole
	bindings        []*rbacv1.RoleBinding
	clusterBindings []*rbacv1.ClusterRoleBinding
}

func (s *static) GetRole(ns, name string) (*rbacv1.Role, bool) {
	for _, r := range s.roles {
		if r.Namespace == ns && r.Name == name {
			return r, true
		}
	}
	return nil, false
}

func (s *static) GetClusterRole(name string) (*rbacv1.ClusterRole, bool) {
	for _, r := range s.clusterRoles {
		if r.Name == name {
			return r, true
		}
	}
	return nil, false
}

func (s *static) ListRoleBindings(ns string) []*rbacv1.RoleBinding {
	var out []*rbacv1.RoleBinding
	for _, b := range s.bindings {
		if b.Namespace == ns {
			out = append(out, b)
		}
	}
	return out
}

func (s *static) ListClusterRoleBindings() []*rbacv1.ClusterRoleBinding { return s.clusterBindings }

func rule(verbs, groups, resources []string, names ...string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{Verbs: verbs, APIGroups: groups, Resources: resources, ResourceNames: names}
}

func l(s ...string) []string { return s }

func om(ns, name string) metav1.ObjectMeta { return metav1.ObjectMeta{Namespace: ns, Name: name} }

func user(name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: name}
}

// fixture: a policy with one of every way to hold a rule.
func fixture() *static {
	return &static{
		clusterRoles: []*rbacv1.ClusterRole{
			{ObjectMeta: om("", "pod-reader"), Rules: []rbacv1.PolicyRule{rule(l("get", "list", "watch"), l(""), l("pods"))}},
			{ObjectMeta: om("", "anything"), Rules: []rbacv1.PolicyRule{rule(l("*"), l("*"), l("*")), {Verbs: l("*"), NonResourceURLs: l("*")}}},
			{ObjectMeta: om("", "scaler"), Rules: []rbacv1.PolicyRule{rule(l("get", "update"), l("*"), l("*/scale"))}},
			{ObjectMeta: om("", "healthz"), Rules: []rbacv1.PolicyRule{{Verbs: l("get"), NonResourceURLs: l("/healthz", "/logs/*")}}},
			{ObjectMeta: om("", "node-status"), Rules: []rbacv1.PolicyRule{rule(l("patch"), l(""), l("nodes/status"))}},
		},
		roles: []*rbacv1.Role{
			{ObjectMeta: om("dev", "cm-one"), Rules: []rbacv1.PolicyRule{rule(l("get", "update"), l(""), l("configmaps"), "one")}},
			{ObjectMeta: om("dev", "deployer"), Rules: []rbacv1.PolicyRule{rule(l("create", "delete"), l("apps"), l("deployments"))}},
		},
		bindings: []*rbacv1.RoleBinding{
			{ObjectMeta: om("dev", "alice-cm"), RoleRef: rbacv1.RoleRef{Kind: "Role", Name: "cm-one"}, Subjects: []rbacv1.Subject{user("alice")}},
			{ObjectMeta: om("dev", "devs-deploy"), RoleRef: rbacv1.RoleRef{Kind: "Role", Name: "deployer"},
				Subjects: []rbacv1.Subject{{Kind: rbacv1.GroupKind, Name: "devs"}}},
			// A RoleBinding may grant a ClusterRole's rules in its namespace.
			{ObjectMeta: om("dev", "alice-pods"), RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "pod-reader"}, Subjects: []rbacv1.Subject{user("alice")}},
			// A service account named without a namespace is the binding's.
			{ObjectMeta: om("dev", "bot-pods"), RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "pod-reader"},
				Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "bot"}}},
			{ObjectMeta: om("dev", "broken"), RoleRef: rbacv1.RoleRef{Kind: "Role", Name: "missing"}, Subjects: []rbacv1.Subject{user("carol")}},
		},
		clusterBindings: []*rbacv1.ClusterRoleBinding{
			{ObjectMeta: om("", "admins"), RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "anything"},
				Subjects: []rbacv1.Subject{{Kind: rbacv1.GroupKind, Name: "admins"}}},
			{ObjectMeta: om("", "scalers"), RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "scaler"},
				Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: "ops", Name: "hpa"}}},
			{ObjectMeta: om("", "health"), RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "healthz"},
				Subjects: []rbacv1.Subject{{Kind: rbacv1.GroupKind, Name: "system:authenticated"}}},
			{ObjectMeta: om("", "nodes"), RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "node-status"}, Subjects: []rbacv1.Subject{user("kubelet")}},
			// A ServiceAccount subject of a ClusterRoleBinding needs a namespace.
			{ObjectMeta: om("", "no-ns"), RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "anything"},
				Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "bot"}}},
		},
	}
}

func res(verb, group, resource, sub, ns, name string) authz.Attributes {
	return authz.Attributes{Verb: verb, ResourceRequest: true, APIGroup: group, APIVersion: "v1", Resource: resource, Subresource: sub, Namespace: ns, Name: name}
}

func path(verb, p string) authz.Attributes { return authz.Attributes{Verb: verb, Path: p} }

func TestAuthorize(t *testing.T) {
	alice := &request.User{Name: "alice", Groups: []string{"system:authenticated"}}
	dev := &request.User{Name: "dan", Groups: []string{"devs", "system:authenticated"}}
	admin := &request.User{Name: "root", Groups: []string{"admins"}}
	bot := &request.User{Name: "system:serviceaccount:dev:bot"}
	otherBot := &request.User{Name: "system:serviceaccount:prod:bot"}
	hpa := &request.User{Name: "system:serviceaccount:ops:hpa"}
	kubelet := &request.User{Name: "kubelet"}
	cases := []struct {
		name  string
		user  *request.User
		attrs authz.Attributes
		allow bool
	}{
		{"role by name: the named configmap", alice, res("get", "", "configmaps", "", "dev", "one"), true},
		{"role by name: another configmap", alice, res("get", "", "configmaps", "", "dev", "two"), false},
		{"role by name: list has no name", alice, res("list", "", "configmaps", "", "dev", ""), false},
		{"role: other namespace", alice, res("get", "", "configmaps", "", "prod", "one"), false},
		{"clusterrole in a rolebinding: its namespace", alice, res("list", "", "pods", "", "dev", ""), true},
		{"clusterrole in a rolebinding: not cluster-wide", alice, res("list", "", "pods", "", "", ""), false},
		{"clusterrole in a rolebinding: not another namespace", alice, res("list", "", "pods", "", "prod", ""), false},
		{"resource rule: not a subresource", alice, res("get", "", "pods", "log", "dev", "p"), false},
		{"group subject", dev, res("create", "apps", "deployments", "", "dev", ""), true},
		{"group subject: other verb", dev, res("update", "apps", "deployments", "", "dev", "d"), false},
		{"group subject: other API group", dev, res("create", "extensions", "deployments", "", "dev", ""), false},
		{"wildcards: any resource", admin, res("deletecollection", "apps", "replicasets", "", "x", ""), true},
		{"wildcards: any subresource", admin, res("create", "", "pods", "exec", "x", "p"), true},
		{"wildcards: any path", admin, path("get", "/metrics"), true},
		{"service account of the binding's namespace", bot, res("watch", "", "pods", "", "dev", ""), true},
		{"service account of another namespace", otherBot, res("watch", "", "pods", "", "dev", ""), false},
		{"service account subject without namespace in a ClusterRoleBinding", bot, res("get", "", "secrets", "", "dev", "s"), false},
		{"*/scale: any scale", hpa, res("update", "apps", "deployments", "scale", "x", "d"), true},
		{"*/scale: not the object", hpa, res("update", "apps", "deployments", "", "x", "d"), false},
		{"*/scale: not another subresource", hpa, res("update", "apps", "deployments", "status", "x", "d"), false},
		{"pods/status-like rule", kubelet, res("patch", "", "nodes", "status", "", "n1"), true},
		{"pods/status-like rule: not the object", kubelet, res("patch", "", "nodes", "", "", "n1"), false},
		{"non-resource: exact path", alice, path("get", "/healthz"), true},
		{"non-resource: not a longer path", alice, path("get", "/healthz/etcd"), false},
		{"non-resource: prefix", alice, path("get", "/logs/kube.log"), true},
		{"non-resource: prefix itself", alice, path("get", "/logs/"), true},
		{"non-resource: prefix without slash", alice, path("get", "/logs"), false},
		{"non-resource: other verb", alice, path("post", "/healthz"), false},
		{"non-resource rule does not allow resources", alice, res("get", "", "healthz", "", "", ""), false},
		{"no user", nil, res("get", "", "pods", "", "dev", "p"), false},
	}
	az := New(fixture())
	for _, c := range cases {
		a := c.attrs
		a.User = c.user
		d, reason, err := az.Authorize(context.Background(), a)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		if (d == authz.Allow) != c.allow {
			t.Errorf("%s: allowed %v, want %v (%s)", c.name, d == authz.Allow, c.allow, reason)
		}
		if d == authz.Deny {
			t.Errorf("%s: RBAC never denies", c.name)
		}
	}
}

func TestReasons(t *testing.T) {
	az := New(fixture())
	ctx := context.Background()
	cases := []struct {
		user   *request.User
		attrs  authz.Attributes
		reason string
	}{
		{&request.User{Name: "root", Groups: []string{"admins"}}, res("get", "", "pods", "", "", ""),
			`RBAC: allowed by ClusterRoleBinding "admins" of ClusterRole "anything" to Group "admins"`},
		{&request.User{Name: "alice"}, res("get", "", "pods", "", "dev", "p"),
			`RBAC: allowed by RoleBinding "alice-pods/dev" of ClusterRole "pod-reader" to User "alice"`},
		{&request.User{Name: "system:serviceaccount:dev:bot"}, res("get", "", "pods", "", "dev", "p"),
			`RBAC: allowed by RoleBinding "bot-pods/dev" of ClusterRole "pod-reader" to ServiceAccount "bot/dev"`},
		{&request.User{Name: "system:serviceaccount:ops:hpa"}, res("get", "apps", "deployments", "scale", "x", "d"),
			`RBAC: allowed by ClusterRoleBinding "scalers" of ClusterRole "scaler" to ServiceAccount "hpa/ops"`},
		// A binding to a missing role is explained.
		{&request.User{Name: "carol"}, res("get", "", "pods", "", "dev", "p"), `RBAC: role.rbac.authorization.k8s.io "missing" not found`},
		// Holding nothing is no reason at all.
		{&request.User{Name: "nobody"}, res("get", "", "pods", "", "dev", "p"), ``},
	}
	for _, c := range cases {
		a := c.attrs
		a.User = c.user
		_, reason, _ := az.Authorize(ctx, a)
		if reason != c.reason {
			t.Errorf("%s %v: reason %q, want %q", c.user.Name, c.attrs, reason, c.reason)
		}
	}
}

func TestRulesFor(t *testing.T) {
	az := New(fixture())
	ctx := context.Background()
	alice := &request.User{Name: "alice", Groups: []string{"system:authenticated"}}
	rr, nr, incomplete, err := az.RulesFor(ctx, alice, "dev")
	if err != nil || incomplete {
		t.Fatalf("RulesFor: incomplete %v, %v", incomplete, err)
	}
	// Cluster-wide first (the /healthz rule), then the namespace's.
	if len(nr) != 1 || strings.Join(nr[0].NonResourceURLs, ",") != "/healthz,/logs/*" {
		t.Errorf("non-resource rules: %+v", nr)
	}
	if len(rr) != 2 || rr[0].ResourceNames[0] != "one" || rr[1].Resources[0] != "pods" {
		t.Errorf("resource rules: %+v", rr)
	}
	// Cluster-wide only for "".
	rr, _, _, _ = az.RulesFor(ctx, alice, "")
	if len(rr) != 0 {
		t.Errorf("cluster-wide resource rules: %+v", rr)
	}
	// What cannot be resolved is an error, the rest still listed.
	carol := &request.User{Name: "carol", Groups: []string{"system:authenticated"}}
	_, nr, _, err = az.RulesFor(ctx, carol, "dev")
	if err == nil || len(nr) != 1 {
		t.Errorf("unresolved binding: %v, %+v", err, nr)
	}
}
