package authn

import (
	"time"

	"kapi/internal/metrics"
)

// kube-apiserver's metrics of its token caches
// (k8s.io/apiserver/pkg/authentication/token/cache/stats.go), shared by
// every TokenCache of the process as kube's are by its caches (the one in
// front of the token authenticators and the token webhook's): the same
// names, labels and help (kube gives them none: "[ALPHA] "), the latency
// histogram without buckets of its own, as kube's: with native histograms
// (kube 1.37's default) that is a native histogram only, its classic form
// a count and a sum. kapi records them in its
// own registry; nothing in the process uses kube's cache, whose package
// would register the same names in component-base's.
//
//   - request_total{status=hit|miss}, request_duration_seconds{status}:
//     each lookup, and how long it took (kube's in whole milliseconds);
//   - fetch_total{status=ok|error}: each call of the authenticator;
//   - active_fetch_count{status=blocked|in_flight}: the callers waiting
//     for a fetch, and the fetches under way.
var (
	tokenCacheRequests = metrics.Counter("authentication_token_cache_request_total", "[ALPHA] ", "status")
	tokenCacheLatency  = metrics.Histogram("authentication_token_cache_request_duration_seconds", "[ALPHA] ",
		nil, "status")
	tokenCacheFetches       = metrics.Counter("authentication_token_cache_fetch_total", "[ALPHA] ", "status")
	tokenCacheActiveFetches = metrics.Gauge("authentication_token_cache_active_fetch_count", "[ALPHA] ", "status")
)

// observeTokenLookup counts a lookup ("hit" or "miss") that started at
// start.
func observeTokenLookup(status string, start time.Time) {
	tokenCacheRequests.WithLabelValues(status).Inc()
	tokenCacheLatency.WithLabelValues(status).Observe(float64(time.Since(start).Milliseconds()) / 1000)
}
