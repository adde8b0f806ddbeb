package e2e

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"kapi/internal/audit"
	"kapi/internal/server"
)

// TestAuditWebhookBlockingStrict: with --audit-webhook-mode=blocking-strict
// a request whose first audit event the webhook does not take is refused
// with kube's plain-text 500; one the policy does not audit is served; and
// once the webhook takes events, the request is served and its event has
// reached the webhook before the answer.
func TestAuditWebhookBlockingStrict(t *testing.T) {
	t.Parallel()
	var up atomic.Bool
	var events atomic.Int32
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !up.Load() {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		events.Add(1)
	}))
	t.Cleanup(hook.Close)
	dir := t.TempDir()
	policy := filepath.Join(dir, "policy.yaml")
	kubeconfig := filepath.Join(dir, "audit.kubeconfig")
	os.WriteFile(policy, []byte("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n  namespaces: [\"strict\"]\n- level: None\n"), 0o600)
	os.WriteFile(kubeconfig, []byte("apiVersion: v1\nkind: Config\nclusters:\n- name: audit\n  cluster:\n    server: "+hook.URL+
		"/audit\ncontexts:\n- name: audit\n  context: {cluster: audit, user: kapi}\ncurrent-context: audit\nusers:\n- name: kapi\n  user: {}\n"), 0o600)
	k := startKapi(t, func(c *server.Config) {
		c.Audit = audit.DefaultOptions()
		c.Audit.PolicyFile, c.Audit.WebhookConfigFile, c.Audit.WebhookMode = policy, kubeconfig, audit.ModeBlockingStrict
		c.Audit.WebhookInitialBackoff = 1
	})
	admin, err := tls.LoadX509KeyPair(k.srv.PKI.AdminCert, k.srv.PKI.AdminKey)
	if err != nil {
		t.Fatal(err)
	}
	const path = "/api/v1/namespaces/strict/configmaps"
	if code, body := k.rawGet(t, path, "", admin); code != http.StatusInternalServerError || body != "Internal Server Error: \"/api/v1/namespaces/strict/configmaps\": failed to store audit event\n" {
		t.Errorf("a request whose event the webhook refused: %d %q", code, body)
	}
	if code, body := k.rawGet(t, "/api/v1/namespaces/default/configmaps", "", admin); code != http.StatusOK {
		t.Errorf("a request not audited: %d %s", code, body)
	}
	up.Store(true)
	if code, body := k.rawGet(t, path, "", admin); code != http.StatusOK || events.Load() == 0 {
		t.Errorf("with the webhook up: %d %s, %d events delivered before the answer", code, body, events.Load())
	}
}
