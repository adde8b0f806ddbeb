package e2e

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
)

// TestAggregationAuthorization: a request of an aggregated group is
// authorized twice, as in kube. kapi authorizes it itself before
// proxying: a user without rights on flunders gets kapi's 403 and the
// extension never sees the request. The extension, a standard one
// (delegatedAuth), then authenticates kapi's front proxy and the user
// from kapi's ConfigMap and authorizes the user again with a
// SubjectAccessReview to kapi, whose RBAC lets alice's group read
// flunders: she lists them through kapi, the extension saw her name,
// groups and extra, and kapi counted the extension's
// SubjectAccessReview.
func TestAggregationAuthorization(t *testing.T) {
	k, _, ext := startFlunders(t)
	ctx := context.Background()
	if _, err := k.client.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "flunder-reader"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{"wardle.example.com"}, Resources: []string{"flunders"}, Verbs: []string{"get", "list", "watch"}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := k.client.RbacV1().RoleBindings("default").Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "flunder-readers"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "flunder-reader"},
		Subjects: []rbacv1.Subject{{Kind: "Group", APIGroup: rbacv1.GroupName, Name: "wardle-readers"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Users are the admin's impersonations: kapi authenticates them, the
	// extension knows them only from the front proxy's headers.
	as := func(ns, user string, groups []string, extra map[string][]string) dynamic.ResourceInterface {
		cfg := rest.CopyConfig(k.rest)
		cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: groups, Extra: extra}
		return dynamic.NewForConfigOrDie(cfg).Resource(flundersGVR).Namespace(ns)
	}
	const path = "/apis/wardle.example.com/v1alpha1/namespaces/default/flunders"
	seenBy := func(user string) []aggSeen {
		var out []aggSeen
		for _, s := range ext.requests() {
			if s.User == user && s.Path == path {
				out = append(out, s)
			}
		}
		return out
	}

	reviews := subjectAccessReviews(t, k)
	alice := as("default", "alice", []string{"wardle-readers"}, map[string][]string{"acme.com/project": {"p1"}})
	if err := waitUntil(30*time.Second, func() bool {
		l, err := alice.List(ctx, metav1.ListOptions{})
		return err == nil && len(l.Items) == 1
	}); err != nil {
		_, err := alice.List(ctx, metav1.ListOptions{})
		t.Fatalf("alice listing flunders through kapi: %v", err)
	}
	seen := seenBy("alice")
	if len(seen) == 0 {
		t.Fatal("the extension did not see alice")
	}
	s := seen[len(seen)-1]
	if s.ProxyCN != "front-proxy-client" || !slices.Contains(s.Groups, "wardle-readers") || !slices.Contains(s.Groups, "system:authenticated") ||
		!slices.Equal(s.Extra["acme.com/project"], []string{"p1"}) {
		t.Fatalf("the extension saw %+v", s)
	}
	// alice is not in system:masters: the extension allowed her only
	// after asking kapi.
	if after := subjectAccessReviews(t, k); after <= reviews {
		t.Fatalf("kapi served no SubjectAccessReview for alice's request (%v before, %v after)", reviews, after)
	}

	// bob has no rights: kapi answers 403 itself, nothing is proxied.
	_, err := as("default", "bob", nil, nil).List(ctx, metav1.ListOptions{})
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(),
		`flunders.wardle.example.com is forbidden: User "bob" cannot list resource "flunders" in API group "wardle.example.com" in the namespace "default"`) {
		t.Fatalf("bob listing flunders: %v", err)
	}
	// alice may read flunders in default only.
	_, err = as("wardle", "alice", []string{"wardle-readers"}, nil).List(ctx, metav1.ListOptions{})
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `User "alice" cannot list resource "flunders" in API group "wardle.example.com" in the namespace "wardle"`) {
		t.Fatalf("alice listing flunders of namespace wardle: %v", err)
	}
	for _, s := range ext.requests() {
		if s.User == "bob" || s.User == "alice" && s.Path != path {
			t.Fatalf("a request kapi refused reached the extension: %+v", s)
		}
	}
}

// subjectAccessReviews is how many SubjectAccessReviews kapi has served
// (apiserver_request_total of the resource, every code).
func subjectAccessReviews(t *testing.T, k *kapi) float64 {
	t.Helper()
	var n float64
	for _, m := range scrape(t, k.client)["apiserver_request_total"].GetMetric() {
		for _, l := range m.Label {
			if l.GetName() == "resource" && l.GetValue() == "subjectaccessreviews" {
				n += m.Counter.GetValue()
			}
		}
	}
	return n
}
