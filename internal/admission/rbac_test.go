package admission

import (
	"context"
	"net/http"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"kapi/internal/authz"
	"kapi/internal/authz/rbac"
	"kapi/internal/registry"
	rbacrows "kapi/internal/registry/rbac"
	"kapi/internal/request"
)

// policy is an rbac.Source over fixed objects.
type policy struct {
	roles    map[string]*rbacv1.ClusterRole
	bindings []*rbacv1.ClusterRoleBinding
	local    []*rbacv1.RoleBinding
	nsRoles  map[string]*rbacv1.Role
}

func (p *policy) GetRole(ns, name string) (*rbacv1.Role, bool) {
	r, ok := p.nsRoles[ns+"/"+name]
	return r, ok
}
func (p *policy) GetClusterRole(name string) (*rbacv1.ClusterRole, bool) {
	r, ok := p.roles[name]
	return r, ok
}
func (p *policy) ListRoleBindings(ns string) []*rbacv1.RoleBinding {
	var out []*rbacv1.RoleBinding
	for _, b := range p.local {
		if b.Namespace == ns {
			out = append(out, b)
		}
	}
	return out
}
func (p *policy) ListClusterRoleBindings() []*rbacv1.ClusterRoleBinding { return p.bindings }

func pr(verbs, groups, resources []string, names ...string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{Verbs: verbs, APIGroups: groups, Resources: resources, ResourceNames: names}
}

func s(v ...string) []string { return v }

func toUser(name string) []rbacv1.Subject {
	return []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: name}}
}

func clusterRef(name string) rbacv1.RoleRef {
	return rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name}
}

// escalationFixture: bob edits configmaps in "dev" and may manage RBAC
// there; carol may bind "view" in "dev"; erin may escalate roles in "dev";
// root holds everything (but is not in system:masters).
func escalationFixture() RBACEscalation {
	p := &policy{
		roles: map[string]*rbacv1.ClusterRole{
			"cm-editor": {ObjectMeta: metav1.ObjectMeta{Name: "cm-editor"}, Rules: []rbacv1.PolicyRule{
				pr(s("get", "list", "update"), s(""), s("configmaps")),
				pr(s("create", "get", "update"), s(rbacv1.GroupName), s("roles", "rolebindings", "clusterroles", "clusterrolebindings"))}},
			"view": {ObjectMeta: metav1.ObjectMeta{Name: "view"}, Rules: []rbacv1.PolicyRule{
				pr(s("get", "list", "watch"), s(""), s("pods", "configmaps"))}},
			"view-binder": {ObjectMeta: metav1.ObjectMeta{Name: "view-binder"}, Rules: []rbacv1.PolicyRule{
				pr(s("bind"), s(rbacv1.GroupName), s("clusterroles"), "view"),
				pr(s("create"), s(rbacv1.GroupName), s("rolebindings"))}},
			"escalator": {ObjectMeta: metav1.ObjectMeta{Name: "escalator"}, Rules: []rbacv1.PolicyRule{
				pr(s("escalate", "create", "update"), s(rbacv1.GroupName), s("roles"))}},
			"all": {ObjectMeta: metav1.ObjectMeta{Name: "all"}, Rules: []rbacv1.PolicyRule{
				pr(s("*"), s("*"), s("*")), {Verbs: s("*"), NonResourceURLs: s("*")}}},
		},
		bindings: []*rbacv1.ClusterRoleBinding{
			{ObjectMeta: metav1.ObjectMeta{Name: "root"}, RoleRef: clusterRef("all"), Subjects: toUser("root")},
		},
		local: []*rbacv1.RoleBinding{
			{ObjectMeta: metav1.ObjectMeta{Namespace: "dev", Name: "bob"}, RoleRef: clusterRef("cm-editor"), Subjects: toUser("bob")},
			{ObjectMeta: metav1.ObjectMeta{Namespace: "dev", Name: "carol"}, RoleRef: clusterRef("view-binder"), Subjects: toUser("carol")},
			{ObjectMeta: metav1.ObjectMeta{Namespace: "dev", Name: "erin"}, RoleRef: clusterRef("escalator"), Subjects: toUser("erin")},
		},
		nsRoles: map[string]*rbacv1.Role{
			"dev/secrets": {ObjectMeta: metav1.ObjectMeta{Namespace: "dev", Name: "secrets"}, Rules: []rbacv1.PolicyRule{
				pr(s("get"), s(""), s("secrets"))}},
		},
	}
	az := rbac.New(p)
	return RBACEscalation{Authorizer: authz.Union{authz.Privileged{}, az}, Held: az, Roles: az}
}

