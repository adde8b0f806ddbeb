package filters

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"kapi/internal/authz"
	"kapi/internal/metrics"
	"kapi/internal/request"
)

// read is a counter's or gauge's value, or a histogram's count and sum.
func read(t *testing.T, m any) (value, sum float64) {
	t.Helper()
	var d dto.Metric
	if err := m.(prometheus.Metric).Write(&d); err != nil {
		t.Fatal(err)
	}
	switch {
	case d.Counter != nil:
		return d.Counter.GetValue(), 0
	case d.Gauge != nil:
		return d.Gauge.GetValue(), 0
	case d.Histogram != nil:
		return float64(d.Histogram.GetSampleCount()), d.Histogram.GetSampleSum()
	}
	return 0, 0
}

func count(t *testing.T, m any) float64 {
	t.Helper()
	v, _ := read(t, m)
	return v
}

// seriesWith reports whether family name has a series with label=value.
func seriesWith(t *testing.T, name, label, value string) bool {
	t.Helper()
	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.Metric {
			for _, l := range m.Label {
				if l.GetName() == label && l.GetValue() == value {
					return true
				}
			}
		}
	}
	return false
}

// TestMetricsNonResource: as kube-apiserver, a non-resource request is
// counted only when its handler is instrumented, with the handler's
// labels (/readyz with no component, aggregated discovery as "apis"); a
// request of /version, or of an unknown path, is not.
func TestMetricsNonResource(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("/readyz", request.Instrumented(request.Route{Subresource: "/readyz"},
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })))
	mux.HandleFunc("/apis", func(w http.ResponseWriter, r *http.Request) {
		request.Instrument(r.Context(), request.Route{Subresource: "apis", Component: "apiserver"})
		w.Write([]byte("{}"))
	})
	mux.HandleFunc("/version", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("{}")) })
	h := RequestInfo(Latencies(Metrics(nil, nil)(mux)))

	readyz := requestCounter.WithLabelValues("GET", "", "", "", "", "/readyz", "", "", "200")
	apis := requestCounter.WithLabelValues("GET", "", "", "", "", "apis", "", "apiserver", "200")
	readyzBefore, apisBefore := count(t, readyz), count(t, apis)
	for _, p := range []string{"/readyz", "/apis", "/version", "/made-up"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", p, nil))
	}
	if got := count(t, readyz) - readyzBefore; got != 1 {
		t.Errorf("/readyz counted %v times, want 1", got)
	}
	if got := count(t, apis) - apisBefore; got != 1 {
		t.Errorf("aggregated /apis counted %v times, want 1", got)
	}
	for _, name := range []string{"apiserver_request_total", "apiserver_request_duration_seconds", "apiserver_response_sizes",
		"apiserver_request_sli_duration_seconds"} {
		for _, p := range []string{"/version", "/made-up", "/apis"} {
			if seriesWith(t, name, "subresource", p) {
				t.Errorf("%s counts %s", name, p)
			}
		}
	}
	if n := count(t, responseSizes.WithLabelValues("GET", "", "", "", "/readyz", "", "")); n < 1 {
		t.Errorf("apiserver_response_sizes of /readyz has %v observations", n)
	}
	if n := count(t, requestSliLatencies.WithLabelValues("GET", "", "", "", "/readyz", "", "")); n < 1 {
		t.Errorf("apiserver_request_sli_duration_seconds of /readyz has %v observations", n)
	}
}

// TestMetricsSLI: the SLI latency leaves out the webhooks' time, and is
// not observed for a dry run or a watch.
func TestMetricsSLI(t *testing.T) {
	const webhook = 30 * time.Millisecond
	h := RequestInfo(Latencies(Metrics(nil, nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			request.TrackWebhook(r.Context(), true, func() { time.Sleep(webhook) })
			w.WriteHeader(http.StatusCreated)
		}
	}))))
	for _, target := range []string{"/api/v1/namespaces/ns/slitests", "/api/v1/namespaces/ns/slidryruns?dryRun=All"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", target, nil))
	}
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/api/v1/namespaces/ns/sliwatches?watch=true", nil))

	n, total := read(t, requestLatencies.WithLabelValues("POST", "", "", "v1", "slitests", "", "resource", "apiserver"))
	sn, sli := read(t, requestSliLatencies.WithLabelValues("POST", "", "v1", "slitests", "", "resource", "apiserver"))
	if n != 1 || sn != 1 {
		t.Fatalf("observations: duration %v, sli %v, want 1 each", n, sn)
	}
	if total-sli < webhook.Seconds() || sli < 0 {
		t.Errorf("sli %v of a request of %v with a webhook of %v", sli, total, webhook)
	}
	if n := count(t, requestCounter.WithLabelValues("POST", "All", "", "v1", "slidryruns", "", "resource", "apiserver", "201")); n != 1 {
		t.Errorf("the dry run is counted %v times", n)
	}
	for _, resource := range []string{"slidryruns", "sliwatches"} {
		if seriesWith(t, "apiserver_request_sli_duration_seconds", "resource", resource) {
			t.Errorf("apiserver_request_sli_duration_seconds observes %s", resource)
		}
	}
	if !seriesWith(t, "apiserver_request_total", "resource", "sliwatches") {
		t.Errorf("the watch is not counted")
	}
}

