package etcd

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"kapi/internal/tracing"
)

// startSpan opens the span of one storage operation on key, named as
// kube-apiserver's etcd3 store names its spans ("Create etcd3", "Get
// etcd3", "GuaranteedUpdate etcd3", "List(recursive=true) etcd3"), with
// its attributes: the request's audit-id, the key, the type stored and
// its group.
func (s *Store) startSpan(ctx context.Context, name, key string) (context.Context, trace.Span) {
	ctx, span := tracing.Start(ctx, name)
	if span.IsRecording() {
		span.SetAttributes(
			attribute.String("audit-id", tracing.AuditID(ctx)),
			attribute.String("key", s.key(key)),
			attribute.String("type", s.codec.GVK.Kind),
			attribute.String("group", s.codec.GVK.Group),
		)
	}
	return ctx, span
}
