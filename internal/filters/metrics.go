package filters

import (
	"bufio"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"kapi/internal/metrics"
	"kapi/internal/request"
)

// kube-apiserver's request metrics (k8s.io/apiserver/pkg/endpoints/metrics),
// with its names, help texts (and their stability prefix), labels and
// buckets, so that dashboards and alerts written for a cluster read kapi.
var (
	requestCounter = metrics.Counter("apiserver_request_total",
		"[STABLE] Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.",
		"verb", "dry_run", "group", "version", "resource", "subresource", "scope", "component", "code")
	requestLatencies = metrics.Histogram("apiserver_request_duration_seconds",
		"[STABLE] Response latency distribution in seconds for each verb, dry run value, group, version, resource, subresource, scope and component.",
		[]float64{0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60},
		"verb", "dry_run", "group", "version", "resource", "subresource", "scope", "component")
	responseSizes = metrics.Histogram("apiserver_response_sizes",
		"[STABLE] Response size distribution in bytes for each group, version, verb, resource, subresource, scope and component.",
		[]float64{1000, 10000, 100000, 1e+06, 1e+07, 1e+08, 1e+09},
		"verb", "group", "version", "resource", "subresource", "scope", "component")
	longRunningRequests = metrics.Gauge("apiserver_longrunning_requests",
		"[STABLE] Gauge of all active long-running apiserver requests broken out by verb, group, version, resource, scope and component. Not all requests are tracked this way.",
		"verb", "group", "version", "resource", "subresource", "scope", "component")
	requestTerminations = metrics.Counter("apiserver_request_terminations_total",
		"[ALPHA] Number of requests which apiserver terminated in self-defense.",
		"verb", "group", "version", "resource", "subresource", "scope", "component", "code")
	// The request's latency without the admission webhooks' and the wait
	// in API Priority and Fairness's queue (request.Latencies); not of
	// watches, nor of dry runs.
	requestSliLatencies = metrics.Histogram("apiserver_request_sli_duration_seconds",
		"[ALPHA] Response latency distribution (not counting webhook duration and priority & fairness queue wait times) in seconds for each verb, group, version, resource, subresource, scope and component.",
		[]float64{0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60},
		"verb", "group", "version", "resource", "subresource", "scope", "component")
	// The requests of the server's own loopback client (system:apiserver).
	selfRequests = metrics.Counter("apiserver_selfrequest_total",
		"[ALPHA] Counter of apiserver self-requests broken out for each verb, API resource and subresource.",
		"verb", "group", "resource", "subresource")
	// Set to 1 once a deprecated API version is asked for.
	deprecatedRequests = metrics.Gauge("apiserver_requested_deprecated_apis",
		"[STABLE] Gauge of deprecated APIs that have been requested, broken out by API group, version, resource, subresource, and removed_release.",
		"group", "version", "resource", "subresource", "removed_release")
)

// apiServerUser is the user of kube-apiserver's (and kapi's) loopback
// client, whose requests apiserver_selfrequest_total counts.
const apiServerUser = "system:apiserver"

// componentAPIServer is the component label of kube-apiserver's requests.
const componentAPIServer = "apiserver"

