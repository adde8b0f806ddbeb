package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"kapi/internal/server"
)

// TestABACMode: --authorization-mode=ABAC,RBAC with a policy file: a
// policy allows what it matches (a user's reads of one namespace's pods,
// a group's every verb on ConfigMaps), what no policy matches goes on to
// RBAC, and a user's SelfSubjectRulesReview lists the policies' rules.
func TestABACMode(t *testing.T) {
	t.Parallel()
	policy := filepath.Join(t.TempDir(), "abac.jsonl")
	os.WriteFile(policy, []byte(strings.Join([]string{
		`# alice reads the pods of abac; devs do anything with ConfigMaps`,
		`{"apiVersion":"abac.authorization.kubernetes.io/v1beta1","kind":"Policy","spec":{"user":"alice","namespace":"abac","resource":"pods","apiGroup":"","readonly":true}}`,
		`{"apiVersion":"abac.authorization.kubernetes.io/v1beta1","kind":"Policy","spec":{"group":"devs","namespace":"*","resource":"configmaps","apiGroup":""}}`,
	}, "\n")), 0o600)
	k := startKapi(t, func(c *server.Config) {
		c.AuthorizationModes, c.AuthorizationPolicyFile = []string{"ABAC", "RBAC"}, policy
	})
	ctx := context.Background()
	if _, err := k.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "abac"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	alice, carol := asUser(k, "alice"), asUser(k, "carol", "devs")
	if _, err := alice.CoreV1().Pods("abac").List(ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("alice lists abac's pods: %v", err)
	}
	for what, err := range map[string]error{
		"creates a pod": func() error {
			_, err := alice.CoreV1().Pods("abac").Create(ctx, &corev1.Pod{}, metav1.CreateOptions{})
			return err
		}(),
		"lists default's pods": func() error { _, err := alice.CoreV1().Pods("default").List(ctx, metav1.ListOptions{}); return err }(),
		"lists secrets":        func() error { _, err := alice.CoreV1().Secrets("abac").List(ctx, metav1.ListOptions{}); return err }(),
	} {
		if !apierrors.IsForbidden(err) {
			t.Errorf("alice %s: %v, want 403", what, err)
		}
	}
	if _, err := carol.CoreV1().ConfigMaps("abac").Create(ctx, cm("by-carol", nil), metav1.CreateOptions{}); err != nil {
		t.Errorf("carol of devs creates a ConfigMap: %v", err)
	}

	review, err := alice.AuthorizationV1().SelfSubjectRulesReviews().Create(ctx, &authorizationv1.SelfSubjectRulesReview{
		Spec: authorizationv1.SelfSubjectRulesReviewSpec{Namespace: "abac"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range review.Status.ResourceRules {
		found = found || strings.Join(r.Verbs, ",") == "get,list,watch" && strings.Join(r.Resources, ",") == "pods"
	}
	if !found {
		t.Errorf("alice's rules in abac: %+v, want ABAC's read of pods", review.Status.ResourceRules)
	}
	if v, err := metric(ctx, k.client, "apiserver_authorization_decisions_total", `decision="allowed",name="abac",type="ABAC"`); err != nil || v < 2 {
		t.Errorf("ABAC's allowed decisions: %v (%v), want at least 2", v, err)
	}
}

// TestABACFlags: the mode without a policy file, and a policy file
// without the mode, are refused with kube's messages.
func TestABACFlags(t *testing.T) {
	t.Parallel()
	for want, set := range map[string]func(*server.Config){
		"authorization-mode ABAC's authorization policy file not passed": func(c *server.Config) { c.AuthorizationModes = []string{"ABAC"} },
		"cannot specify --authorization-policy-file without mode ABAC":   func(c *server.Config) { c.AuthorizationPolicyFile = "/p.jsonl" },
	} {
		startRefused(t, want, set)
	}
}
