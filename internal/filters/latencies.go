package filters

import (
	"net/http"

	"kapi/internal/request"
)

// Latencies gives each request but a watch the request.Latencies that
// admission webhooks and API Priority and Fairness fill in, for the
// metrics filter's apiserver_request_sli_duration_seconds, as
// kube-apiserver's WithLatencyTrackers (a watch has no SLI latency). It
// runs after the request info, before the filters that wait.
func Latencies(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if info := request.InfoFrom(r.Context()); info == nil || info.Verb == "watch" {
			next.ServeHTTP(w, r)
			return
		}
		if ctx, _ := request.WithLatencies(r.Context()); ctx != r.Context() {
			r = r.WithContext(ctx) // (no request state: a filter tested alone)
		}
		next.ServeHTTP(w, r)
	})
}
