package filters

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"

	"kapi/internal/audit"
	"kapi/internal/metrics"
	"kapi/internal/request"
)

const auditTestPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitManagedFields: true
rules:
- level: None
  users: ["system:kube-proxy"]
- level: RequestResponse
  resources: [{group: "", resources: ["configmaps"]}]
- level: Request
  resources: [{group: "", resources: ["secrets"]}]
  omitManagedFields: false
- level: Metadata
`

// newTestAuditor starts an auditor logging to a file; events reads the
// log after a shutdown.
func newTestAuditor(t *testing.T, policy string) (a *audit.Auditor, events func() []auditv1.Event) {
	t.Helper()
	dir := t.TempDir()
	o := audit.DefaultOptions()
	o.PolicyFile, o.LogPath = filepath.Join(dir, "policy.yaml"), filepath.Join(dir, "audit.log")
	if err := os.WriteFile(o.PolicyFile, []byte(policy), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := audit.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return a, func() []auditv1.Event {
		t.Helper()
		if err := a.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(o.LogPath)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		var evs []auditv1.Event
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var ev auditv1.Event
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				t.Fatalf("line %s: %v", sc.Text(), err)
			}
			evs = append(evs, ev)
		}
		return evs
	}
}

// auditServe runs r, from user, through the audit filter (behind request
// info and a log line, as in the chain) to h.
func auditServe(a *audit.Auditor, user *request.User, r *http.Request, h http.HandlerFunc) (*httptest.ResponseRecorder, *request.Log) {
	l := &request.Log{}
	ctx := request.WithLog(r.Context(), l)
	ctx = request.WithInfo(ctx, request.Parse(r))
	if user != nil {
		ctx = request.WithUser(ctx, user)
	}
	w := httptest.NewRecorder()
	Audit(a)(h).ServeHTTP(w, r.WithContext(ctx))
	return w, l
}

func stagesOf(evs []auditv1.Event, id string) []string {
	var s []string
	for _, ev := range evs {
		if string(ev.AuditID) == id {
			s = append(s, string(ev.Stage))
		}
	}
	return s
}

func eventOf(t *testing.T, evs []auditv1.Event, id string, stage auditv1.Stage) auditv1.Event {
	t.Helper()
	for _, ev := range evs {
		if string(ev.AuditID) == id && ev.Stage == stage {
			return ev
		}
	}
	t.Fatalf("no %s event for %s", stage, id)
	return auditv1.Event{}
}

// TestAuditLevels: what each level records, request by request.
func TestAuditLevels(t *testing.T) {
	a, events := newTestAuditor(t, auditTestPolicy)
	alice := &request.User{Name: "alice", UID: "u1", Groups: []string{"devs", request.AllAuthenticated}, Extra: map[string][]string{"scopes": {"a"}}}
	ids := map[string]string{}
	do := func(name string, user *request.User, method, url, body string, h http.HandlerFunc) (*httptest.ResponseRecorder, *request.Log) {
		r := httptest.NewRequest(method, url, strings.NewReader(body))
		if body != "" {
			r.Header.Set("Content-Type", "application/json")
		}
		r.Header.Set("User-Agent", "test/1.0")
		r.Header.Set("X-Forwarded-For", "10.0.0.1")
		w, l := auditServe(a, user, r, h)
		ids[name] = w.Header().Get("Audit-Id")
		if ids[name] == "" {
			t.Errorf("%s: no Audit-Id header", name)
		}
		return w, l
	}
	managed := `"managedFields":[{"manager":"kubectl"}]`
	echo := func(code int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			var obj map[string]any
			json.NewDecoder(r.Body).Decode(&obj)
			md, _ := obj["metadata"].(map[string]any)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(code)
			fmt.Fprintf(w, `{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":%q,"uid":"x1",%s}}`, md["name"], managed)
		}
	}
	_, l := do("create configmap", alice, "POST", "/api/v1/namespaces/ns1/configmaps",
		`{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"c1",`+managed+`}}`, echo(201))
	if f := l.Fields(); len(f) < 2 || f[0] != "audit" || f[1] != "RequestResponse" {
		t.Errorf("log line fields %v", f)
	}
	do("create secret", alice, "POST", "/api/v1/namespaces/ns1/secrets",
		`{"kind":"Secret","apiVersion":"v1","metadata":{"name":"s1",`+managed+`}}`, echo(201))
	do("update pod", alice, "PUT", "/api/v1/namespaces/ns1/pods/p1",
		`{"kind":"Pod","apiVersion":"v1","metadata":{"name":"p1","uid":"u-p1","resourceVersion":"42"}}`, echo(200))
	do("get missing pod", alice, "GET", "/api/v1/namespaces/ns1/pods/nope", "", func(w http.ResponseWriter, r *http.Request) {
		writeStatus(w, r, 404, "NotFound", `pods "nope" not found`)
	})
	_, l = do("kube-proxy", &request.User{Name: "system:kube-proxy"}, "GET", "/api/v1/services", "", echo(200))
	if f := l.Fields(); len(f) != 2 || f[1] != "None" {
		t.Errorf("log line fields %v", f)
	}
	do("nothing written", alice, "GET", "/healthz", "", func(http.ResponseWriter, *http.Request) {})
	do("later filters", alice, "GET", "/api/v1/namespaces/ns1/pods", "", func(w http.ResponseWriter, r *http.Request) {
		audit.SetImpersonatedUser(r.Context(), &request.User{Name: "bob", Groups: []string{"ops"}}, "impersonate:user-info")
		audit.AddAnnotation(r.Context(), "authorization.k8s.io/decision", "allow")
		audit.AddAnnotation(r.Context(), "authorization.k8s.io/decision", "forbid") // the first value stays
	})

	evs := events()
	wantStages := map[string]string{
		"create configmap": "RequestReceived ResponseComplete",
		"create secret":    "RequestReceived ResponseComplete",
		"update pod":       "RequestReceived ResponseComplete",
		"get missing pod":  "RequestReceived ResponseComplete",
		"kube-proxy":       "",
		"nothing written":  "RequestReceived ResponseComplete",
		"later filters":    "RequestReceived ResponseComplete",
	}
	for name, want := range wantStages {
		if got := strings.Join(stagesOf(evs, ids[name]), " "); got != want {
			t.Errorf("%s: stages %q, want %q", name, got, want)
		}
	}

	// RequestResponse: both objects, without managedFields.
	rr := eventOf(t, evs, ids["create configmap"], auditv1.StageResponseComplete)
	if rr.Level != auditv1.LevelRequestResponse || rr.Verb != "create" || rr.RequestURI != "/api/v1/namespaces/ns1/configmaps" ||
		rr.User.Username != "alice" || rr.User.UID != "u1" || len(rr.User.Groups) != 2 || rr.User.Extra["scopes"][0] != "a" ||
		rr.UserAgent != "test/1.0" || len(rr.SourceIPs) != 2 || rr.SourceIPs[0] != "10.0.0.1" ||
		rr.ResponseStatus == nil || rr.ResponseStatus.Code != 201 || rr.ImpersonatedUser != nil {
		t.Errorf("create configmap: %+v", rr)
	}
	if ref := rr.ObjectRef; ref == nil || *ref != (auditv1.ObjectReference{Resource: "configmaps", Namespace: "ns1", Name: "c1", APIVersion: "v1"}) {
		t.Errorf("create configmap: objectRef %+v", ref)
	}
	if rr.RequestObject == nil || rr.ResponseObject == nil ||
		strings.Contains(string(rr.RequestObject.Raw), "managedFields") || strings.Contains(string(rr.ResponseObject.Raw), "managedFields") ||
		!strings.Contains(string(rr.ResponseObject.Raw), `"uid":"x1"`) {
		t.Errorf("create configmap: objects %v %v", rr.RequestObject, rr.ResponseObject)
	}
	received := eventOf(t, evs, ids["create configmap"], auditv1.StageRequestReceived)
	if received.RequestObject != nil || received.ResponseStatus != nil || !received.StageTimestamp.Equal(&received.RequestReceivedTimestamp) {
		t.Errorf("RequestReceived: %+v", received)
	}
	if rr.RequestReceivedTimestamp != received.RequestReceivedTimestamp || rr.StageTimestamp.Before(&rr.RequestReceivedTimestamp) {
		t.Errorf("timestamps %v %v", rr.RequestReceivedTimestamp, rr.StageTimestamp)
	}

	// Request: the request object (the rule keeps managedFields), not the response.
	req := eventOf(t, evs, ids["create secret"], auditv1.StageResponseComplete)
	if req.Level != auditv1.LevelRequest || req.RequestObject == nil || !strings.Contains(string(req.RequestObject.Raw), "managedFields") || req.ResponseObject != nil {
		t.Errorf("create secret: %+v", req)
	}

	// Metadata: no objects, but the object's name, uid and resourceVersion.
	md := eventOf(t, evs, ids["update pod"], auditv1.StageResponseComplete)
	if md.Level != auditv1.LevelMetadata || md.RequestObject != nil || md.ResponseObject != nil ||
		md.ObjectRef.Name != "p1" || md.ObjectRef.UID != "u-p1" || md.ObjectRef.ResourceVersion != "42" || md.ResponseStatus.Code != 200 {
		t.Errorf("update pod: %+v %+v", md, md.ObjectRef)
	}

	// A Status answer is the responseStatus.
	nf := eventOf(t, evs, ids["get missing pod"], auditv1.StageResponseComplete)
	if st := nf.ResponseStatus; st == nil || st.Code != 404 || st.Reason != "NotFound" || st.Message != `pods "nope" not found` || st.Status != "Failure" {
		t.Errorf("get missing pod: %+v", nf.ResponseStatus)
	}

	nw := eventOf(t, evs, ids["nothing written"], auditv1.StageResponseComplete)
	if nw.ObjectRef != nil || nw.Verb != "get" || nw.ResponseStatus.Code != 200 || nw.ResponseStatus.Message != "Connection closed early" {
		t.Errorf("nothing written: %+v", nw)
	}

	lf := eventOf(t, evs, ids["later filters"], auditv1.StageResponseComplete)
	if lf.ImpersonatedUser == nil || lf.ImpersonatedUser.Username != "bob" || lf.ImpersonatedUser.Groups[0] != "ops" ||
		lf.Annotations["authorization.k8s.io/decision"] != "allow" || lf.User.Username != "alice" ||
		lf.AuthenticationMetadata == nil || lf.AuthenticationMetadata.ImpersonationConstraint != "impersonate:user-info" {
		t.Errorf("later filters: %+v", lf)
	}
	if lr := eventOf(t, evs, ids["later filters"], auditv1.StageRequestReceived); lr.ImpersonatedUser != nil || lr.Annotations != nil {
		t.Errorf("RequestReceived knows what later filters add: %+v", lr)
	}
}

