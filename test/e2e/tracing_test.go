package e2e

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"kapi/internal/server"
)

// otlpReceiver is an OTLP gRPC trace collector for the tests: it keeps
// every span exported to it, with its resource's service name.
type otlpReceiver struct {
	collectortrace.UnimplementedTraceServiceServer
	addr  string
	mu    sync.Mutex
	spans []*receivedSpan
}

type receivedSpan struct {
	*tracepb.Span
	service string
}

func newOTLPReceiver(t *testing.T) *otlpReceiver {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &otlpReceiver{addr: ln.Addr().String()}
	g := grpc.NewServer()
	collectortrace.RegisterTraceServiceServer(g, r)
	go g.Serve(ln)
	t.Cleanup(g.Stop)
	return r
}

func (r *otlpReceiver) Export(_ context.Context, req *collectortrace.ExportTraceServiceRequest) (*collectortrace.ExportTraceServiceResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rs := range req.ResourceSpans {
		service := attr(rs.GetResource().GetAttributes(), "service.name")
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				r.spans = append(r.spans, &receivedSpan{Span: s, service: service})
			}
		}
	}
	return &collectortrace.ExportTraceServiceResponse{}, nil
}

func (r *otlpReceiver) all() []*receivedSpan {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*receivedSpan(nil), r.spans...)
}

// attr is the string value of the attribute key.
func attr(kvs []*commonpb.KeyValue, key string) string {
	for _, kv := range kvs {
		if kv.Key == key {
			return kv.Value.GetStringValue()
		}
	}
	return ""
}

// tracingConfig writes a TracingConfiguration sampling every request to
// the receiver.
func tracingConfig(t *testing.T, r *otlpReceiver) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tracing.yaml")
	doc := fmt.Sprintf("apiVersion: apiserver.config.k8s.io/v1\nkind: TracingConfiguration\nendpoint: %s\nsamplingRatePerMillion: 1000000\n", r.addr)
	if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestTracing: with --tracing-config-file, kapi exports OTLP spans to the
