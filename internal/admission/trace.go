package admission

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"

	"kapi/internal/tracing"
)

// traceStep opens the span of an admission phase ("Mutating admission",
// "Validating admission"; kube-apiserver traces only the webhook calls,
// which are its children here) and returns what ends it, with the
// refusal as its error status. Untraced, it costs a context lookup.
func traceStep(ctx context.Context, name string, a *Attributes) (context.Context, func(error)) {
	ctx, span := tracing.Start(ctx, name)
	if !span.IsRecording() {
		return ctx, noEnd
	}
	span.SetAttributes(
		attribute.String("operation", string(a.Operation)),
		attribute.Stringer("resource", a.GVR()),
		attribute.String("subresource", a.Subresource),
		attribute.String("namespace", a.Namespace),
		attribute.String("name", a.Name),
	)
	return ctx, func(err error) {
		if err != nil {
			span.SetStatus(codes.Error, err.Error())
		}
		span.End()
	}
}

func noEnd(error) {}