// TestAuditStages: watches have a ResponseStarted stage and no body
// captured; a panic is the Panic stage and goes on; omitStages leave
// stages out; the client's Audit-ID is used.
func TestAuditStages(t *testing.T) {
	a, events := newTestAuditor(t, auditTestPolicy)
	alice := &request.User{Name: "alice"}

	r := httptest.NewRequest("GET", "/api/v1/namespaces/ns1/configmaps?watch=true", nil)
	r.Header.Set("Audit-ID", "watch-1")
	w, _ := auditServe(a, alice, r, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		fmt.Fprintln(w, `{"type":"ADDED","object":{"kind":"ConfigMap"}}`)
	})
	if w.Header().Get("Audit-Id") != "watch-1" {
		t.Errorf("Audit-Id %q, want the client's", w.Header().Get("Audit-Id"))
	}
	if !w.Flushed {
		t.Error("the watch was not flushed")
	}

	func() {
		defer func() {
			if v := recover(); v != "boom" {
				t.Errorf("recovered %v, want the panic to go on", v)
			}
		}()
		r := httptest.NewRequest("POST", "/api/v1/namespaces/ns1/configmaps", strings.NewReader(`{"metadata":{"name":"c"}}`))
		r.Header.Set("Audit-ID", "panic-1")
		auditServe(a, alice, r, func(w http.ResponseWriter, r *http.Request) {
			json.NewDecoder(r.Body).Decode(&map[string]any{})
			panic("boom")
		})
	}()

	evs := events()
	if got := strings.Join(stagesOf(evs, "watch-1"), " "); got != "RequestReceived ResponseStarted ResponseComplete" {
		t.Errorf("watch stages %q", got)
	}
	for _, ev := range evs {
		if ev.AuditID == "watch-1" && (ev.ResponseObject != nil || ev.Level != auditv1.LevelRequestResponse || ev.Verb != "watch") {
			t.Errorf("watch event %+v", ev)
		}
	}
	if st := eventOf(t, evs, "watch-1", auditv1.StageResponseStarted).ResponseStatus; st == nil || st.Code != 200 {
		t.Errorf("ResponseStarted status %+v", st)
	}
	if got := strings.Join(stagesOf(evs, "panic-1"), " "); got != "RequestReceived Panic" {
		t.Errorf("panic stages %q", got)
	}
	p := eventOf(t, evs, "panic-1", auditv1.StagePanic)
	if st := p.ResponseStatus; st == nil || st.Code != 500 || st.Reason != "InternalError" || st.Message != "APIServer panic'd: boom" || p.RequestObject == nil {
		t.Errorf("panic event %+v", p)
	}

	// omitStages, policy-wide and per rule.
	a, events = newTestAuditor(t, `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
  verbs: [watch]
  omitStages: [ResponseComplete]
- level: Metadata
`)
	r = httptest.NewRequest("GET", "/api/v1/pods?watch=1", nil)
	r.Header.Set("Audit-ID", "watch-2")
	auditServe(a, alice, r, func(w http.ResponseWriter, r *http.Request) {})
	r = httptest.NewRequest("GET", "/api/v1/pods", nil)
	r.Header.Set("Audit-ID", "list-2")
	auditServe(a, alice, r, func(w http.ResponseWriter, r *http.Request) {})
	evs = events()
	if got := strings.Join(stagesOf(evs, "watch-2"), " "); got != "ResponseStarted" {
		t.Errorf("watch stages with omitStages %q", got)
	}
	if got := strings.Join(stagesOf(evs, "list-2"), " "); got != "ResponseComplete" {
		t.Errorf("list stages with omitStages %q", got)
	}
}