func rbacRow(name string) *registry.Resource {
	for _, r := range rbacrows.Resources() {
		if r.Name == name {
			return r
		}
	}
	panic(name)
}

func TestEscalation(t *testing.T) {
	p := escalationFixture()
	user := func(name string, groups ...string) *request.User {
		return &request.User{Name: name, Groups: append(groups, "system:authenticated")}
	}
	role := func(rules ...rbacv1.PolicyRule) *rbacv1.Role {
		return &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: "dev", Name: "r"}, Rules: rules}
	}
	aggregated := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "agg"}, AggregationRule: &rbacv1.AggregationRule{
		ClusterRoleSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"a": "b"}}}}}
	binding := func(ref rbacv1.RoleRef) *rbacv1.RoleBinding {
		return &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "dev", Name: "b"}, RoleRef: ref, Subjects: toUser("x")}
	}
	owned := binding(clusterRef("all"))
	gcOnly := owned.DeepCopy()
	gcOnly.Finalizers = []string{"foregroundDeletion"}
	gcOnly.OwnerReferences = []metav1.OwnerReference{{Name: "o", Kind: "K", APIVersion: "v1", UID: "u"}}
	gcAndMore := gcOnly.DeepCopy()
	gcAndMore.Labels = map[string]string{"l": "v"}

	cases := []struct {
		name     string
		user     *request.User
		op       Operation
		resource string
		ns       string
		obj, old runtime.Object
		code     int // 0: admitted
		message  string
	}{
		{"a subset of what one holds", user("bob"), Create, "roles", "dev",
			role(pr(s("get", "update"), s(""), s("configmaps"))), nil, 0, ""},
		{"more than one holds", user("bob"), Create, "roles", "dev",
			role(pr(s("get", "list"), s(""), s("configmaps", "secrets")), pr(s("get"), s(""), s("pods"), "p1")), nil, http.StatusForbidden,
			`roles.rbac.authorization.k8s.io "r" is forbidden: user "bob" (groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held:` +
				"\n" + `{APIGroups:[""], Resources:["pods"], ResourceNames:["p1"], Verbs:["get"]}` +
				"\n" + `{APIGroups:[""], Resources:["secrets"], Verbs:["get" "list"]}`},
		{"held in another namespace only", user("bob"), Create, "roles", "prod",
			role(pr(s("get"), s(""), s("configmaps"))), nil, http.StatusForbidden, ""},
		{"an update is checked too", user("bob"), Update, "roles", "dev",
			role(pr(s("delete"), s(""), s("configmaps"))), role(), http.StatusForbidden, ""},
		{"escalate allows any rule", user("erin"), Create, "roles", "dev",
			role(pr(s("*"), s("*"), s("*"))), nil, 0, ""},
		{"escalate is per resource", user("erin"), Create, "clusterroles", "",
			&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "c"}, Rules: []rbacv1.PolicyRule{pr(s("get"), s(""), s("pods"))}}, nil, http.StatusForbidden, ""},
		{"system:masters pass", user("m", "system:masters"), Create, "clusterroles", "",
			&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "c"}, Rules: []rbacv1.PolicyRule{pr(s("*"), s("*"), s("*"))}}, nil, 0, ""},
		{"no user: from inside kapi", nil, Create, "clusterroles", "",
			&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "c"}, Rules: []rbacv1.PolicyRule{pr(s("*"), s("*"), s("*"))}}, nil, 0, ""},
		{"an aggregation rule needs everything", user("bob"), Create, "clusterroles", "", aggregated, nil, http.StatusForbidden,
			`clusterroles.rbac.authorization.k8s.io "agg" is forbidden: must have cluster-admin privileges to use the aggregationRule`},
		{"an aggregation rule: holding everything", user("root"), Create, "clusterroles", "", aggregated, nil, 0, ""},
		{"removing an aggregation rule needs everything", user("bob"), Update, "clusterroles", "",
			&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "agg"}}, aggregated, http.StatusForbidden, ""},
		{"binding a role one holds entirely", user("bob"), Create, "rolebindings", "dev",
			binding(rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cm-editor"}), nil, 0, ""},
		{"binding a role one does not hold", user("bob"), Create, "rolebindings", "dev", binding(clusterRef("view")), nil, http.StatusForbidden,
			`rolebindings.rbac.authorization.k8s.io "b" is forbidden: user "bob" (groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held:` +
				"\n" + `{APIGroups:[""], Resources:["configmaps"], Verbs:["watch"]}` +
				"\n" + `{APIGroups:[""], Resources:["pods"], Verbs:["get" "list" "watch"]}`},
		{"bind allows the named role", user("carol"), Create, "rolebindings", "dev", binding(clusterRef("view")), nil, 0, ""},
		{"bind names one role", user("carol"), Create, "rolebindings", "dev", binding(clusterRef("cm-editor")), nil, http.StatusForbidden, ""},
		{"bind is per namespace", user("carol"), Create, "rolebindings", "prod",
			&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "prod", Name: "b"}, RoleRef: clusterRef("view")}, nil, http.StatusForbidden, ""},
		{"a cluster-wide binding needs cluster-wide rules", user("bob"), Create, "clusterrolebindings", "",
			&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "cb"}, RoleRef: clusterRef("cm-editor")}, nil, http.StatusForbidden, ""},
		{"binding a Role of the namespace", user("bob"), Create, "rolebindings", "dev",
			binding(rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "secrets"}), nil, http.StatusForbidden, ""},
		{"binding a missing role", user("bob"), Create, "rolebindings", "dev",
			binding(rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "nope"}), nil, http.StatusNotFound,
			`roles.rbac.authorization.k8s.io "nope" not found`},
		{"an update of owner references and finalizers only", user("bob"), Update, "rolebindings", "dev", gcOnly, owned, 0, ""},
		{"an update of more than that", user("bob"), Update, "rolebindings", "dev", gcAndMore, owned, http.StatusForbidden, ""},
		{"a delete is not checked", user("bob"), Delete, "rolebindings", "dev", nil, owned, 0, ""},
	}
	for _, c := range cases {
		ctx := context.Background()
		if c.user != nil {
			ctx = request.WithUser(ctx, c.user)
		}
		name := ""
		if c.obj != nil {
			name = mustName(c.obj)
		}
		err := p.Validate(ctx, &Attributes{Operation: c.op, Resource: rbacRow(c.resource), Namespace: c.ns, Name: name, Object: c.obj, OldObject: c.old})
		code := 0
		if err != nil {
			code = -1
			if se, ok := err.(apierrors.APIStatus); ok {
				code = int(se.Status().Code)
			}
		}
		if code != c.code {
			t.Errorf("%s: code %d, want %d (%v)", c.name, code, c.code, err)
			continue
		}
		if c.message != "" && err.Error() != c.message {
			t.Errorf("%s: message\n got %s\nwant %s", c.name, err.Error(), c.message)
		}
	}
}

func mustName(obj runtime.Object) string {
	switch o := obj.(type) {
	case *rbacv1.Role:
		return o.Name
	case *rbacv1.ClusterRole:
		return o.Name
	case *rbacv1.RoleBinding:
		return o.Name
	case *rbacv1.ClusterRoleBinding:
		return o.Name
	}
	return ""
}

func TestEscalationMessageResolutionErrors(t *testing.T) {
	msg := EscalationMessage(&request.User{Name: "u"}, []rbacv1.PolicyRule{{Verbs: s("get"), NonResourceURLs: s("/x")}},
		apierrors.NewNotFound(rbacv1.Resource("role"), "r"))
	want := `user "u" (groups=[]) is attempting to grant RBAC permissions not currently held:` + "\n" +
		`{NonResourceURLs:["/x"], Verbs:["get"]}; resolution errors: [role.rbac.authorization.k8s.io "r" not found]`
	if msg != want {
		t.Errorf("got  %s\nwant %s", msg, want)
	}
}
