package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"

	"kapi/internal/audit"
	"kapi/internal/server"
)

// TestProxyKubectl: `kubectl proxy` in front of kapi, then plain HTTP
// to a service through it (as people reach a dashboard), and `kubectl
// get --raw` of a service's proxy path.
func TestProxyKubectl(t *testing.T) {
	k := startKapi(t, allowLoopback, withoutLoops(rootCAPublisher))
	_, port := loopbackServer(t, http.HandlerFunc(echoBackend), false)
	exposeService(t, k, "default", "web", map[string][2]int32{"http": {80, port}})

	out := k.mustKubectl("", "get", "--raw", "/api/v1/namespaces/default/services/web:80/proxy/raw?x=1")
	if !strings.HasPrefix(out, "GET /raw?x=1 body= auth=\"\"") {
		t.Errorf("kubectl get --raw through the proxy: %s", out)
	}

	proxyURL := startKubectlProxy(t, k)
	for path, want := range map[string]string{
		"/api/v1/namespaces/default/services/web:http/proxy/":                 "GET /? body=",
		"/api/v1/namespaces/default/services/http:web:80/proxy/dash/a.js?v=2": "GET /dash/a.js?v=2 body=",
	} {
		resp, err := http.Get(proxyURL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(string(b), want) {
			t.Errorf("through kubectl proxy %s: %d %s", path, resp.StatusCode, b)
		}
	}
}

// TestProxyAudit: a proxied request is audited as kube audits connect
// requests: verb and subresource, the response code, and no request or
// response body even at RequestResponse level.
func TestProxyAudit(t *testing.T) {
	dir := t.TempDir()
	logPath, policyPath := filepath.Join(dir, "audit.log"), filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(policyPath, []byte("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: RequestResponse\n  resources: [{group: \"\", resources: [\"services/proxy\"]}]\n- level: None\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	k := startKapi(t, allowLoopback, withoutLoops(rootCAPublisher), func(c *server.Config) {
		c.Audit = audit.DefaultOptions()
		c.Audit.PolicyFile, c.Audit.LogPath = policyPath, logPath
	})
	_, port := loopbackServer(t, http.HandlerFunc(echoBackend), false)
	exposeService(t, k, "default", "web", map[string][2]int32{"": {80, port}})
	code, _, body := proxyDo(t, k.rest, k.srv.URL, "POST", "/api/v1/namespaces/default/services/web/proxy/submit", "secret-payload", "Audit-ID", "proxy-post")
	if code != 200 || !strings.Contains(body, "body=secret-payload") {
		t.Fatalf("POST through the proxy: %d %s", code, body)
	}
	k.stop()
	raw := readFile(t, logPath)
	if strings.Contains(raw, "secret-payload") {
		t.Errorf("the audit log holds the proxied body:\n%s", raw)
	}
	var stages []string
	for _, line := range strings.Split(strings.TrimSpace(raw), "\n") {
		var ev auditv1.Event
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.AuditID != "proxy-post" {
			continue
		}
		stages = append(stages, string(ev.Stage))
		if ev.Verb != "create" || ev.ObjectRef == nil || ev.ObjectRef.Resource != "services" || ev.ObjectRef.Subresource != "proxy" || ev.ObjectRef.Name != "web" {
			t.Errorf("audit event: %s", line)
		}
		if ev.Stage == auditv1.StageResponseComplete && (ev.ResponseStatus == nil || ev.ResponseStatus.Code != 200 || ev.RequestObject != nil || ev.ResponseObject != nil) {
			t.Errorf("audit event at ResponseComplete: %s", line)
		}
	}
	if strings.Join(stages, " ") != "RequestReceived ResponseStarted ResponseComplete" {
		t.Errorf("audit stages of the proxied request: %v\n%s", stages, raw)
	}
}