// Metrics records every request the MUX serves, as kube-apiserver's
// InstrumentRouteFunc does: apiserver_request_total, its duration (from
// when the request came in, the filters included) and its SLI duration
// (without the admission webhooks and the wait in a queue), the size of
// read responses, the self-requests, the deprecated versions asked for,
// and the long-running requests (watches, logs, exec, proxy) while they
// last. It is the innermost filter: requests the filters refuse (401,
// 403) are not counted, as in kube-apiserver, which counts a 429 of the
// in-flight limit apart (recordDropped).
//
// A non-resource request is counted only when its handler names it
// (request.Instrument), as kube-apiserver counts only the non-resource
// handlers it instruments (the health endpoints, aggregated discovery,
// OpenAPI v3, the z-pages), with their labels.
//
// served reports whether the MUX serves the resource and subresource of a
// resource request; it is asked only of an error, so that a request for
// a resource or subresource that does not exist is not counted
// (kube-apiserver's unknown routes are not), and no client can make up
// label values, or send bytes that are not UTF-8 into one (which the
// Prometheus client refuses with a panic). nil counts every error.
//
// annotate records the audit annotations of a deprecated version
// (k8s.io/deprecated, k8s.io/removed-release); nil is none.
func Metrics(served func(*request.Info) bool, annotate func(r *http.Request, key, value string)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			info := request.InfoFrom(r.Context())
			if info == nil {
				next.ServeHTTP(w, r)
				return
			}
			l := requestLabels(r, info)
			if info.IsResourceRequest && isLongRunning(info) {
				g := longRunningRequests.WithLabelValues(l.verb, l.group, l.version, l.resource, l.subresource, l.scope, l.component)
				g.Inc()
				defer g.Dec()
			}
			ctx, route := request.WithRoute(r.Context())
			if ctx != r.Context() {
				r = r.WithContext(ctx) // (no request state: a filter tested alone)
			}
			mw := &metricsWriter{ResponseWriter: w}
			next.ServeHTTP(mw, r)
			code := mw.code
			if code == 0 {
				code = http.StatusOK
			}
			switch {
			case !info.IsResourceRequest && !route.Instrumented:
				return
			case !info.IsResourceRequest:
				l = routeLabels(l, route)
			case served != nil && code >= 400 && !served(info):
				return
			}
			start := info.Received
			if start.IsZero() {
				start = time.Now()
			}
			elapsed := time.Since(start)
			dryRun := cleanDryRun(r)
			s := seriesOf(l, dryRun)
			s.counter(code).Inc()
			s.latency.Observe(elapsed.Seconds())
			if lat := request.LatenciesFrom(ctx); lat != nil && dryRun == "" {
				s.sliObserver().Observe((elapsed - lat.Excluded()).Seconds())
			}
			if l.read {
				s.size.Observe(float64(mw.written))
			}
			if u := request.UserFrom(ctx); u != nil && u.Name == apiServerUser {
				selfRequests.WithLabelValues(l.verb, l.group, l.resource, l.subresource).Inc()
			}
			if route.Deprecated {
				deprecatedRequests.WithLabelValues(l.group, l.version, l.resource, l.subresource, route.RemovedRelease).Set(1)
				if annotate != nil {
					annotate(r, "k8s.io/deprecated", "true")
					if route.RemovedRelease != "" {
						annotate(r, "k8s.io/removed-release", route.RemovedRelease)
					}
				}
			}
		})
	}
}

// routeLabels are the labels of an instrumented non-resource request: its
// handler's, with the verb of the request. kube-apiserver's handlers are
// all instrumented as GETs, so their response sizes are observed.
func routeLabels(l labels, route *request.Route) labels {
	l.group, l.version, l.resource, l.subresource, l.component = route.Group, route.Version, route.Resource, route.Subresource, route.Component
	l.read = true
	return l
}

// series are the metrics of one label set, looked up in the vectors once:
// a vector hashes every label value of every lookup, which for three
// vectors of eight labels was most of the filter's cost.
type series struct {
	key     seriesKey
	latency prometheus.Observer
	size    prometheus.Observer // nil unless key.read
	mu      sync.RWMutex
	codes   map[int]prometheus.Counter
	sli     prometheus.Observer // made when first observed
}

type seriesKey struct {
	labels
	dryRun string
}

var (
	seriesMu sync.RWMutex
	seriesBy = map[seriesKey]*series{}
)

// seriesOf is the series of a request's labels. There are as many as the
// vectors have children: the label values are bounded (served resources,
// kube's verbs and scopes).
func seriesOf(l labels, dryRun string) *series {
	k := seriesKey{l, dryRun}
	seriesMu.RLock()
	s := seriesBy[k]
	seriesMu.RUnlock()
	if s != nil {
		return s
	}
	s = &series{key: k, codes: map[int]prometheus.Counter{},
		latency: requestLatencies.WithLabelValues(l.verb, dryRun, l.group, l.version, l.resource, l.subresource, l.scope, l.component)}
	if l.read {
		s.size = responseSizes.WithLabelValues(l.verb, l.group, l.version, l.resource, l.subresource, l.scope, l.component)
	}
	seriesMu.Lock()
	defer seriesMu.Unlock()
	if prev := seriesBy[k]; prev != nil {
		return prev
	}
	seriesBy[k] = s
	return s
}

