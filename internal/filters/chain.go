package filters

import (
	"net/http"
	"regexp"
	"time"

	"go.opentelemetry.io/otel/trace"
	"k8s.io/component-base/featuregate"

	"kapi/internal/authn"
	"kapi/internal/authz"
	"kapi/internal/features"
	"kapi/internal/request"
)

// Config is what the filters need.
type Config struct {
	// Features are the server's feature gates (--feature-gates); nil is
	// kube's defaults.
	Features      featuregate.FeatureGate
	Authenticator authn.Authenticator
	// Anonymous allows requests without credentials as system:anonymous
	// (--anonymous-auth).
	Anonymous  bool
	Authorizer authz.Authorizer
	// Audit is the audit filter; nil is no auditing. AuditFailed wraps
	// the handler that answers a request refused by authentication (401),
	// which Audit, running after authentication, never sees; nil is none.
	Audit       func(http.Handler) http.Handler
	AuditFailed func(http.Handler) http.Handler
	// OnImpersonate and Annotate tell audit about impersonation and the
	// authorization decision; nil is fine.
	OnImpersonate func(r *http.Request, u *request.User, constraint string)
	Annotate      func(r *http.Request, key, value string)

	CORSAllowedOrigins []*regexp.Regexp
	// Fairness is API Priority and Fairness (--enable-priority-and-fairness);
	// nil limits requests by MaxRequestsInFlight and MaxMutatingInFlight
	// instead, as kube-apiserver does with the flag off.
	Fairness            *Fairness
	MaxRequestsInFlight int
	MaxMutatingInFlight int
	RequestTimeout      time.Duration

	// Served reports whether the MUX serves a request's resource or
	// path, for the Metrics filter (asked of 404s only); nil is all.
	Served func(*request.Info) bool

	// Tracer is the server's OpenTelemetry provider (--tracing-config-file);
	// nil is no tracing, and no tracing filters.
	Tracer trace.TracerProvider

	// HSTSDirectives are the Strict-Transport-Security header of every
	// response (--strict-transport-security-directives); nil is none.
	HSTSDirectives []string
	// GoawayChance is the fraction of HTTP/2 requests that close their
	// connection with a GOAWAY (--goaway-chance); 0 is none.
	GoawayChance float64

	// Shutdown is the server's graceful termination: the requests in
	// flight it waits for, and the moment it stops taking new ones; nil
	// is none. SendRetryAfter (--shutdown-send-retry-after) answers new
	// requests with a 429 from that moment on.
	Shutdown       *Shutdown
	SendRetryAfter bool
}

// Chain wraps the MUX in the filters. The order, outermost first, is
// kube-apiserver's: the audit ID (and the request's logger), panic
// recovery, (the request's log line), request info, the request's
// latency trackers, the shutdown's Retry-After, HSTS, the probabilistic
// GOAWAY, the shutdown's count of requests in flight, timeout, CORS,
// authentication, the request's span, audit, impersonation, priority and
// fairness or the in-flight limits (on the impersonated user, whom
// flow schemas match), authorization (each in a span when tracing); then the
// request's metrics, around the MUX as kube-apiserver's instrumented
// routes, and the handler's span. A nil filter is none. Authentication,
// audit, impersonation, priority and fairness and authorization are timed
// (apiserver_request_filter_duration_seconds), as kube-apiserver's.
func Chain(mux http.Handler, c Config) http.Handler {
	audit := c.Audit
	if audit == nil {
		audit = func(h http.Handler) http.Handler { return h }
	}
	failed := Unauthorized
	if c.AuditFailed != nil {
		failed = c.AuditFailed(failed)
	}
	// The authentication filter's time counts when it refuses too.
	failed = filterCompleted(failed)
	limit := TraceFilter(c.Tracer, "priorityandfairness", TimeFilter("priorityandfairness", PriorityAndFairness(c.Fairness)))
	if c.Fairness == nil {
		limit = MaxInFlight(c.MaxRequestsInFlight, c.MaxMutatingInFlight)
	}
	// kube's filter, and the name its latency is recorded under, follow
	// the ConstrainedImpersonation gate.
	impersonation := TraceFilter(c.Tracer, "constrainedimpersonation", TimeFilter("constrainedimpersonation", Impersonate(c.Authorizer, c.OnImpersonate)))
	if !features.Enabled(c.Features, features.ConstrainedImpersonation) {
		impersonation = TraceFilter(c.Tracer, "impersonation", TimeFilter("impersonation", LegacyImpersonate(c.Authorizer, c.OnImpersonate)))
	}
	var retryAfter, waitGroup func(http.Handler) http.Handler
	if c.Shutdown != nil {
		waitGroup = WaitGroup(c.Shutdown)
		if c.SendRetryAfter {
			retryAfter = RetryAfter(c.Shutdown)
		}
	}
	chain := []func(http.Handler) http.Handler{
		AuditInit,
		Recover,
		Logging,
		RequestInfo,
		Features(c.Features),
		Latencies,
		retryAfter,
		HSTS(c.HSTSDirectives),
		Goaway(c.GoawayChance),
		waitGroup,
		Timeout(c.RequestTimeout),
		CORS(c.CORSAllowedOrigins),
		TimeFilter("authentication", Authenticate(c.Authenticator, c.Anonymous, failed)),
		Trace(c.Tracer),
		TraceFilter(c.Tracer, "audit", TimeFilter("audit", audit)),
		impersonation,
		limit,
		TraceFilter(c.Tracer, "authorization", TimeFilter("authorization", Authorize(c.Authorizer, c.Annotate))),
		Metrics(c.Served, c.Annotate),
		TraceHandler(c.Tracer),
	}
	h := mux
	for i := len(chain) - 1; i >= 0; i-- {
		if chain[i] != nil {
			h = chain[i](h)
		}
	}
	return h
}
