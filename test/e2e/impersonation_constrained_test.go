package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"kapi/internal/server"
)

// TestImpersonationConstrained: constrained impersonation (KEP-5284, on by
// default in kube-apiserver 1.37), against a real kapi with RBAC. A
// requestor without the legacy impersonate verb may impersonate with a
// mode's verb on the identity (impersonate:user-info on users,
// impersonate:associated-node on nodes, ...) plus impersonate-on:<mode>:<verb>
// on what the request does; every refusal is kube's 403, word for word
// (kube's test/integration/auth TestConstrainedImpersonation). Legacy
// impersonation keeps working beside it.
func TestImpersonationConstrained(t *testing.T) {
	tokens := filepath.Join(t.TempDir(), "tokens.csv")
	if err := os.WriteFile(tokens, []byte("bob-token,bob,uid-bob\ncarol-token,carol,uid-carol\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	k := startKapi(t, func(c *server.Config) { c.TokenAuthFile = tokens })
	ctx := context.Background()
	as := func(token, user string, groups ...string) kubernetes.Interface {
		cfg := k.tokenConfig(token)
		cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: groups}
		return kubernetes.NewForConfigOrDie(cfg)
	}
	listPods := func(c kubernetes.Interface) error {
		_, err := c.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
		return err
	}
	whoami := func(c kubernetes.Interface) (authenticationv1.UserInfo, error) {
		r, err := c.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
		if err != nil {
			return authenticationv1.UserInfo{}, err
		}
		return r.Status.UserInfo, nil
	}
	// The impersonated users may list pods.
	impGrant(t, k, "imp-readers", []rbacv1.Subject{impUser("alice"), impUser("system:node:node-1")},
		rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list", "watch"}})

	// bob impersonates alice: without any right, the user-info mode's
	// refusal (the first mode that applies), not legacy's.
	bobAsAlice := as("bob-token", "alice")
	const listRefused = `pods is forbidden: User "bob" cannot impersonate-on:user-info:list resource "pods" in API group "" at the cluster scope`
	if err := listPods(bobAsAlice); !impForbidden(err, listRefused) {
		t.Fatalf("bob as alice without any right: %v", err)
	}
	// With impersonate:user-info on users, still not: bob may not list as anyone.
	impGrant(t, k, "imp-bob-users", []rbacv1.Subject{impUser("bob")},
		rbacv1.PolicyRule{APIGroups: []string{"authentication.k8s.io"}, Resources: []string{"users"}, Verbs: []string{"impersonate:user-info"}})
	if err := listPods(bobAsAlice); !impForbidden(err, listRefused) {
		t.Fatalf("bob as alice with impersonate:user-info only: %v", err)
	}
	// With impersonate-on:user-info:list on pods, bob lists pods as alice...
	impGrant(t, k, "imp-bob-list-pods", []rbacv1.Subject{impUser("bob")},
		rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"impersonate-on:user-info:list"}},
		rbacv1.PolicyRule{APIGroups: []string{"authentication.k8s.io"}, Resources: []string{"selfsubjectreviews"}, Verbs: []string{"impersonate-on:user-info:create"}})
	if err := impEventually(func() error { return listPods(bobAsAlice) }); err != nil {
		t.Fatalf("bob as alice lists pods with impersonate-on:user-info:list: %v", err)
	}
	if u, err := whoami(bobAsAlice); err != nil || u.Username != "alice" || !slices.Equal(u.Groups, []string{"system:authenticated"}) {
		t.Errorf("bob as alice: whoami %+v %v", u, err)
	}
	// ... and nothing else.
	if _, err := bobAsAlice.CoreV1().Pods("").Watch(ctx, metav1.ListOptions{}); !impForbidden(err,
		`pods is forbidden: User "bob" cannot impersonate-on:user-info:watch resource "pods" in API group "" at the cluster scope`) {
		t.Errorf("bob as alice watches pods: %v", err)
	}
	if _, err := bobAsAlice.CoreV1().Pods("default").Get(ctx, "p1", metav1.GetOptions{}); !impForbidden(err,
		`pods "p1" is forbidden: User "bob" cannot impersonate-on:user-info:get resource "pods" in API group "" in the namespace "default"`) {
		t.Errorf("bob as alice gets a pod: %v", err)
	}
	if _, err := bobAsAlice.CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{}); !impForbidden(err,
		`configmaps is forbidden: User "bob" cannot impersonate-on:user-info:list resource "configmaps" in API group "" in the namespace "default"`) {
		t.Errorf("bob as alice lists configmaps: %v", err)
	}
	// Whatever the authorizer says, constrained modes never impersonate system:masters.
	if err := listPods(as("bob-token", "alice", "system:masters")); !impForbidden(err,
		`groups.authentication.k8s.io "system:masters" is forbidden: User "bob" cannot impersonate:user-info resource "groups" in API group "authentication.k8s.io" at the cluster scope: impersonating the system:masters group is not allowed`) {
		t.Errorf("bob as alice in system:masters: %v", err)
	}
	// A service account is the serviceaccount mode's (bob has none of it).
	if err := listPods(as("bob-token", "system:serviceaccount:default:default")); !impForbidden(err,
		`pods is forbidden: User "bob" cannot impersonate-on:serviceaccount:list resource "pods" in API group "" at the cluster scope`) {
		t.Errorf("bob as a service account: %v", err)
	}

	// Legacy impersonation, unchanged: carol may impersonate alice for anything.
	carolAsAlice := as("carol-token", "alice")
	if err := listPods(carolAsAlice); !impForbidden(err,
		`pods is forbidden: User "carol" cannot impersonate-on:user-info:list resource "pods" in API group "" at the cluster scope`) {
		t.Fatalf("carol as alice without any right: %v", err)
	}
	impGrant(t, k, "imp-carol-legacy", []rbacv1.Subject{impUser("carol")},
		rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"users"}, ResourceNames: []string{"alice"}, Verbs: []string{"impersonate"}})
	if err := impEventually(func() error { return listPods(carolAsAlice) }); err != nil {
		t.Fatalf("carol as alice with the impersonate verb: %v", err)
	}
	w, err := carolAsAlice.CoreV1().Pods("").Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Errorf("carol as alice watches pods: %v", err)
	} else {
		w.Stop()
	}
	if u, err := whoami(carolAsAlice); err != nil || u.Username != "alice" {
		t.Errorf("carol as alice: whoami %+v %v", u, err)
	}
	// The administrator (system:masters) impersonates anyone, in any group.
	if u, err := whoami(asUser(k, "dave", "system:masters", "ops")); err != nil || u.Username != "dave" ||
		!slices.Equal(u.Groups, []string{"system:masters", "ops", "system:authenticated"}) {
		t.Errorf("admin as dave in system:masters: whoami %+v %v", u, err)
	}

	// A node agent: a service account whose token is bound to node-1
	// impersonates node-1, and only node-1.
	if _, err := k.client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-1"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := k.client.CoreV1().ServiceAccounts("default").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "node-agent"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tr, err := k.client.CoreV1().ServiceAccounts("default").CreateToken(ctx, "node-agent", &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		BoundObjectRef: &authenticationv1.BoundObjectReference{APIVersion: "v1", Kind: "Node", Name: "node-1"}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	agent := impSubject(rbacv1.Subject{Kind: "ServiceAccount", Name: "node-agent", Namespace: "default"})
	impGrant(t, k, "imp-agent-on", agent,
		rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"impersonate-on:associated-node:list"}},
		rbacv1.PolicyRule{APIGroups: []string{"authentication.k8s.io"}, Resources: []string{"selfsubjectreviews"}, Verbs: []string{"impersonate-on:associated-node:create"}})
	agentAsNode1 := as(tr.Status.Token, "system:node:node-1")
	// Without impersonate:associated-node: asked for any node ("*").
	const nodeRefused = `nodes.authentication.k8s.io "*" is forbidden: User "system:serviceaccount:default:node-agent" cannot impersonate:associated-node resource "nodes" in API group "authentication.k8s.io" at the cluster scope`
	if err := impEventually(func() error {
		if err := listPods(agentAsNode1); !impForbidden(err, nodeRefused) {
			return err
		}
		return nil
	}); err != nil {
		t.Fatalf("the agent as its node without impersonate:associated-node: %v", err)
	}
	impGrant(t, k, "imp-agent-node", agent,
		rbacv1.PolicyRule{APIGroups: []string{"authentication.k8s.io"}, Resources: []string{"nodes"}, Verbs: []string{"impersonate:associated-node"}})
	if err := impEventually(func() error { return listPods(agentAsNode1) }); err != nil {
		t.Fatalf("the agent as its node: %v", err)
	}
	if u, err := whoami(agentAsNode1); err != nil || u.Username != "system:node:node-1" ||
		!slices.Equal(u.Groups, []string{"system:nodes", "system:authenticated"}) || u.UID != "" || len(u.Extra) != 0 {
		t.Errorf("the agent as its node: whoami %+v %v", u, err)
	}
	// Another node is the arbitrary-node mode's, which the agent has not.
	if err := listPods(as(tr.Status.Token, "system:node:node-2")); !impForbidden(err,
		`pods is forbidden: User "system:serviceaccount:default:node-agent" cannot impersonate-on:arbitrary-node:list resource "pods" in API group "" at the cluster scope`) {
		t.Errorf("the agent as another node: %v", err)
	}
	// Groups are the server's: asked for, only legacy impersonation applies.
	if err := listPods(as(tr.Status.Token, "system:node:node-1", "system:nodes")); !impForbidden(err,
		`users "system:node:node-1" is forbidden: User "system:serviceaccount:default:node-agent" cannot impersonate resource "users" in API group "" at the cluster scope`) {
		t.Errorf("the agent as its node, with groups: %v", err)
	}

	// kube-apiserver's impersonation metrics.
	families := scrape(t, k.client)
	for name, typ := range map[string]dto.MetricType{
		"apiserver_impersonation_attempts_total":                          dto.MetricType_COUNTER,
		"apiserver_impersonation_attempts_duration_seconds":               dto.MetricType_HISTOGRAM,
		"apiserver_impersonation_authorization_attempts_total":            dto.MetricType_COUNTER,
		"apiserver_impersonation_authorization_attempts_duration_seconds": dto.MetricType_HISTOGRAM,
	} {
		family(t, families, name, typ, "mode", "decision")
	}
	attempts := family(t, families, "apiserver_impersonation_attempts_total", dto.MetricType_COUNTER, "mode", "decision")
	for _, l := range []map[string]string{
		{"mode": "user-info", "decision": "allowed"}, {"mode": "legacy", "decision": "allowed"},
		{"mode": "associated-node", "decision": "allowed"}, {"mode": "", "decision": "denied"},
	} {
		if value(sample(attempts, l)) < 1 {
			t.Errorf("apiserver_impersonation_attempts_total%v not counted", l)
		}
	}
}

