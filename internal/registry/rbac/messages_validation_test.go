package rbac

import (
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"kapi/internal/registry"

	"kapi/internal/registry/fieldtest"
)

// messageCase is a create (old nil) or an update of the stored old, and
// the errors kube-apiserver 1.37 answers, one a line, in its order.
type messageCase struct {
	name     string
	hook     *registry.Hooks
	old, obj runtime.Object
	want     string
}

func runMessageCases(t *testing.T, cases []messageCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.old == nil {
				c.hook.PrepareCreate(c.obj)
			} else {
				c.hook.PrepareCreate(c.old)
				c.hook.PrepareUpdate(c.obj, c.old)
			}
			if got := fieldtest.Lines(c.hook.Validate(c.obj, c.old)); got != c.want {
				t.Errorf("got\n%s\nwant\n%s", got, c.want)
			}
		})
	}
}

var podsRule = rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"pods"}}

func role(rules ...rbacv1.PolicyRule) *rbacv1.Role {
	return &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "r", Namespace: "ns"}, Rules: rules}
}

func clusterRole(selectors ...metav1.LabelSelector) *rbacv1.ClusterRole {
	cr := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "cr"}}
	if selectors != nil {
		cr.AggregationRule = &rbacv1.AggregationRule{ClusterRoleSelectors: selectors}
	}
	return cr
}

func roleBinding(ref rbacv1.RoleRef, subjects ...rbacv1.Subject) *rbacv1.RoleBinding {
	return &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "rb", Namespace: "ns"}, RoleRef: ref, Subjects: subjects}
}

func clusterRoleBinding(ref rbacv1.RoleRef, subjects ...rbacv1.Subject) *rbacv1.ClusterRoleBinding {
	return &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "crb"}, RoleRef: ref, Subjects: subjects}
}

func labelled[T metav1.Object](obj T) T {
	obj.SetLabels(map[string]string{"changed": "true"})
	return obj
}

func expression(values ...string) metav1.LabelSelector {
	return metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "k", Operator: metav1.LabelSelectorOpIn, Values: values}}}
}

const badLabelValue = `a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`