// counter is apiserver_request_total of the series and code.
func (s *series) counter(code int) prometheus.Counter {
	s.mu.RLock()
	c := s.codes[code]
	s.mu.RUnlock()
	if c != nil {
		return c
	}
	l := s.key
	c = requestCounter.WithLabelValues(l.verb, l.dryRun, l.group, l.version, l.resource, l.subresource, l.scope, l.component, codeString(code))
	s.mu.Lock()
	s.codes[code] = c
	s.mu.Unlock()
	return c
}

// sliObserver is apiserver_request_sli_duration_seconds of the series,
// made only for requests that observe it (not watches, not dry runs), so
// that it has no empty series of them.
func (s *series) sliObserver() prometheus.Observer {
	s.mu.RLock()
	o := s.sli
	s.mu.RUnlock()
	if o != nil {
		return o
	}
	l := s.key
	o = requestSliLatencies.WithLabelValues(l.verb, l.group, l.version, l.resource, l.subresource, l.scope, l.component)
	s.mu.Lock()
	s.sli = o
	s.mu.Unlock()
	return o
}

// recordDropped counts a request the in-flight limit refused with 429, as
// kube-apiserver's RecordDroppedRequest and RecordRequestTermination do.
func recordDropped(r *http.Request, info *request.Info) {
	recordTermination(r, info, http.StatusTooManyRequests)
	if info == nil {
		return
	}
	l := requestLabels(r, info)
	if !info.IsResourceRequest {
		// kube-apiserver's RecordDroppedRequest takes the request info's
		// subresource, which a non-resource request has not.
		l.subresource = ""
	}
	requestCounter.WithLabelValues(l.verb, cleanDryRun(r), l.group, l.version, l.resource, l.subresource, l.scope, componentAPIServer,
		codeString(http.StatusTooManyRequests)).Inc()
}

// recordTermination counts a request kapi ended in self-defense (429 of
// the in-flight limit, 504 of the request timeout).
func recordTermination(r *http.Request, info *request.Info, code int) {
	if info == nil {
		info = &request.Info{Path: r.URL.Path, Verb: strings.ToLower(r.Method)}
	}
	l := requestLabels(r, info)
	requestTerminations.WithLabelValues(l.verb, l.group, l.version, l.resource, l.subresource, l.scope, componentAPIServer, codeString(code)).Inc()
}

// labels are a request's labels, as kube-apiserver reports them.
type labels struct {
	verb, group, version, resource, subresource, scope, component string
	// read is whether apiserver_response_sizes observes the request
	// (kube-apiserver's routes for GET and LIST).
	read bool
}

// requestLabels computes kube-apiserver's labels of a request. The verb is
// the HTTP method, in capitals, made more precise: LIST for a GET of a
// collection, WATCH for a watch, APPLY for a server-side apply, CONNECT for
// log, exec, attach, portforward and proxy; any other method is "other".
// So a create is POST, an update PUT and a delete of a collection DELETE,
// as kube-apiserver counts them (and as the dashboards of
// kubernetes-mixin select: verb=~"POST|PUT|PATCH|DELETE").
//
// Examples:
//
//	POST /apis/apps/v1/namespaces/ns/deployments     POST  apps v1 deployments "" resource
//	GET  /api/v1/pods                                LIST  "" v1 pods "" cluster
//	GET  /api/v1/namespaces/ns/pods?watch=1          WATCH "" v1 pods "" namespace
//	PATCH (application/apply-patch+yaml) .../cm/c1   APPLY
//	GET  /api/v1/namespaces/ns/pods/p/log            CONNECT "" v1 pods log resource
//	GET  /healthz                                    GET   "" "" "" "/healthz" ""
func requestLabels(r *http.Request, info *request.Info) labels {
	l := labels{scope: cleanScope(info), component: componentAPIServer}
	if info.IsResourceRequest {
		l.group, l.version, l.resource, l.subresource = info.APIGroup, info.APIVersion, info.Resource, info.Subresource
	} else {
		// As kube-apiserver's terminations and long-running requests: the
		// path in the subresource label. (The metrics filter counts a
		// non-resource request with its handler's labels: routeLabels.)
		l.subresource = info.Path
	}
	method := r.Method
	if method == http.MethodGet || method == http.MethodHead {
		method = http.MethodGet
		if l.scope != "resource" && l.scope != "" {
			method = "LIST"
		}
		l.read = true
	}
	switch {
	case info.Verb == "watch":
		method = "WATCH"
		// kube-apiserver's GET routes observe a ?watch=true response's
		// size too; its /watch/ routes do not.
		l.read = strings.Contains(r.URL.RawQuery, "watch=")
	case method == http.MethodPatch && r.Header.Get("Content-Type") == "application/apply-patch+yaml":
		method = "APPLY"
	}
	if info.IsResourceRequest && connectSubresources[info.Subresource] {
		method, l.read = "CONNECT", false
	}
	if !validVerbs[method] {
		method = "other"
	}
	l.verb = method
	// The Prometheus client panics on a label value that is not UTF-8;
	// the path's bytes are the client's (most are refused before they
	// are counted, but dropped and timed-out requests are counted as
	// they came).
	l.group, l.version, l.resource, l.subresource = utf8Label(l.group), utf8Label(l.version), utf8Label(l.resource), utf8Label(l.subresource)
	return l
}

