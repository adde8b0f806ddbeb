package filters

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"

	"kapi/internal/request"
	"kapi/internal/tracing"
)

// requestScope is the instrumentation scope of the request's span.
const requestScope = "k8s.io/apiserver/pkg/endpoints/filters"

// Trace opens the request's span, as kube-apiserver's WithTracing: a
// server span named after the route ("POST /api/v1/namespaces/{:namespace}/configmaps",
// the method alone outside /api and /apis), with the HTTP attributes of
// OpenTelemetry's conventions and the request's audit-id, the response's
// status code at the end (an error status from 500 on). An incoming W3C
// traceparent is the parent for a user in system:masters or
// system:monitoring; anyone else's request starts a new trace linked to
// it (a public endpoint), so that no client can make kapi sample. It runs
// after authentication for that reason, as kube's. A nil tp is no
// tracing: no filter at all.
func Trace(tp trace.TracerProvider) func(http.Handler) http.Handler {
	if tp == nil {
		return nil
	}
	tracer := tp.Tracer(requestScope)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := tracing.Propagator.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
			info := request.InfoFrom(ctx)
			opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(requestAttributes(r)...)}
			if info != nil && !info.Received.IsZero() {
				opts = append(opts, trace.WithTimestamp(info.Received))
			}
			if !privileged(request.UserFrom(ctx)) {
				opts = append(opts, trace.WithNewRoot())
				if sc := trace.SpanContextFromContext(ctx); sc.IsValid() && sc.IsRemote() {
					opts = append(opts, trace.WithLinks(trace.Link{SpanContext: sc}))
				}
			}
			ctx, span := tracer.Start(ctx, spanName(r, info), opts...)
			defer span.End()
			id := request.AuditIDFrom(ctx)
			span.SetAttributes(attribute.String("audit-id", id))
			sw := &statusWriter{ResponseWriter: w}
			next.ServeHTTP(sw, r.WithContext(tracing.WithAuditID(ctx, id)))
			code := sw.code
			if code == 0 {
				code = http.StatusOK
			}
			span.SetAttributes(semconv.HTTPResponseStatusCode(code))
			if code >= 500 {
				span.SetStatus(otelcodes.Error, "")
			}
		})
	}
}

// privileged are the users whose trace context kapi follows, kube's.
func privileged(u *request.User) bool {
	return u != nil && (u.InGroup("system:masters") || u.InGroup("system:monitoring"))
}

// spanName is kube's name of a request's span: the method and the route,
// with the namespace and name as placeholders.
func spanName(r *http.Request, info *request.Info) string {
	if info == nil || !info.IsResourceRequest {
		return r.Method
	}
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteString(" /")
	b.WriteString(info.APIPrefix)
	if info.APIGroup != "" {
		b.WriteString("/" + info.APIGroup)
	}
	b.WriteString("/" + info.APIVersion)
	if info.Namespace != "" {
		b.WriteString("/namespaces/{:namespace}")
	}
	b.WriteString("/" + info.Resource)
	if info.Name != "" {
		b.WriteString("/{:name}")
	}
	if info.Subresource != "" {
		b.WriteString("/" + info.Subresource)
	}
	return b.String()
}

// requestAttributes are the attributes OpenTelemetry's HTTP
// instrumentation gives a server span (otelhttp's, which kube uses), and
// kube's http.target.
func requestAttributes(r *http.Request) []attribute.KeyValue {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	attrs := []attribute.KeyValue{
		semconv.HTTPRequestMethodKey.String(r.Method),
		semconv.URLScheme(scheme),
		semconv.URLPath(r.URL.Path),
		attribute.String("http.target", r.URL.RequestURI()),
	}
	if host, port, err := net.SplitHostPort(r.Host); err == nil {
		attrs = append(attrs, semconv.ServerAddress(host))
		if p, err := strconv.Atoi(port); err == nil {
			attrs = append(attrs, semconv.ServerPort(p))
		}
	} else if r.Host != "" {
		attrs = append(attrs, semconv.ServerAddress(r.Host))
	}
	if peer, port, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		attrs = append(attrs, semconv.NetworkPeerAddress(peer), semconv.ClientAddress(peer))
		if p, err := strconv.Atoi(port); err == nil {
			attrs = append(attrs, semconv.NetworkPeerPort(p))
		}
	}
	if ua := r.UserAgent(); ua != "" {
		attrs = append(attrs, semconv.UserAgentOriginal(ua))
	}
	if r.ProtoMajor > 0 {
		v := strconv.Itoa(r.ProtoMajor)
		if r.ProtoMajor == 1 {
			v += "." + strconv.Itoa(r.ProtoMinor)
		}
		attrs = append(attrs, semconv.NetworkProtocolVersion(v))
	}
	return attrs
}

