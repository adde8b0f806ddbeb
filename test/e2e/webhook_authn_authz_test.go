package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"kapi/internal/server"
)

// webhookKubeconfig is a kubeconfig naming url, trusting the test
// server's certificate, as kube's webhook config files are written.
func webhookKubeconfig(t *testing.T, srv *httptest.Server, path string) string {
	t.Helper()
	ca := base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))
	file := filepath.Join(t.TempDir(), "webhook.kubeconfig")
	os.WriteFile(file, []byte(`apiVersion: v1
kind: Config
clusters:
- name: hook
  cluster:
    server: `+srv.URL+path+`
    certificate-authority-data: `+ca+`
users:
- name: kapi
contexts:
- name: hook
  context: {cluster: hook, user: kapi}
current-context: hook
`), 0o600)
	return file
}

// TestWebhookAuthnAuthz: a TokenReview webhook authenticates the tokens
// it knows (the others are 401), its answers cached for the TTL; with
// --authorization-mode=Webhook,RBAC a SubjectAccessReview webhook allows,
// denies with its reason (403, RBAC not asked), or has no opinion and RBAC
// decides; its answers are cached too.
func TestWebhookAuthnAuthz(t *testing.T) {
	var authnCalls, authzCalls atomic.Int64
	var audiences atomic.Value // of the last TokenReview
	mux := http.NewServeMux()
	mux.HandleFunc("/authn", func(w http.ResponseWriter, r *http.Request) {
		var tr authenticationv1.TokenReview
		json.NewDecoder(r.Body).Decode(&tr)
		audiences.Store(strings.Join(tr.Spec.Audiences, ","))
		if tr.Spec.Token == "hook-token" {
			authnCalls.Add(1)
		}
		tr.Status = authenticationv1.TokenReviewStatus{}
		if tr.Spec.Token == "hook-token" {
			tr.Status = authenticationv1.TokenReviewStatus{Authenticated: true,
				User: authenticationv1.UserInfo{Username: "hooked", UID: "h-1", Groups: []string{"hook-group"}}}
		}
		json.NewEncoder(w).Encode(tr)
	})
	mux.HandleFunc("/authz", func(w http.ResponseWriter, r *http.Request) {
		var sar authorizationv1.SubjectAccessReview
		json.NewDecoder(r.Body).Decode(&sar)
		if sar.Spec.User == "hooked" { // kapi's own loops are asked about too
			authzCalls.Add(1)
		}
		ra := sar.Spec.ResourceAttributes
		switch {
		case sar.Spec.User != "hooked" || ra == nil:
		case ra.Resource == "configmaps" && ra.Verb == "list":
			sar.Status = authorizationv1.SubjectAccessReviewStatus{Allowed: true, Reason: "lists are fine"}
		case ra.Resource == "configmaps" && ra.Verb == "delete":
			sar.Status = authorizationv1.SubjectAccessReviewStatus{Denied: true, Reason: "deletes are off"}
		}
		json.NewEncoder(w).Encode(sar)
	})
	srv := httptest.NewTLSServer(mux)
	t.Cleanup(srv.Close)
	k := startKapi(t, withoutLoops(rootCAPublisher), func(c *server.Config) {
		c.AuthenticationTokenWebhookConfigFile = webhookKubeconfig(t, srv, "/authn")
		c.AuthenticationTokenWebhookVersion = "v1"
		c.AuthorizationWebhookConfigFile = webhookKubeconfig(t, srv, "/authz")
		c.AuthorizationWebhookVersion = "v1"
		c.AuthorizationModes = []string{"Webhook", "RBAC"}
	})
	ctx := context.Background()

	if code, body := k.rawGet(t, "/api/v1/namespaces/default/configmaps", "stranger-token"); code != http.StatusUnauthorized {
		t.Errorf("a token the webhook does not know: %d %s", code, body)
	}
	hooked := k.asToken(t, "hook-token")
	who := whoami(t, hooked)
	if who.Username != "hooked" || who.UID != "h-1" || !strings.Contains(strings.Join(who.Groups, ","), "hook-group") {
		t.Fatalf("the webhook's user: %+v", who)
	}
	// kubectl with the webhook's token.
	out, err := k.kubectlWith(k.tokenKubeconfig(t, "hook-token"), "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}")
	if err != nil || out != "hooked" {
		t.Errorf("kubectl auth whoami: %q %v", out, err)
	}
	if got := audiences.Load(); got != server.DefaultIssuer {
		t.Errorf("the TokenReview's audiences: %v, want kapi's API audiences (%s)", got, server.DefaultIssuer)
	}
	before := authnCalls.Load()
	for range 3 {
		whoami(t, hooked)
	}
	if n := authnCalls.Load() - before; n != 0 {
		t.Errorf("the token webhook was asked %d more times within its cache TTL", n)
	}

	// kube's metrics of the token cache and of the webhook's decisions.
	raw, err := k.client.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if metricValue(string(raw), "authentication_token_cache_request_total", `status="hit"`) < 3 {
		t.Errorf("the token cache's hits are not counted")
	}

	// Allowed by the webhook, and cached.
	for range 3 {
		if _, err := hooked.CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{}); err != nil {
			t.Fatalf("a list the webhook allows: %v", err)
		}
	}
	// Denied by the webhook: RBAC, which would allow it, is not asked.
	if _, err := k.client.RbacV1().RoleBindings("default").Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "hooked-edit"},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "edit"},
		Subjects: []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "User", Name: "hooked"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	k.client.CoreV1().ConfigMaps("default").Create(ctx, cm("victim", nil), metav1.CreateOptions{})
	err = hooked.CoreV1().ConfigMaps("default").Delete(ctx, "victim", metav1.DeleteOptions{})
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "deletes are off") {
		t.Errorf("a delete the webhook denies: %v", err)
	}
	// No opinion: RBAC decides (edit allows a get).
	if err := waitUntil(10*time.Second, func() bool {
		_, err := hooked.CoreV1().ConfigMaps("default").Get(ctx, "victim", metav1.GetOptions{})
		return err == nil
	}); err != nil {
		t.Error("a get the webhook has no opinion on was not left to RBAC")
	}
	calls := authzCalls.Load()
	for range 3 {
		hooked.CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{})
	}
	if n := authzCalls.Load() - calls; n != 0 {
		t.Errorf("the authorization webhook was asked %d more times within its cache TTL", n)
	}
	raw, err = k.client.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if metricValue(string(raw), "apiserver_authorization_webhook_evaluations_total", `name="webhook",result="success"`) < 1 {
		t.Errorf("the authorization webhook's evaluations are not counted")
	}
}
