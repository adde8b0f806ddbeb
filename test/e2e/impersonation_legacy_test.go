package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"kapi/internal/features"
	"kapi/internal/server"
)

// TestImpersonationLegacyGate: with kube's ConstrainedImpersonation gate
// off, kapi runs kube's impersonation filter of before the feature: the
// constrained verbs that let bob list pods as alice on a default kapi
// (TestImpersonationConstrained) grant nothing, the refusal names the
// legacy verb on the user, and the legacy "impersonate" allows.
func TestImpersonationLegacyGate(t *testing.T) {
	t.Parallel()
	tokens := filepath.Join(t.TempDir(), "tokens.csv")
	if err := os.WriteFile(tokens, []byte("bob-token,bob,uid-bob\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	g := features.New()
	if err := g.Set("ConstrainedImpersonation=false"); err != nil {
		t.Fatal(err)
	}
	k := startKapi(t, func(c *server.Config) { c.TokenAuthFile, c.FeatureGates = tokens, g })
	cfg := k.tokenConfig("bob-token")
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "alice"}
	bobAsAlice := kubernetes.NewForConfigOrDie(cfg)
	listPods := func() error {
		_, err := bobAsAlice.CoreV1().Pods("").List(context.Background(), metav1.ListOptions{})
		return err
	}
	impGrant(t, k, "imp-readers", []rbacv1.Subject{impUser("alice")},
		rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"list"}})
	impGrant(t, k, "imp-bob-constrained", []rbacv1.Subject{impUser("bob")},
		rbacv1.PolicyRule{APIGroups: []string{"authentication.k8s.io"}, Resources: []string{"users"}, Verbs: []string{"impersonate:user-info"}},
		rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"impersonate-on:user-info:list"}})
	// Once RBAC holds the grant (it would let bob through with the gate on).
	if err := impEventually(func() error {
		r, err := k.client.AuthorizationV1().SubjectAccessReviews().Create(context.Background(), &authorizationv1.SubjectAccessReview{
			Spec: authorizationv1.SubjectAccessReviewSpec{User: "bob", ResourceAttributes: &authorizationv1.ResourceAttributes{
				Verb: "impersonate-on:user-info:list", Resource: "pods"}}}, metav1.CreateOptions{})
		if err == nil && !r.Status.Allowed {
			err = fmt.Errorf("not yet allowed")
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := listPods(); !impForbidden(err, `users "alice" is forbidden: User "bob" cannot impersonate resource "users" in API group "" at the cluster scope`) {
		t.Fatalf("bob as alice with constrained rights, the gate off: %v", err)
	}
	impGrant(t, k, "imp-bob-legacy", []rbacv1.Subject{impUser("bob")},
		rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"users"}, Verbs: []string{"impersonate"}})
	if err := impEventually(listPods); err != nil {
		t.Fatalf("bob as alice with the legacy verb: %v", err)
	}
}