var roleMessageCases = []messageCase{
	{"role valid", roleHooks, nil, role(podsRule), ""},
	{"role: the declarative verbs error, last", roleHooks, nil,
		role(rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods"}}, rbacv1.PolicyRule{Verbs: []string{"get"}, Resources: []string{"pods"}}),
		"rules[1].apiGroups: Required value: resource rules must supply at least one api group\nrules[0].verbs: Required value"},
	{"role: non-resource URLs with groups", roleHooks, nil,
		role(rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{""}, NonResourceURLs: []string{"/healthz"}}),
		`rules[0].nonResourceURLs: Invalid value: ["/healthz"]: namespaced rules cannot apply to non-resource URLs` + "\n" +
			`rules[0].nonResourceURLs: Invalid value: ["/healthz"]: rules cannot apply to both regular resources and non-resource URLs`},
	{"cluster role: non-resource URLs with resource names", clusterRoleHooks, nil,
		&rbacv1.ClusterRole{Rules: []rbacv1.PolicyRule{{Verbs: []string{"get"}, NonResourceURLs: []string{"/healthz"}, ResourceNames: []string{"x"}}}},
		`rules[0].nonResourceURLs: Invalid value: ["/healthz"]: rules cannot apply to both regular resources and non-resource URLs`},
	{"role update keeping a stored rule without verbs: the handwritten error", roleHooks,
		role(rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods"}}),
		labelled(role(rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods"}})),
		"rules[0].verbs: Required value: verbs must contain at least one value"},
	{"role update changing the rules: the declarative error", roleHooks,
		role(rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods"}}),
		role(rbacv1.PolicyRule{APIGroups: []string{"apps"}, Resources: []string{"pods"}}),
		"rules[0].verbs: Required value"},
	{"role valid update", roleHooks, role(podsRule), labelled(role(podsRule, podsRule)), ""},
	{"cluster role aggregating", clusterRoleHooks, nil, clusterRole(metav1.LabelSelector{MatchLabels: map[string]string{"rbac.example.com/aggregate": "true"}}), ""},
	{"cluster role: bad label value", clusterRoleHooks, nil, clusterRole(expression("bad value")),
		`aggregationRule.clusterRoleSelectors[0].matchExpressions[0].values[0]: Invalid value: "bad value": ` + badLabelValue + "\n" +
			"aggregationRule.clusterRoleSelectors[0]: Invalid value: null: invalid label selector."},
	{"cluster role: In without values", clusterRoleHooks, nil, clusterRole(expression()),
		"aggregationRule.clusterRoleSelectors[0].matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'\n" +
			"aggregationRule.clusterRoleSelectors[0]: Invalid value: null: invalid label selector."},
	{"cluster role update keeping a stored bad label value: the selector still does not parse", clusterRoleHooks,
		clusterRole(expression("bad value")), labelled(clusterRole(expression("bad value"))),
		"aggregationRule.clusterRoleSelectors[0]: Invalid value: null: invalid label selector."},
	{"cluster role update bringing a bad label value", clusterRoleHooks,
		clusterRole(expression("good")), clusterRole(expression("bad value")),
		`aggregationRule.clusterRoleSelectors[0].matchExpressions[0].values[0]: Invalid value: "bad value": ` + badLabelValue + "\n" +
			"aggregationRule.clusterRoleSelectors[0]: Invalid value: null: invalid label selector."},
	{"cluster role: aggregation without selectors", clusterRoleHooks, nil, &rbacv1.ClusterRole{AggregationRule: &rbacv1.AggregationRule{}},
		"aggregationRule.clusterRoleSelectors: Required value: at least one clusterRoleSelector required if aggregationRule is non-nil"},
}

var (
	roleRef    = rbacv1.RoleRef{Kind: "Role", Name: "r"}
	clusterRef = rbacv1.RoleRef{Kind: "ClusterRole", Name: "cr"}
	alice      = rbacv1.Subject{Kind: rbacv1.UserKind, Name: "alice"}
)

var bindingMessageCases = []messageCase{
	{"binding valid", roleBindingHooks, nil, roleBinding(roleRef, alice, rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: "default"}), ""},
	{"binding: the declarative name errors, last", roleBindingHooks, nil,
		roleBinding(rbacv1.RoleRef{Kind: "Pod"}, rbacv1.Subject{Kind: rbacv1.UserKind}, rbacv1.Subject{Kind: "Robot", Name: "r2"}),
		`roleRef.kind: Unsupported value: "Pod": supported values: "Role", "ClusterRole"` + "\n" +
			`subjects[1].kind: Unsupported value: "Robot": supported values: "ServiceAccount", "User", "Group"` + "\n" +
			"subjects[0].name: Required value\nroleRef.name: Required value"},
	{"binding: roleRef name not a path segment", roleBindingHooks, nil, roleBinding(rbacv1.RoleRef{Kind: "Role", Name: "a/b"}),
		`roleRef.name: Invalid value: "a/b": may not contain '/'`},
	{"binding: roleRef of another group", roleBindingHooks, nil, roleBinding(rbacv1.RoleRef{APIGroup: "example.com", Kind: "Role", Name: "r"}),
		`roleRef.apiGroup: Unsupported value: "example.com": supported values: "rbac.authorization.k8s.io"`},
	{"binding: user of another group", roleBindingHooks, nil, roleBinding(roleRef, rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: "example.com", Name: "u"}),
		`subjects[0].apiGroup: Unsupported value: "example.com": supported values: "rbac.authorization.k8s.io"`},
	{"binding update changing roleRef", roleBindingHooks, roleBinding(roleRef), roleBinding(rbacv1.RoleRef{Kind: "Role", Name: "other"}),
		`roleRef: Invalid value: {"APIGroup":"rbac.authorization.k8s.io","Kind":"Role","Name":"other"}: field is immutable`},
	{"binding update emptying roleRef name: its handwritten error in place, the changed subjects' declarative one last", roleBindingHooks,
		roleBinding(roleRef, alice), roleBinding(rbacv1.RoleRef{Kind: "Role"}, rbacv1.Subject{Kind: rbacv1.GroupKind}),
		"roleRef.name: Required value\n" +
			`roleRef: Invalid value: {"APIGroup":"rbac.authorization.k8s.io","Kind":"Role","Name":""}: field is immutable` + "\n" +
			"subjects[0].name: Required value"},
	{"binding update keeping stored subjects: the handwritten errors, in place", roleBindingHooks,
		roleBinding(roleRef, rbacv1.Subject{Kind: rbacv1.UserKind}, rbacv1.Subject{Kind: "Robot", Name: "r2"}),
		labelled(roleBinding(roleRef, rbacv1.Subject{Kind: rbacv1.UserKind}, rbacv1.Subject{Kind: "Robot", Name: "r2"})),
		"subjects[0].name: Required value\n" +
			`subjects[1].kind: Unsupported value: "Robot": supported values: "ServiceAccount", "User", "Group"`},
	{"binding valid update", roleBindingHooks, roleBinding(roleRef, alice), labelled(roleBinding(roleRef, alice, alice)), ""},
	{"cluster binding to a role", clusterRoleBindingHooks, nil, clusterRoleBinding(roleRef),
		`roleRef.kind: Unsupported value: "Role": supported values: "ClusterRole"`},
	{"cluster binding: service accounts", clusterRoleBindingHooks, nil, clusterRoleBinding(clusterRef,
		rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: "Bad_SA"},
		rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: "sa", Namespace: "ns", APIGroup: rbacv1.GroupName}),
		`subjects[0].name: Invalid value: "Bad_SA": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')` + "\n" +
			"subjects[0].namespace: Required value\n" +
			`subjects[1].apiGroup: Unsupported value: "rbac.authorization.k8s.io": supported values: ""`},
	{"cluster binding update changing roleRef", clusterRoleBindingHooks, clusterRoleBinding(clusterRef, alice),
		clusterRoleBinding(rbacv1.RoleRef{Kind: "ClusterRole", Name: "admin"}, alice),
		`roleRef: Invalid value: {"APIGroup":"rbac.authorization.k8s.io","Kind":"ClusterRole","Name":"admin"}: field is immutable`},
	{"cluster binding valid update", clusterRoleBindingHooks, clusterRoleBinding(clusterRef, alice), labelled(clusterRoleBinding(clusterRef)), ""},
}

func TestRBACMessages(t *testing.T) {
	runMessageCases(t, roleMessageCases)
	runMessageCases(t, bindingMessageCases)
}
