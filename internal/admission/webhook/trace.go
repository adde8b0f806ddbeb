package webhook

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"k8s.io/apimachinery/pkg/types"

	"kapi/internal/admission"
	"kapi/internal/tracing"
)

// startCall opens the span of one webhook call, named and attributed as
// kube-apiserver's ("Call mutating webhook", "Call validating webhook";
// configuration, webhook, resource, subresource, operation; the call's
// UID is added once made). The call's request carries the span as its
// traceparent, so that a traced webhook joins the trace.
func startCall(ctx context.Context, a *admission.Attributes, inv *invocation) (context.Context, trace.Span) {
	name := "Call validating webhook"
	if inv.h.mutating {
		name = "Call mutating webhook"
	}
	ctx, span := tracing.Start(ctx, name)
	if span.IsRecording() {
		span.SetAttributes(
			attribute.String("configuration", inv.h.config),
			attribute.String("webhook", inv.h.name),
			attribute.Stringer("resource", a.GVR()),
			attribute.String("subresource", a.Subresource),
			attribute.String("operation", string(a.Operation)),
		)
	}
	return ctx, span
}

// setUID records the call's UID, the AdmissionReview's.
func setUID(span trace.Span, uid types.UID) {
	if span.IsRecording() {
		span.SetAttributes(attribute.String("UID", string(uid)))
	}
}