// TestAuditFailedAuthentication: a 401 is one ResponseStarted event
// without a user, naming the credentials tried.
func TestAuditFailedAuthentication(t *testing.T) {
	a, events := newTestAuditor(t, auditTestPolicy)
	failed := AuditFailedAuthentication(a)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeStatus(w, r, http.StatusUnauthorized, "Unauthorized", "Unauthorized")
	}))
	r := httptest.NewRequest("GET", "/api/v1/namespaces/ns1/pods", nil)
	r.Header.Set("Authorization", "Bearer nope")
	r.Header.Set("Audit-ID", "authn-1")
	w := httptest.NewRecorder()
	failed.ServeHTTP(w, r.WithContext(request.WithInfo(r.Context(), request.Parse(r))))
	if w.Code != 401 || w.Header().Get("Audit-Id") != "authn-1" {
		t.Errorf("got %d %v", w.Code, w.Header())
	}
	evs := events()
	if len(evs) != 1 {
		t.Fatalf("events %+v", evs)
	}
	ev := evs[0]
	if ev.Stage != auditv1.StageResponseStarted || ev.Level != auditv1.LevelMetadata || ev.User.Username != "" || ev.ObjectRef.Resource != "pods" ||
		ev.ResponseStatus.Code != 401 || ev.ResponseStatus.Message != "Authentication failed, attempted: bearer" {
		t.Errorf("event %+v %+v", ev, ev.ResponseStatus)
	}
}

