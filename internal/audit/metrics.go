package audit

import "kapi/internal/metrics"

// Metrics as kube-apiserver names them, and one it has not: the events a
// sink dropped because its buffer was full (kube-apiserver counts those only
// as errors of the "buffered" plugin, which kapi does too).
var (
	eventCounter = metrics.Counter("apiserver_audit_event_total",
		"[ALPHA] Counter of audit events generated and sent to the audit backend.")
	errorCounter = metrics.Counter("apiserver_audit_error_total",
		"[ALPHA] Counter of audit events that failed to be audited properly. Plugin identifies the plugin affected by the error.",
		"plugin")
	levelCounter = metrics.Counter("apiserver_audit_level_total",
		"[ALPHA] Counter of policy levels for audit events (1 per request).",
		"level")
	rejectedCounter = metrics.Counter("apiserver_audit_requests_rejected_total",
		"[ALPHA] Counter of apiserver requests rejected due to an error in audit logging backend.")
	droppedCounter = metrics.Counter("apiserver_audit_event_dropped_total",
		"Counter of audit events dropped because the buffer of the audit backend was full or shut down. Plugin identifies the backend.",
		"plugin")
)

// The counters without labels are served from the start, at 0, as kube's.
func init() {
	eventCounter.WithLabelValues()
	rejectedCounter.WithLabelValues()
}

// Rejected counts a request refused because a blocking-strict sink could
// not take its first event.
func Rejected() { rejectedCounter.WithLabelValues().Inc() }