func utf8Label(v string) string {
	if utf8.ValidString(v) {
		return v
	}
	return strings.ToValidUTF8(v, "\uFFFD")
}

// cleanScope is kube-apiserver's scope of a request: "resource" for one
// object (and a create), "namespace" for a collection in a namespace,
// "cluster" for a collection across the cluster, "" for non-resource
// requests.
func cleanScope(info *request.Info) string {
	switch {
	case info.Name != "" || info.Verb == "create":
		return "resource"
	case info.Namespace != "":
		return "namespace"
	case info.IsResourceRequest:
		return "cluster"
	}
	return ""
}

// cleanDryRun is the dry_run label: the request's dryRun values, sorted
// and without repeats ("All"), "invalid" for a value kube-apiserver does
// not know, "" for none.
func cleanDryRun(r *http.Request) string {
	if !strings.Contains(r.URL.RawQuery, "dryRun") {
		return ""
	}
	values := r.URL.Query()["dryRun"]
	for _, v := range values {
		if v != "All" {
			return "invalid"
		}
	}
	slices.Sort(values)
	return strings.Join(slices.Compact(values), ",")
}

var (
	// validVerbs are the verbs kube-apiserver reports; others are "other".
	validVerbs = map[string]bool{"APPLY": true, "CONNECT": true, "CREATE": true, "DELETE": true, "DELETECOLLECTION": true,
		"GET": true, "LIST": true, "PATCH": true, "POST": true, "PROXY": true, "PUT": true, "UPDATE": true, "WATCH": true,
		"WATCHLIST": true}
	// connectSubresources are reported as CONNECT.
	connectSubresources = map[string]bool{"log": true, "exec": true, "portforward": true, "attach": true, "proxy": true}
)

// codes are the code labels, made once.
var codes = func() (c [600]string) {
	for i := range c {
		c[i] = strconv.Itoa(i)
	}
	return c
}()

func codeString(code int) string {
	if code >= 0 && code < len(codes) {
		return codes[code]
	}
	return strconv.Itoa(code)
}

// metricsWriter remembers the status code and counts the bytes written;
// it passes Flush on, for watches.
type metricsWriter struct {
	http.ResponseWriter
	code    int
	written int64
}

func (m *metricsWriter) WriteHeader(code int) {
	if m.code == 0 {
		m.code = code
	}
	m.ResponseWriter.WriteHeader(code)
}

func (m *metricsWriter) Write(b []byte) (int, error) {
	if m.code == 0 {
		m.code = http.StatusOK
	}
	n, err := m.ResponseWriter.Write(b)
	m.written += int64(n)
	return n, err
}

func (m *metricsWriter) Flush() {
	if f, ok := m.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Hijack takes the connection of an upgrade (exec, attach, portforward,
// proxy), which answers 101 on it without WriteHeader.
func (m *metricsWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(m.ResponseWriter).Hijack()
	if err == nil && m.code == 0 {
		m.code = http.StatusSwitchingProtocols
	}
	return c, rw, err
}

// Unwrap lets http.ResponseController reach the connection.
func (m *metricsWriter) Unwrap() http.ResponseWriter { return m.ResponseWriter }
