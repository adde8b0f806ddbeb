package filters

import (
	"net/http"

	"github.com/google/uuid"
	"k8s.io/klog/v2"

	"kapi/internal/audit"
	"kapi/internal/request"
)

// AuditInit gives the request its audit ID, as kube-apiserver's
// outermost filter (WithAuditInit): the client's Audit-ID header, or a
// new UUID; the response carries it. With the ID, the request's context
// keeps the audit annotations and warnings added before the audit filter
// and the handler (by authentication), as kube's audit context and warning
// recorder do; it gets a logger with the ID (key auditID,
// as kube's contextual logging), so that every line code on the request
// path logs with klog.FromContext tells which request it belongs to:
//
//	I0102 15:04:05.000000 1 webhook.go:117] "Failed calling webhook, failing open" auditID="0b8f..." webhook="x.example.com" err="..."
func AuditInit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(audit.HeaderAuditID)
		if id == "" {
			id = uuid.NewString()
		}
		w.Header().Set(audit.HeaderAuditID, id)
		ctx := request.WithAuditID(r.Context(), id)
		ctx = klog.NewContext(ctx, klog.LoggerWithValues(klog.Background(), "auditID", id))
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}