// TraceFilter wraps filter f (authorization, impersonation, audit) in a
// span of its own, named as kube's filter latency spans ("authorization"):
// from when the filter starts to when it hands the request on (or
// answers it). The handlers after it see the request's span again, so
// the filters' spans are siblings under the request's, each as long as
// its filter's own work. A nil tp is f itself.
func TraceFilter(tp trace.TracerProvider, name string, f func(http.Handler) http.Handler) func(http.Handler) http.Handler {
	if tp == nil || f == nil {
		return f
	}
	return func(next http.Handler) http.Handler {
		h := f(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if fs, ok := r.Context().Value(filterSpanKey{}).(filterSpan); ok {
				fs.span.End()
				r = r.WithContext(trace.ContextWithSpan(r.Context(), fs.parent))
			}
			next.ServeHTTP(w, r)
		}))
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			parent := trace.SpanFromContext(r.Context())
			ctx, span := tracing.Start(r.Context(), name)
			if !span.IsRecording() {
				h.ServeHTTP(w, r)
				return
			}
			defer span.End()
			h.ServeHTTP(w, r.WithContext(context.WithValue(ctx, filterSpanKey{}, filterSpan{parent: parent, span: span})))
		})
	}
}

// filterSpan is a filter's span and the span it ends into, for the
// handler after the filter.
type filterSpan struct{ parent, span trace.Span }

type filterSpanKey struct{}

// verbSpans are kube-apiserver's names of a handler's span, by verb.
var verbSpans = map[string]string{
	"get": "Get", "list": "List", "watch": "WatchServer.HandleHTTP",
	"create": "Create", "update": "Update", "patch": "Patch",
	"delete": "Delete", "deletecollection": "Delete",
}

// TraceHandler opens the span of the handler's work on a resource request
// around the MUX, named as kube's handlers name theirs (Create, Get, List,
// Update, Patch, Delete), with their attributes. A nil tp is no filter.
func TraceHandler(tp trace.TracerProvider) func(http.Handler) http.Handler {
	if tp == nil {
		return nil
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			info := request.InfoFrom(r.Context())
			name := ""
			if info != nil && info.IsResourceRequest {
				name = verbSpans[info.Verb]
			}
			if name == "" {
				next.ServeHTTP(w, r)
				return
			}
			ctx, span := tracing.Start(r.Context(), name)
			defer span.End()
			if span.IsRecording() {
				span.SetAttributes(handlerAttributes(r, info)...)
			}
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

// handlerAttributes are kube's traceFields.
func handlerAttributes(r *http.Request, info *request.Info) []attribute.KeyValue {
	scope := "cluster"
	switch {
	case info.Namespace != "":
		scope = "namespace"
	case info.Name != "":
		scope = "resource"
	}
	client, _, _ := net.SplitHostPort(r.RemoteAddr)
	ua := r.UserAgent()
	if len(ua) > 256 {
		ua = ua[:256]
	}
	return []attribute.KeyValue{
		attribute.String("accept", r.Header.Get("Accept")),
		attribute.String("audit-id", request.AuditIDFrom(r.Context())),
		attribute.String("client", client),
		attribute.String("api-group", info.APIGroup),
		attribute.String("api-version", info.APIVersion),
		attribute.String("name", info.Name),
		attribute.String("subresource", info.Subresource),
		attribute.String("namespace", info.Namespace),
		attribute.String("protocol", r.Proto),
		attribute.String("resource", info.Resource),
		attribute.String("scope", scope),
		attribute.String("url", r.URL.Path),
		attribute.String("user-agent", ua),
		attribute.String("verb", r.Method),
	}
}
