package request

import (
	"context"
	"maps"
	"sync"
)

type auditIDKey struct{}

// early is what the outermost filter gives each request: its audit ID;
// a place for what authentication, which runs before the audit record
// and the handler's warning sink exist, leaves for them (kube keeps both
// in the audit context and the warning recorder its outermost filters
// make); and the request's metrics' state (its latencies, route and
// filter start: see LatenciesFrom, WithRoute, FilterStartFrom). One
// value, so that a request pays one allocation for all of them.
type early struct {
	id string

	mu          sync.Mutex
	annotations map[string]string
	warnings    []string

	latencies   Latencies
	tracked     bool // latencies are tracked (not for a watch)
	route       Route
	routed      bool // route was handed out
	filterStart FilterStart
}

// WithAuditID records the request's audit ID, kube's request id: the
// Audit-ID header of the response, the auditID of the request's audit
// events and of its log lines.
func WithAuditID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, auditIDKey{}, &early{id: id})
}

func earlyFrom(ctx context.Context) *early {
	e, _ := ctx.Value(auditIDKey{}).(*early)
	return e
}

// AuditIDFrom is the request's audit ID, or "" outside a request.
func AuditIDFrom(ctx context.Context) string {
	if e := earlyFrom(ctx); e != nil {
		return e.id
	}
	return ""
}

// AddEarlyAnnotation keeps an audit annotation added before the
// request's audit record exists, for the record to start with. set
// decides what a second value of a key does. Outside a request it does
// nothing.
func AddEarlyAnnotation(ctx context.Context, set func(m map[string]string) map[string]string) {
	if e := earlyFrom(ctx); e != nil {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.annotations = set(e.annotations)
	}
}

// EarlyAnnotations are the annotations kept for the request's audit
// record (a copy; nil for none).
func EarlyAnnotations(ctx context.Context) map[string]string {
	e := earlyFrom(ctx)
	if e == nil {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return maps.Clone(e.annotations)
}

// TakeEarlyWarnings returns and forgets the warnings added before the
// request's warning sink existed (AddWarning without WithWarnings), for
// the authentication filter to write into the response.
func TakeEarlyWarnings(ctx context.Context) []string {
	e := earlyFrom(ctx)
	if e == nil {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	w := e.warnings
	e.warnings = nil
	return w
}