// TestMetricsSelfRequestAndDeprecated: the loopback user's requests count
// in apiserver_selfrequest_total; a deprecated version asked for sets
// apiserver_requested_deprecated_apis and the audit annotation.
func TestMetricsSelfRequestAndDeprecated(t *testing.T) {
	annotations := map[string]string{}
	annotate := func(_ *http.Request, k, v string) { annotations[k] = v }
	h := RequestInfo(Metrics(nil, annotate)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "olds") {
			request.Deprecated(r.Context(), "")
		}
	})))
	as := func(name, target string) {
		r := httptest.NewRequest("GET", target, nil)
		h.ServeHTTP(httptest.NewRecorder(), r.WithContext(request.WithUser(r.Context(), &request.User{Name: name})))
	}
	as("system:apiserver", "/apis/selftest.io/v1/selves/a")
	as("alice", "/apis/selftest.io/v1/selves/b")
	if n := count(t, selfRequests.WithLabelValues("GET", "selftest.io", "selves", "")); n != 1 {
		t.Errorf("apiserver_selfrequest_total = %v, want 1", n)
	}
	if len(annotations) != 0 {
		t.Errorf("annotations of a request to a version that is not deprecated: %v", annotations)
	}
	as("alice", "/apis/selftest.io/v1beta1/namespaces/ns/olds")
	if v := count(t, deprecatedRequests.WithLabelValues("selftest.io", "v1beta1", "olds", "", "")); v != 1 {
		t.Errorf("apiserver_requested_deprecated_apis = %v, want 1", v)
	}
	if annotations["k8s.io/deprecated"] != "true" {
		t.Errorf("annotations: %v", annotations)
	}
}

// TestMetricsDroppedNonResource: a non-resource request dropped with 429
// has no subresource label, as kube-apiserver's RecordDroppedRequest.
func TestMetricsDroppedNonResource(t *testing.T) {
	r := httptest.NewRequest("GET", "/dropped-path", nil)
	c := requestCounter.WithLabelValues("GET", "", "", "", "", "", "", "apiserver", "429")
	before := count(t, c)
	recordDropped(r, request.Parse(r))
	if got := count(t, c) - before; got != 1 {
		t.Errorf("dropped non-resource request counted %v times", got)
	}
	if seriesWith(t, "apiserver_request_total", "subresource", "/dropped-path") {
		t.Errorf("the path of a dropped request is a label value")
	}
}

