package webhook

import (
	"strconv"
	"time"

	"kapi/internal/metrics"
)

// kube-apiserver's webhook metrics, with its names and labels.
var (
	admissionDuration = metrics.Histogram("apiserver_admission_webhook_admission_duration_seconds",
		"[STABLE] Admission webhook latency histogram in seconds, identified by name and broken out for each operation and API resource and type (validate or admit).",
		[]float64{0.005, 0.025, 0.1, 0.5, 1.0, 2.5, 10, 25}, "name", "type", "operation", "rejected")
	rejections = metrics.Counter("apiserver_admission_webhook_rejection_count",
		"[ALPHA] Admission webhook rejection count, identified by name and broken out for each admission type (validating or admit) and operation. Additional labels specify an error type (calling_webhook_error or apiserver_internal_error if an error occurred; no_error otherwise) and optionally a non-zero rejection code if the webhook rejects the request with an HTTP status code (honored by the apiserver when the code is greater or equal to 400). Codes greater than 600 are truncated to 600, to keep the metrics cardinality bounded.",
		"name", "type", "operation", "error_type", "rejection_code")
	requests = metrics.Counter("apiserver_admission_webhook_request_total",
		"[ALPHA] Admission webhook request total, identified by name and broken out for each admission type (validating or admit) and operation. Additional labels specify whether the request was rejected or not and an HTTP status code. Codes greater than 600 are truncated to 600, to keep the metrics cardinality bounded.",
		"name", "type", "operation", "code", "rejected")
	failOpen = metrics.Counter("apiserver_admission_webhook_fail_open_count",
		"[ALPHA] Admission webhook fail open count, identified by name and broken out for each admission type (validating or admit).",
		"name", "type")
)

// Error types of apiserver_admission_webhook_rejection_count.
const (
	callingError  = "calling_webhook_error"
	noError       = "no_error"
	internalError = "apiserver_internal_error"
)

// observe records one call of a webhook: its duration, whether it
// rejected the request, and how.
func observe(name, typ, op string, took time.Duration, rejected bool, code int, errorType string) {
	if code > 600 {
		code = 600
	}
	r := strconv.FormatBool(rejected)
	admissionDuration.WithLabelValues(name, typ, op, r).Observe(took.Seconds())
	requests.WithLabelValues(name, typ, op, strconv.Itoa(code), r).Inc()
	if rejected {
		rejections.WithLabelValues(name, typ, op, errorType, strconv.Itoa(code)).Inc()
	}
}
