package cacher

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"kapi/internal/tracing"
)

// startSpan opens the span of a read the watch cache serves, named as
// kube-apiserver's ("cacher.Get", "cacher.GetList"): a read it hands to
// etcd has the etcd span below it.
func (c *Cacher) startSpan(ctx context.Context, name, key string) (context.Context, trace.Span) {
	ctx, span := tracing.Start(ctx, name)
	if span.IsRecording() {
		span.SetAttributes(
			attribute.String("audit-id", tracing.AuditID(ctx)),
			attribute.String("key", key),
			attribute.String("resource", c.opts.Name),
		)
	}
	return ctx, span
}