// configured collector: a create through a mutating and a validating
// webhook is one trace, the client's (its traceparent is the request
// span's parent), whose request span ("POST /api/v1/namespaces/{:namespace}/configmaps",
// with its audit-id) holds the filters' spans, the handler's Create,
// the admission phases, each webhook call under its phase (named, with
// the webhook's name), and the etcd write; a request without a
// traceparent starts a trace of its own; an anonymous client's
// traceparent is only a link (kube's public endpoint).
func TestTracing(t *testing.T) {
	recv := newOTLPReceiver(t)
	k := startKapi(t, func(c *server.Config) { c.TracingConfigFile = tracingConfig(t, recv) })
	srv := newAdmissionServer(t)
	e := &webhookEnv{t: t, k: k, srv: srv}
	ctx := context.Background()
	e.namespace(t, "traced")
	srv.on("/mutate", addLabel("traced", "yes"))
	e.mutating(t, "traced.kapi.test", mutatingHook("traced.kapi.test", srv.clientConfig("/mutate"), "traced"))
	e.validating(t, "checked.kapi.test", validatingHook("checked.kapi.test", srv.clientConfig("/validate"), "traced"))
	settle(t, "the webhooks", func() bool {
		before := len(srv.requests("/validate"))
		k.client.CoreV1().ConfigMaps("traced").Delete(ctx, "probe", metav1.DeleteOptions{})
		got, err := k.client.CoreV1().ConfigMaps("traced").Create(ctx, cm("probe", nil), metav1.CreateOptions{})
		return err == nil && got.Labels["traced"] == "yes" && len(srv.requests("/validate")) > before
	})

	const traceID, parentID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	id := "traced-" + t.Name()
	body, _ := json.Marshal(cm("traced", nil))
	code, _, out := k.request(t, "POST", "/api/v1/namespaces/traced/configmaps", "application/json", body,
		"Audit-ID", id, "traceparent", "00-"+traceID+"-"+parentID+"-01")
	if code != http.StatusCreated {
		t.Fatalf("create: %d %s", code, out)
	}
	getID := "traced-get-" + t.Name()
	if code, _, out := k.request(t, "GET", "/api/v1/namespaces/traced/configmaps/traced", "", nil, "Audit-ID", getID); code != http.StatusOK {
		t.Fatalf("get: %d %s", code, out)
	}
	anonTrace, anonParent := "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
	anon, err := rest.HTTPClientFor(rest.AnonymousClientConfig(k.rest))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", k.srv.URL+"/version", nil)
	req.Header.Set("traceparent", "00-"+anonTrace+"-"+anonParent+"-01")
	req.Header.Set("Audit-ID", "traced-anonymous-"+t.Name())
	resp, err := anon.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("anonymous /version: %d", resp.StatusCode)
	}
	// Stopping kapi exports the spans it still holds: no waiting.
	k.stop()
	spans := recv.all()

	byID := map[string]*receivedSpan{}
	for _, s := range spans {
		byID[hex.EncodeToString(s.SpanId)] = s
	}
	find := func(name string, ok func(*receivedSpan) bool) *receivedSpan {
		t.Helper()
		for _, s := range spans {
			if s.Name == name && ok(s) {
				return s
			}
		}
		var names []string
		for _, s := range spans {
			names = append(names, s.Name)
		}
		t.Fatalf("no span %q among the %d exported: %s", name, len(spans), strings.Join(names, ", "))
		return nil
	}
	parent := func(s *receivedSpan) *receivedSpan { return byID[hex.EncodeToString(s.ParentSpanId)] }
	under := func(s, ancestor *receivedSpan) bool {
		for p := parent(s); p != nil; p = parent(p) {
			if p == ancestor {
				return true
			}
		}
		return false
	}
	inTrace := func(root *receivedSpan) func(*receivedSpan) bool {
		return func(s *receivedSpan) bool { return under(s, root) }
	}

	root := find("POST /api/v1/namespaces/{:namespace}/configmaps", func(s *receivedSpan) bool { return attr(s.Attributes, "audit-id") == id })
	if got := hex.EncodeToString(root.TraceId); got != traceID {
		t.Errorf("the request's trace is %s, want the client's %s", got, traceID)
	}
	if got := hex.EncodeToString(root.ParentSpanId); got != parentID {
		t.Errorf("the request span's parent is %q, want the client's span %s", got, parentID)
	}
	if root.Kind != tracepb.Span_SPAN_KIND_SERVER || root.service != "apiserver" {
		t.Errorf("the request span is of kind %v and service %q, want a server span of apiserver", root.Kind, root.service)
	}
	for key, want := range map[string]string{"http.request.method": "POST", "url.path": "/api/v1/namespaces/traced/configmaps", "http.target": "/api/v1/namespaces/traced/configmaps"} {
		if got := attr(root.Attributes, key); got != want {
			t.Errorf("the request span's %s is %q, want %q", key, got, want)
		}
	}
	if ua := attr(root.Attributes, "user_agent.original"); ua == "" {
		t.Errorf("the request span has no user agent")
	}
	for _, s := range spans {
		if hex.EncodeToString(s.TraceId) == traceID && s != root && !under(s, root) {
			t.Errorf("span %q of the trace is not below the request's", s.Name)
		}
	}
	for _, name := range []string{"audit", "constrainedimpersonation", "authorization", "Create"} {
		if s := find(name, inTrace(root)); parent(s) != root {
			t.Errorf("span %q is a child of %q, want the request's", name, parent(s).GetName())
		}
	}
	create := find("Create", inTrace(root))
	if attr(create.Attributes, "audit-id") != id || attr(create.Attributes, "resource") != "configmaps" || attr(create.Attributes, "namespace") != "traced" {
		t.Errorf("the Create span's attributes: %v", create.Attributes)
	}
	mutating := find("Mutating admission", inTrace(create))
	call := find("Call mutating webhook", inTrace(root))
	if parent(call) != mutating || attr(call.Attributes, "webhook") != "traced.kapi.test" || attr(call.Attributes, "configuration") != "traced.kapi.test" ||
		attr(call.Attributes, "operation") != "CREATE" || attr(call.Attributes, "UID") == "" {
		t.Errorf("the mutating webhook call: parent %q, attributes %v", parent(call).GetName(), call.Attributes)
	}
	validating := find("Validating admission", inTrace(create))
	vcall := find("Call validating webhook", inTrace(root))
	if parent(vcall) != validating || attr(vcall.Attributes, "webhook") != "checked.kapi.test" {
		t.Errorf("the validating webhook call: parent %q, attributes %v", parent(vcall).GetName(), vcall.Attributes)
	}
	write := find("Create etcd3", inTrace(create))
	if attr(write.Attributes, "audit-id") != id || !strings.HasSuffix(attr(write.Attributes, "key"), "/configmaps/traced/traced") || attr(write.Attributes, "type") != "ConfigMap" {
		t.Errorf("the etcd write's attributes: %v", write.Attributes)
	}

	// A request without a traceparent: a trace of its own, sampled by
	// the configuration's rate.
	get := find("GET /api/v1/namespaces/{:namespace}/configmaps/{:name}", func(s *receivedSpan) bool { return attr(s.Attributes, "audit-id") == getID })
	if len(get.ParentSpanId) != 0 || hex.EncodeToString(get.TraceId) == traceID {
		t.Errorf("the get's span has parent %x in trace %x, want a new trace", get.ParentSpanId, get.TraceId)
	}
	find("Get", inTrace(get))

	// An anonymous client's traceparent is a link, not the parent.
	version := find("GET", func(s *receivedSpan) bool { return attr(s.Attributes, "audit-id") == "traced-anonymous-"+t.Name() })
	if hex.EncodeToString(version.TraceId) == anonTrace || len(version.ParentSpanId) != 0 {
		t.Errorf("an anonymous request joined the client's trace %x (parent %x)", version.TraceId, version.ParentSpanId)
	}
	if len(version.Links) != 1 || hex.EncodeToString(version.Links[0].TraceId) != anonTrace || hex.EncodeToString(version.Links[0].SpanId) != anonParent {
		t.Errorf("the anonymous request's links: %v, want the client's span", version.Links)
	}
}

// TestTracingConfigInvalid: a tracing configuration kube refuses stops
// start-up, with kube's message.
func TestTracingConfigInvalid(t *testing.T) {
	p := filepath.Join(t.TempDir(), "tracing.yaml")
	os.WriteFile(p, []byte("apiVersion: apiserver.config.k8s.io/v1\nkind: TracingConfiguration\nsamplingRatePerMillion: -1\n"), 0o600)
	cfg := server.Defaults()
	cfg.DataDir, cfg.SecurePort, cfg.TracingConfigFile = t.TempDir(), 0, p
	if _, err := server.Start(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "samplingRatePerMillion: Invalid value: -1: sampling rate must be positive") {
		t.Fatalf("start with a negative sampling rate: %v", err)
	}
}
