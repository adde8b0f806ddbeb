package e2e

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"

	"kapi/internal/audit"
	"kapi/internal/server"
)

// auditPolicy audits configmaps of the test's namespace with their
// bodies, its secrets by metadata only (and not when received), /version
// and the test's panicking handler by metadata, and nothing else.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitManagedFields: true
rules:
- level: None
  nonResourceURLs: ["/healthz*", "/livez*", "/readyz*"]
- level: RequestResponse
  namespaces: ["audit-e2e"]
  resources: [{group: "", resources: ["configmaps"]}]
- level: Metadata
  namespaces: ["audit-e2e"]
  resources: [{group: "", resources: ["secrets"]}]
  omitStages: ["RequestReceived"]
- level: Metadata
  nonResourceURLs: ["/version", "/test/*"]
- level: None
`

// TestAudit: after a scripted set of requests, the audit log holds
// exactly the expected events, at the expected levels and stages.
func TestAudit(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "audit.log")
	policyPath := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(policyPath, []byte(auditPolicy), 0o600); err != nil {
		t.Fatal(err)
	}
	// The root CA publisher would write in the audited namespace.
	k := startKapi(t, withoutLoops(rootCAPublisher), func(c *server.Config) {
		c.Audit = audit.DefaultOptions()
		c.Audit.PolicyFile, c.Audit.LogPath = policyPath, logPath
		c.Extra = map[string]http.Handler{"GET /test/panic": http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("test panic") })}
	})

	const ns = "/api/v1/namespaces/audit-e2e"
	steps := []struct {
		id, method, path, body string
		code                   int
		header                 []string
	}{
		{"ns", "POST", "/api/v1/namespaces", `{"metadata":{"name":"audit-e2e"}}`, 201, nil},
		{"cm-create", "POST", ns + "/configmaps", `{"metadata":{"name":"cm1"},"data":{"colour":"blue"}}`, 201, nil},
		{"cm-get", "GET", ns + "/configmaps/cm1", "", 200, nil},
		{"cm-missing", "GET", ns + "/configmaps/missing", "", 404, nil},
		{"cm-watch", "GET", ns + "/configmaps?watch=true&timeoutSeconds=1", "", 200, nil},
		{"secret-create", "POST", ns + "/secrets", `{"metadata":{"name":"s1"},"stringData":{"password":"hunter2-secret"}}`, 201, nil},
		{"secret-delete", "DELETE", ns + "/secrets/s1", "", 200, nil},
		{"healthz", "GET", "/healthz", "", 200, nil},
		{"version", "GET", "/version", "", 200, nil},
		{"impersonate", "GET", ns + "/secrets", "", 403, []string{"Impersonate-User", "alice"}},
		{"panic", "GET", "/test/panic", "", 500, nil},
	}
	for _, s := range steps {
		ct := ""
		if s.body != "" {
			ct = "application/json"
		}
		code, st, body := k.do(t, s.method, s.path, ct, []byte(s.body), append([]string{"Audit-ID", s.id}, s.header...)...)
		if code != s.code {
			t.Fatalf("%s: %s %s: %d %v %s, want %d", s.id, s.method, s.path, code, st, body, s.code)
		}
	}
	// A bad token, with no certificate: refused before the audit filter,
	// and audited as kube's WithFailedAuthenticationAudit does.
	if code, body := k.rawGet(t, ns+"/configmaps", "not-a-token"); code != http.StatusUnauthorized {
		t.Fatalf("bad token: %d %s", code, body)
	}
	k.stop() // flushes the audit log

	raw := readFile(t, logPath)
	if strings.Contains(raw, "hunter2-secret") || strings.Contains(raw, "managedFields") {
		t.Errorf("the log holds a secret's data or managedFields:\n%s", raw)
	}
	var evs []auditv1.Event
	sc := bufio.NewScanner(strings.NewReader(raw))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var ev auditv1.Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("audit log line %s: %v", sc.Text(), err)
		}
		evs = append(evs, ev)
	}

	want := []struct {
		id       string
		level    auditv1.Level
		stages   string
		verb     string
		code     int32
		resource string
		name     string
	}{
		{"cm-create", auditv1.LevelRequestResponse, "RequestReceived ResponseComplete", "create", 201, "configmaps", "cm1"},
		{"cm-get", auditv1.LevelRequestResponse, "RequestReceived ResponseComplete", "get", 200, "configmaps", "cm1"},
		{"cm-missing", auditv1.LevelRequestResponse, "RequestReceived ResponseComplete", "get", 404, "configmaps", "missing"},
		{"cm-watch", auditv1.LevelRequestResponse, "RequestReceived ResponseStarted ResponseComplete", "watch", 200, "configmaps", ""},
		{"secret-create", auditv1.LevelMetadata, "ResponseComplete", "create", 201, "secrets", "s1"},
		{"secret-delete", auditv1.LevelMetadata, "ResponseComplete", "delete", 200, "secrets", "s1"},
		{"version", auditv1.LevelMetadata, "RequestReceived ResponseComplete", "get", 200, "", ""},
		{"impersonate", auditv1.LevelMetadata, "ResponseComplete", "list", 403, "secrets", ""},
		{"panic", auditv1.LevelMetadata, "RequestReceived Panic", "get", 500, "", ""},
	}
	byID := map[string][]auditv1.Event{}
	var refused []auditv1.Event
	for _, ev := range evs {
		if ev.ResponseStatus != nil && ev.ResponseStatus.Code == http.StatusUnauthorized {
			refused = append(refused, ev)
			continue
		}
		byID[string(ev.AuditID)] = append(byID[string(ev.AuditID)], ev)
	}
	if len(refused) != 1 {
		t.Errorf("refused requests audited %d times, want once: %+v", len(refused), refused)
	} else if ev := refused[0]; ev.Stage != auditv1.StageResponseStarted || ev.Level != auditv1.LevelRequestResponse || ev.User.Username != "" ||
		ev.Verb != "list" || ev.ObjectRef == nil || ev.ObjectRef.Resource != "configmaps" || ev.ObjectRef.Namespace != "audit-e2e" ||
		ev.ResponseStatus.Message != "Authentication failed, attempted: bearer" || ev.AuditID == "" {
		t.Errorf("the refused request's event: %+v %+v", ev, ev.ResponseStatus)
	}
	n := len(refused)
	for _, w := range want {
		got := byID[w.id]
		delete(byID, w.id)
		var stages []string
		for _, ev := range got {
			stages = append(stages, string(ev.Stage))
			if ev.Level != w.level || ev.Verb != w.verb || !slices.Contains(ev.User.Groups, "system:masters") {
				t.Errorf("%s %s: level %s, verb %s, user %+v; want %s, %s, an admin", w.id, ev.Stage, ev.Level, ev.Verb, ev.User, w.level, w.verb)
			}
			name := w.name
			if ev.Stage == auditv1.StageRequestReceived && w.verb == "create" {
				name = "" // the body, read later, names it
			}
			if ref := ev.ObjectRef; (w.resource == "") != (ref == nil) || ref != nil && (ref.Resource != w.resource || ref.Namespace != "audit-e2e" || ref.Name != name) {
				t.Errorf("%s %s: objectRef %+v, want %s %q in audit-e2e", w.id, ev.Stage, ref, w.resource, name)
			}
		}
		n += len(got)
		if s := strings.Join(stages, " "); s != w.stages {
			t.Errorf("%s: stages %q, want %q", w.id, s, w.stages)
			continue
		}
		last := got[len(got)-1]
		if last.ResponseStatus == nil || last.ResponseStatus.Code != w.code {
			t.Errorf("%s: responseStatus %+v, want code %d", w.id, last.ResponseStatus, w.code)
		}
		hasBodies := last.RequestObject != nil || last.ResponseObject != nil
		switch w.id {
		case "cm-create":
			if last.RequestObject == nil || !strings.Contains(string(last.RequestObject.Raw), "blue") ||
				last.ResponseObject == nil || !strings.Contains(string(last.ResponseObject.Raw), `"uid"`) {
				t.Errorf("cm-create: objects %s / %s", last.RequestObject, last.ResponseObject)
			}
		case "cm-get":
			if last.RequestObject != nil || last.ResponseObject == nil || !strings.Contains(string(last.ResponseObject.Raw), "blue") {
				t.Errorf("cm-get: objects %s / %s", last.RequestObject, last.ResponseObject)
			}
		case "cm-missing":
			if last.ResponseStatus.Reason != "NotFound" {
				t.Errorf("cm-missing: responseStatus %+v", last.ResponseStatus)
			}
		case "impersonate":
			if last.ImpersonatedUser == nil || last.ImpersonatedUser.Username != "alice" || last.Annotations["authorization.k8s.io/decision"] != "forbid" || hasBodies {
				t.Errorf("impersonate: %+v", last)
			}
		case "panic":
			if last.ResponseStatus.Message != "APIServer panic'd: test panic" {
				t.Errorf("panic: %+v", last.ResponseStatus)
			}
		default:
			if hasBodies {
				t.Errorf("%s: bodies recorded: %s / %s", w.id, last.RequestObject, last.ResponseObject)
			}
		}
		if a := last.Annotations["authorization.k8s.io/decision"]; w.id != "impersonate" && a != "allow" {
			t.Errorf("%s: authorization decision %q", w.id, a)
		}
	}
	if len(byID) > 0 || n != len(evs) {
		t.Errorf("unexpected events: %v", byID)
	}
}