// TestFilterDurations: the chain times its filters by kube's names; a
// filter that answers a request itself is not observed, but
// authentication is, whether it lets the request in or not.
func TestFilterDurations(t *testing.T) {
	names := []string{"authentication", "audit", "constrainedimpersonation", "authorization"}
	counts := func() map[string]float64 {
		m := map[string]float64{}
		for _, n := range names {
			m[n] = count(t, filterDurations.WithLabelValues(n))
		}
		return m
	}
	user := &request.User{Name: "alice", Groups: []string{"dev"}}
	allow := authorizerFunc(func(a authz.Attributes) (authz.Decision, string, error) {
		if a.Path == "/forbidden" {
			return authz.NoOpinion, "", nil
		}
		return authz.Allow, "", nil
	})
	mux := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	serve := func(a fakeAuthn, path string) {
		h := Chain(mux, Config{Authenticator: a, Authorizer: allow})
		r := httptest.NewRequest("GET", path, nil)
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	before := counts()
	serve(fakeAuthn{u: user, ok: true}, "/allowed")
	after := counts()
	for _, n := range names {
		if after[n]-before[n] != 1 {
			t.Errorf("an allowed request: %s observed %v times", n, after[n]-before[n])
		}
	}
	serve(fakeAuthn{u: user, ok: true}, "/forbidden")
	serve(fakeAuthn{}, "/refused") // no credentials, no anonymous access: 401
	last := counts()
	want := map[string]float64{"authentication": 2, "audit": 1, "constrainedimpersonation": 1, "authorization": 0}
	for n, w := range want {
		if got := last[n] - after[n]; got != w {
			t.Errorf("a forbidden and an unauthenticated request: %s observed %v times, want %v", n, got, w)
		}
	}
}

// TestAuthenticationMetrics: each result counts with its time; a success
// counts the user's category; an anonymous request is a success.
func TestAuthenticationMetrics(t *testing.T) {
	next := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	cases := []struct {
		name      string
		a         fakeAuthn
		anonymous bool
		result    string
		username  string
	}{
		{"admin", fakeAuthn{u: &request.User{Name: "admin"}, ok: true}, false, "success", "admin"},
		{"email", fakeAuthn{u: &request.User{Name: "alice@example.com"}, ok: true}, false, "success", "email_id"},
		{"anonymous", fakeAuthn{}, true, "success", "other"},
		{"anonymous off", fakeAuthn{}, false, "failure", ""},
		{"error", fakeAuthn{err: errors.New("bad certificate")}, true, "error", ""},
	}
	for _, c := range cases {
		attempts, durations := authenticationAttempts.WithLabelValues(c.result), authenticationLatency.WithLabelValues(c.result)
		a0, d0 := count(t, attempts), count(t, durations)
		var u0 float64
		if c.username != "" {
			u0 = count(t, authenticatedUsers.WithLabelValues(c.username))
		}
		Authenticate(c.a, c.anonymous, nil)(next).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/api", nil))
		if count(t, attempts)-a0 != 1 || count(t, durations)-d0 != 1 {
			t.Errorf("%s: authentication_attempts{result=%q} and its duration not counted once", c.name, c.result)
		}
		if c.username != "" && count(t, authenticatedUsers.WithLabelValues(c.username))-u0 != 1 {
			t.Errorf("%s: authenticated_user_requests{username=%q} not counted", c.name, c.username)
		}
	}
}

func TestCompressUsername(t *testing.T) {
	for name, want := range map[string]string{
		"admin": "admin", "kubelet": "kubelet", "system:serviceaccount:kube-system:default": "system:serviceaccount:kube-system:default",
		"kubernetes-admin": "other", "system:admin": "other", "system:anonymous": "other", "jane@example.com": "email_id",
	} {
		if got := compressUsername(name); got != want {
			t.Errorf("%q: %q, want %q", name, got, want)
		}
	}
}

// TestAuthorizationMetrics: the filter counts every decision by result.
func TestAuthorizationMetrics(t *testing.T) {
	for _, c := range []struct {
		d      authz.Decision
		err    error
		result string
	}{
		{authz.Allow, nil, "allowed"},
		{authz.Deny, nil, "denied"},
		{authz.NoOpinion, nil, "no-opinion"},
		{authz.Deny, errors.New("webhook down"), "error"},
	} {
		az := authorizerFunc(func(authz.Attributes) (authz.Decision, string, error) { return c.d, "", c.err })
		attempts, durations := authorizationAttempts.WithLabelValues(c.result), authorizationLatency.WithLabelValues(c.result)
		a0, d0 := count(t, attempts), count(t, durations)
		r := httptest.NewRequest("GET", "/api", nil)
		r = r.WithContext(request.WithUser(r.Context(), &request.User{Name: "alice"}))
		Authorize(az, nil)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})).ServeHTTP(httptest.NewRecorder(), r)
		if count(t, attempts)-a0 != 1 || count(t, durations)-d0 != 1 {
			t.Errorf("authorization_attempts_total{result=%q} and its duration not counted once", c.result)
		}
	}
}

// TestQueueNoter: a request waiting in a queue of API Priority and
// Fairness counts in apiserver_current_inqueue_requests, and its wait is
// left out of its SLI latency; both kinds are reported from the start.
func TestQueueNoter(t *testing.T) {
	PriorityAndFairness(&Fairness{})
	for _, kind := range []string{"readOnly", "mutating"} {
		if !seriesWith(t, "apiserver_current_inqueue_requests", "request_kind", kind) {
			t.Errorf("apiserver_current_inqueue_requests has no %s", kind)
		}
	}
	ctx, lat := request.WithLatencies(context.Background())
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "queued"})
	note := queueNoter(ctx, g)
	note(true)
	if v := count(t, g); v != 1 {
		t.Errorf("queued: %v", v)
	}
	time.Sleep(time.Millisecond)
	note(false)
	if v := count(t, g); v != 0 {
		t.Errorf("dequeued: %v", v)
	}
	if lat.Excluded() <= 0 {
		t.Errorf("the wait is not left out of the SLI latency")
	}
}
