package audit

import (
	"context"

	"k8s.io/klog/v2"

	"kapi/internal/request"
)

// An annotation added before the audit filter makes the request's Record
// (authentication runs first, and a service-account token's use is
// annotated then: "authentication.k8s.io/legacy-token", ".../stale-token",
// ...) waits in the request's context (request.AddEarlyAnnotation), as in
// the audit context kube-apiserver's outermost filter (WithAuditInit)
// makes; NewRecord starts the event with them, so that they are in the
// request's event, and in the event of a request whose credentials were
// refused. After that, AddAnnotation writes to the Record.

// setAnnotation sets key=value in m (made when nil) unless key has
// another value already: as kube-apiserver, a key keeps its first value,
// and the second is logged.
func setAnnotation(m map[string]string, auditID, key, value string) map[string]string {
	if m == nil {
		m = map[string]string{}
	}
	if old, ok := m[key]; ok && old != value {
		klog.Warningf("Failed to set annotations[%q] to %q for audit:%q, it has already been set to %q", key, value, auditID, old)
		return m
	}
	m[key] = value
	return m
}

// addPending is AddAnnotation before the Record exists.
func addPending(ctx context.Context, key, value string) {
	id := request.AuditIDFrom(ctx)
	request.AddEarlyAnnotation(ctx, func(m map[string]string) map[string]string { return setAnnotation(m, id, key, value) })
}