// TestAuditOff: a nil auditor passes requests through, with an Audit-Id;
// the context helpers do nothing.
func TestAuditOff(t *testing.T) {
	w, l := auditServe(nil, nil, httptest.NewRequest("GET", "/api/v1/pods", nil), func(w http.ResponseWriter, r *http.Request) {
		audit.AddAnnotation(r.Context(), "k", "v")
		audit.SetImpersonatedUser(r.Context(), &request.User{Name: "x"}, "")
		w.WriteHeader(204)
	})
	if w.Code != 204 || w.Header().Get("Audit-Id") == "" || len(l.Fields()) != 0 {
		t.Errorf("got %d %v %v", w.Code, w.Header(), l.Fields())
	}
	if a, err := audit.New(audit.DefaultOptions()); a != nil || err != nil {
		t.Errorf("New without a policy: %v %v", a, err)
	}
}

// TestAuditBlockedSink: a webhook that never answers slows no request
// down; the events that do not fit the buffer are dropped and counted.
func TestAuditBlockedSink(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(block)
	dir := t.TempDir()
	o := audit.DefaultOptions()
	o.PolicyFile, o.WebhookConfigFile = filepath.Join(dir, "policy.yaml"), filepath.Join(dir, "webhook.kubeconfig")
	o.WebhookBatchBufferSize, o.WebhookBatchMaxSize = 10, 1
	os.WriteFile(o.PolicyFile, []byte(auditTestPolicy), 0o600)
	os.WriteFile(o.WebhookConfigFile, []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: %q}}]
contexts: [{name: c, context: {cluster: c}}]
current-context: c
`, srv.URL)), 0o600)
	a, err := audit.New(o)
	if err != nil {
		t.Fatal(err)
	}
	dropped0 := auditCounter(t, "apiserver_audit_event_dropped_total")

	const n = 100
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := httptest.NewRequest("GET", fmt.Sprintf("/api/v1/namespaces/ns/pods/p%d", i), nil)
			w, _ := auditServe(a, &request.User{Name: "alice"}, r, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("{}")) })
			if w.Code != 200 {
				t.Errorf("request %d: %d", i, w.Code)
			}
		}()
	}
	wg.Wait() // would hang if a request waited for the sink
	if dropped := auditCounter(t, "apiserver_audit_event_dropped_total") - dropped0; dropped < 2*n-50 {
		t.Errorf("dropped %v of %d events", dropped, 2*n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	a.Shutdown(ctx)
}

func auditCounter(t *testing.T, name string) float64 {
	t.Helper()
	mfs, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}
