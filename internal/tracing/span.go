package tracing

import (
	"context"
	"net/http"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Scope is the instrumentation scope of kapi's spans below the request's,
// kube's.
const Scope = "k8s.io/component-base/tracing"

// off is the span of a request that is not traced: boxed once, so that
// Start costs no allocation then.
var off trace.Span = noop.Span{}

// Start opens a child of ctx's span, named as kube-apiserver names its
// spans ("Create etcd3", "Call mutating webhook"), from the provider of
// that span. When the request is not being recorded (tracing off, or not
// sampled) it returns ctx and a span that does nothing; set attributes
// that cost something to build only when span.IsRecording().
func Start(ctx context.Context, name string) (context.Context, trace.Span) {
	parent := trace.SpanFromContext(ctx)
	if !parent.IsRecording() {
		return ctx, off
	}
	return parent.TracerProvider().Tracer(Scope).Start(ctx, name)
}

// Inject writes ctx's trace context into the headers of an outgoing
// request (a webhook call), as kube's traced clients do, so that the
// callee's spans join the trace; nothing when ctx carries no span.
func Inject(ctx context.Context, h http.Header) {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return
	}
	Propagator.Inject(ctx, propagation.HeaderCarrier(h))
}

type auditIDKey struct{}

// WithAuditID records the request's audit ID for the spans below the
// filters: kube puts it on its storage spans ("audit-id") to tie a trace
// to the audit log. The request's span sets it, so a server without
// tracing does not.
func WithAuditID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, auditIDKey{}, id)
}

// AuditID is the audit ID WithAuditID recorded, or "".
func AuditID(ctx context.Context) string {
	id, _ := ctx.Value(auditIDKey{}).(string)
	return id
}