func impUser(name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: "User", APIGroup: rbacv1.GroupName, Name: name}
}

func impSubject(s rbacv1.Subject) []rbacv1.Subject { return []rbacv1.Subject{s} }

// impGrant gives subjects the rules, in a ClusterRole and its binding.
func impGrant(t *testing.T, k *kapi, name string, subjects []rbacv1.Subject, rules ...rbacv1.PolicyRule) {
	t.Helper()
	ctx := context.Background()
	if _, err := k.client.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := k.client.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name}, Subjects: subjects}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// In force once the authorizer has both the role and its binding (a
	// refusal in between names the role as not found): the first
	// subject is allowed the first rule.
	r, user := rules[0], subjects[0].Name
	if subjects[0].Kind == "ServiceAccount" {
		user = "system:serviceaccount:" + subjects[0].Namespace + ":" + user
	}
	attrs := &authorizationv1.ResourceAttributes{Group: r.APIGroups[0], Resource: r.Resources[0], Verb: r.Verbs[0]}
	if len(r.ResourceNames) > 0 {
		attrs.Name = r.ResourceNames[0]
	}
	if err := impEventually(func() error {
		sar, err := k.client.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User: user, ResourceAttributes: attrs}}, metav1.CreateOptions{})
		if err == nil && !sar.Status.Allowed {
			err = fmt.Errorf("not yet: %s", sar.Status.Reason)
		}
		return err
	}); err != nil {
		t.Fatalf("grant %s: %v", name, err)
	}
}

// impForbidden tells whether err is a 403 with exactly msg.
func impForbidden(err error, msg string) bool {
	return apierrors.IsForbidden(err) && err.Error() == msg
}

// impEventually retries f until it succeeds (a binding reaches the
// authorizer's cache a moment after it is made), for 10s.
func impEventually(f func() error) error {
	var err error
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err = f(); err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}
