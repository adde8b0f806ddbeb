package filters

import "kapi/internal/metrics"

// filterOutcomes counts what the filters without a kube-apiserver metric of
// their own decided: impersonations allowed and denied, CORS origins
// allowed and denied, timeouts, panics.
var filterOutcomes = metrics.Counter("kapi_filter_outcomes_total",
	"Outcomes of the request filters, by filter and outcome.", "filter", "outcome")
