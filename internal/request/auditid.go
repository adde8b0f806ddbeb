package request

import "context"

type auditIDKey struct{}

// WithAuditID records the request's audit ID, kube's request id: the
// Audit-ID header of the response, the auditID of the request's audit
// events and of its log lines.
func WithAuditID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, auditIDKey{}, id)
}

// AuditIDFrom is the request's audit ID, or "" outside a request.
func AuditIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(auditIDKey{}).(string)
	return id
}
