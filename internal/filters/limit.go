package filters

import (
	"net/http"

	"kapi/internal/metrics"
	"kapi/internal/request"
)

// inflight is kube-apiserver's gauge of the requests being served, by
// kind (readOnly, mutating), kept by the in-flight limits or by API
// Priority and Fairness, whichever runs. kube-apiserver samples the
// highest number of each second; kapi reports the number now. A 429
// counts in apiserver_request_total{code="429"} (recordDropped), as
// kube-apiserver counts it.
var inflight = metrics.Gauge("apiserver_current_inflight_requests",
	"[STABLE] Maximal number of currently used inflight request limit of this apiserver per request kind in last second.", "request_kind")

// inqueue is kube-apiserver's gauge of the requests waiting in a queue of
// API Priority and Fairness, by kind; as inflight, the number now. The
// in-flight limits have no queue, and kube-apiserver then sets no value.
var inqueue = metrics.Gauge("apiserver_current_inqueue_requests",
	"[ALPHA] Maximal number of queued requests in this apiserver per request kind in last second.", "request_kind")

// mutatingVerbs are the verbs --max-mutating-requests-inflight limits.
var mutatingVerbs = map[string]bool{"create": true, "update": true, "patch": true, "delete": true, "deletecollection": true,
	"post": true, "put": true}

// MaxInFlight limits the requests served at once, read-only and mutating
// apart (--max-requests-inflight, --max-mutating-requests-inflight; 0 is
// no limit). Beyond a limit the answer is 429 with Retry-After: 1,
// except to a member of system:masters (an administrator or kapi's own
// loopback client), whom kube-apiserver always serves: such a request
// takes a free slot like any other, and is served without one when none
// is free. Long-running requests (watches) are not counted.
func MaxInFlight(readOnly, mutating int) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		slots := map[string]chan struct{}{}
		if readOnly > 0 {
			slots["readOnly"] = make(chan struct{}, readOnly)
		}
		if mutating > 0 {
			slots["mutating"] = make(chan struct{}, mutating)
		}
		if len(slots) == 0 {
			return next
		}
		for kind := range slots {
			inflight.WithLabelValues(kind).Add(0)
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			info := request.InfoFrom(r.Context())
			if isLongRunning(info) {
				next.ServeHTTP(w, r)
				return
			}
			kind := "readOnly"
			if info != nil && mutatingVerbs[info.Verb] {
				kind = "mutating"
			}
			ch := slots[kind]
			if ch == nil {
				next.ServeHTTP(w, r)
				return
			}
			select {
			case ch <- struct{}{}:
			default:
				if u := request.UserFrom(r.Context()); u != nil && u.InGroup(request.SystemPrivileged) {
					next.ServeHTTP(w, r)
					return
				}
				recordDropped(r, info)
				request.LogFrom(r.Context()).Add("limit", "dropped-"+kind)
				w.Header().Set("Retry-After", "1")
				writeStatusDetails(w, r, http.StatusTooManyRequests, "TooManyRequests", "Too many requests, please try again later.", 1)
				return
			}
			inflight.WithLabelValues(kind).Inc()
			defer func() {
				<-ch
				inflight.WithLabelValues(kind).Dec()
			}()
			next.ServeHTTP(w, r)
		})
	}
}
