package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"kapi/internal/server"
)

// authzConfigFile writes an AuthorizationConfiguration.
func authzConfigFile(t *testing.T, doc string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "authz.yaml")
	if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestAuthorizationConfig: --authorization-config chains Node, a
// SubjectAccessReview webhook and RBAC. The webhook allows one verb,
// denies another with its reason (403, RBAC not asked), has no opinion on
// the rest (RBAC decides); its CEL match condition keeps the users of one
// group from it (the webhook never hears of them); with failurePolicy
// Deny a failing webhook refuses, though RBAC would allow. The file is
// reloaded when it changes (a change that drops an authorizer kapi started
// with is refused, and counted). A file kube refuses stops kapi from
// starting, with kube's message.
func TestAuthorizationConfig(t *testing.T) {
	var lists atomic.Int64 // bob's lists of config maps
	var users sync.Map
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var sar authorizationv1.SubjectAccessReview
		json.NewDecoder(r.Body).Decode(&sar)
		users.Store(sar.Spec.User, true)
		ra := sar.Spec.ResourceAttributes
		if sar.Spec.User == "bob" && ra != nil && ra.Verb == "list" {
			lists.Add(1)
		}
		switch {
		case sar.Spec.User == "carol":
			http.Error(w, "the webhook is down", http.StatusInternalServerError)
			return
		case ra == nil:
		case ra.Resource == "secrets" && ra.Verb == "list":
			// Only the team's own, by label.
			if ls := ra.LabelSelector; ls != nil && len(ls.Requirements) == 1 && ls.Requirements[0].Key == "team" &&
				ls.Requirements[0].Operator == metav1.LabelSelectorOpIn && slices.Equal(ls.Requirements[0].Values, []string{"blue"}) {
				sar.Status = authorizationv1.SubjectAccessReviewStatus{Allowed: true}
			}
		case ra.Resource == "configmaps" && ra.Verb == "list":
			sar.Status = authorizationv1.SubjectAccessReviewStatus{Allowed: true}
		case ra.Resource == "configmaps" && ra.Verb == "delete":
			sar.Status = authorizationv1.SubjectAccessReviewStatus{Denied: true, Reason: "no deletes on Fridays"}
		}
		json.NewEncoder(w).Encode(sar)
	}))
	t.Cleanup(srv.Close)
	tokens := filepath.Join(t.TempDir(), "tokens.csv")
	os.WriteFile(tokens, []byte("alice-token,alice,uid-alice,trusted\nbob-token,bob,uid-bob\ncarol-token,carol,uid-carol\n"), 0o600)
	conf := authzConfigFile(t, `apiVersion: apiserver.config.k8s.io/v1
kind: AuthorizationConfiguration
authorizers:
- type: Node
  name: node
- type: Webhook
  name: policy-hook
  webhook:
    timeout: 5s
    subjectAccessReviewVersion: v1
    matchConditionSubjectAccessReviewVersion: v1
    failurePolicy: Deny
    authorizedTTL: 1m
    unauthorizedTTL: 1m
    connectionInfo:
      type: KubeConfigFile
      kubeConfigFile: `+webhookKubeconfig(t, srv, "/sar")+`
    matchConditions:
    - expression: "!('trusted' in request.groups)"
- type: RBAC
  name: rbac
`)
	k := startKapi(t, withoutLoops(rootCAPublisher), func(c *server.Config) {
		c.TokenAuthFile = tokens
		c.AuthorizationConfig = conf
		c.AuthorizationModes = nil
		c.AuthorizationConfigReloadInterval = 100 * time.Millisecond
	})
	ctx := context.Background()
	for _, u := range []string{"alice", "bob", "carol"} {
		if _, err := k.client.RbacV1().RoleBindings("default").Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: u + "-view"},
			RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "view"},
			Subjects: []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "User", Name: u}}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	k.client.CoreV1().ConfigMaps("default").Create(ctx, cm("target", nil), metav1.CreateOptions{})
	bob, alice, carol := k.asToken(t, "bob-token"), k.asToken(t, "alice-token"), k.asToken(t, "carol-token")

	// bob: the webhook allows deleting nothing, with its reason.
	err := bob.CoreV1().ConfigMaps("default").Delete(ctx, "target", metav1.DeleteOptions{})
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `User "bob" cannot delete resource "configmaps" in API group "" in the namespace "default": no deletes on Fridays`) {
		t.Errorf("a delete the webhook denies: %v", err)
	}
	// bob's get: no opinion from the webhook, RBAC's view allows.
	if err := waitUntil(10*time.Second, func() bool {
		_, err := bob.CoreV1().ConfigMaps("default").Get(ctx, "target", metav1.GetOptions{})
		return err == nil
	}); err != nil {
		t.Error("a get the webhook has no opinion on was not left to RBAC")
	}
	// bob's create: no opinion, and RBAC's view does not allow it.
	_, err = bob.CoreV1().ConfigMaps("default").Create(ctx, cm("bobs", nil), metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) {
		t.Errorf("a create neither allows: %v", err)
	}
	// The webhook allows lists; in the cache after the first.
	before := lists.Load()
	for range 3 {
		if _, err := bob.CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{}); err != nil {
			t.Fatalf("a list the webhook allows: %v", err)
		}
	}
	if n := lists.Load() - before; n != 1 {
		t.Errorf("three lists within the TTL asked the webhook %d times, want 1", n)
	}

	// The webhook is sent the list's label selector.
	if _, err := bob.CoreV1().Secrets("default").List(ctx, metav1.ListOptions{LabelSelector: "team=blue"}); err != nil {
		t.Errorf("a list of secrets with the selector the webhook allows: %v", err)
	}
	if _, err := bob.CoreV1().Secrets("default").List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("a list of secrets without it: %v", err)
	}

	// alice is trusted: the match condition keeps her from the webhook,
	// RBAC decides alone (her delete is refused by RBAC, not the hook).
	if _, err := alice.CoreV1().ConfigMaps("default").Get(ctx, "target", metav1.GetOptions{}); err != nil {
		t.Errorf("alice's get: %v", err)
	}
	err = alice.CoreV1().ConfigMaps("default").Delete(ctx, "target", metav1.DeleteOptions{})
	if !apierrors.IsForbidden(err) || strings.Contains(err.Error(), "Fridays") {
		t.Errorf("alice's delete: %v", err)
	}
	if _, asked := users.Load("alice"); asked {
		t.Error("the webhook was asked about a user its match condition excludes")
	}

	// carol: the webhook fails, failurePolicy Deny refuses what RBAC
	// would allow.
	if _, err := carol.CoreV1().ConfigMaps("default").Get(ctx, "target", metav1.GetOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("a get while the webhook fails, with failurePolicy Deny: %v", err)
	}

	// The file is reloaded when it changes. One that drops the Node
	// authorizer kapi started with is refused (counted in kube's metric),
	// and the chain in use stays.
	reloads := func(status string) float64 {
		raw, err := k.client.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return metricValue(string(raw), "apiserver_authorization_config_controller_automatic_reloads_total", `status="`+status+`"`)
	}
	failures := reloads("failure")
	os.WriteFile(conf, []byte("apiVersion: apiserver.config.k8s.io/v1\nkind: AuthorizationConfiguration\nauthorizers:\n- {type: RBAC, name: rbac}\n"), 0o600)
	if err := waitUntil(30*time.Second, func() bool { return reloads("failure") > failures }); err != nil {
		t.Fatal("a file without the Node authorizer was not refused")
	}
	if err := bob.CoreV1().ConfigMaps("default").Delete(ctx, "target", metav1.DeleteOptions{}); !strings.Contains(fmt.Sprint(err), "Fridays") {
		t.Errorf("after a refused reload, the webhook no longer decides: %v", err)
	}
	// One that keeps Node and RBAC and ends with AlwaysAllow takes
	// effect: bob may create.
	os.WriteFile(conf, []byte("apiVersion: apiserver.config.k8s.io/v1\nkind: AuthorizationConfiguration\nauthorizers:\n- {type: Node, name: node}\n- {type: RBAC, name: rbac}\n- {type: AlwaysAllow, name: alwaysallow}\n"), 0o600)
	if err := waitUntil(30*time.Second, func() bool {
		_, err := bob.CoreV1().ConfigMaps("default").Create(ctx, cm("after-reload", nil), metav1.CreateOptions{})
		return err == nil
	}); err != nil {
		t.Error("the reloaded file did not take effect")
	}
	if n := reloads("success"); n < 1 {
		t.Errorf("successful reloads counted: %v", n)
	}

	// Files kube refuses.
	for _, c := range []struct{ doc, want string }{
		{"apiVersion: apiserver.config.k8s.io/v1\nkind: AuthorizationConfiguration\nauthorizers:\n- type: RBAC\n  name: my-rbac\n",
			"expected name rbac for authorizer RBAC instead of my-rbac"},
		{"apiVersion: apiserver.config.k8s.io/v1\nkind: AuthorizationConfiguration\nauthorizers:\n- type: Webhook\n  name: w\n  webhook: {timeout: 5s, subjectAccessReviewVersion: v1, failurePolicy: Deny, authorizedTTL: 1m, unauthorizedTTL: 1m, connectionInfo: {type: InClusterConfig}, matchConditions: [{expression: 'request.user =='}]}\n",
			"matchConditionSubjectAccessReviewVersion: Required value"},
		{"apiVersion: apiserver.config.k8s.io/v1\nkind: AuthorizationConfiguration\nauthorizers: []\n",
			"authorizers: Required value: at least one authorization mode must be defined"},
	} {
		file := authzConfigFile(t, c.doc)
		startRefused(t, c.want, func(cfg *server.Config) { cfg.AuthorizationConfig = file })
	}
}

// metricValue sums the samples of name in a /metrics text whose labels
// hold label (0 when none).
func metricValue(text, name, label string) float64 {
	var sum float64
	for _, line := range strings.Split(text, "\n") {
		rest, ok := strings.CutPrefix(line, name+"{")
		if !ok {
			continue
		}
		labels, value, ok := strings.Cut(rest, "} ")
		if !ok || !strings.Contains(labels, label) {
			continue
		}
		v, _ := strconv.ParseFloat(value, 64)
		sum += v
	}
	return sum
}
