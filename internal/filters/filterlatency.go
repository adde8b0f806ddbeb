package filters

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"kapi/internal/metrics"
	"kapi/internal/request"
)

// filterDurations is kube-apiserver's apiserver_request_filter_duration_seconds
// (k8s.io/apiserver/pkg/endpoints/filterlatency): how long each filter
// takes before it hands the request on, by kube's filter names
// ("authentication", "audit", "constrainedimpersonation",
// "priorityandfairness", "authorization").
var filterDurations = metrics.Histogram("apiserver_request_filter_duration_seconds",
	"[ALPHA] Request filter latency distribution in seconds, for each filter type",
	[]float64{0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 5.0, 10.0, 15.0, 30.0},
	"filter")

// TimeFilter times filter f as name: from when f gets the request to
// when it hands it on. A request f answers itself (a 403 of
// authorization) is not observed, as in kube-apiserver; nil is nil.
//
// Example: TimeFilter("authorization", Authorize(az, nil)).
func TimeFilter(name string, f func(http.Handler) http.Handler) func(http.Handler) http.Handler {
	if f == nil {
		return nil
	}
	return func(next http.Handler) http.Handler {
		return filterStarted(name, f(filterCompleted(next)))
	}
}

// filterStartKey holds a request's FilterStart when it has no state of
// its own (request.FilterStartFrom: a filter tested alone).
type filterStartKey struct{}

func filterStartFrom(ctx context.Context) *request.FilterStart {
	if fs := request.FilterStartFrom(ctx); fs != nil {
		return fs
	}
	fs, _ := ctx.Value(filterStartKey{}).(*request.FilterStart)
	return fs
}

// filterStarted notes that the filter name starts now, in the request's
// one FilterStart, which each timed filter takes over in turn.
func filterStarted(name string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		if fs := filterStartFrom(r.Context()); fs != nil {
			fs.Name, fs.Started = name, now
			h.ServeHTTP(w, r)
			return
		}
		fs := &request.FilterStart{Name: name, Started: now}
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), filterStartKey{}, fs)))
	})
}

// filterCompleted observes the time of the filter that started last, if
// one did and was not observed yet.
func filterCompleted(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fs := filterStartFrom(r.Context()); fs != nil && fs.Name != "" {
			filterDuration(fs.Name).Observe(time.Since(fs.Started).Seconds())
			fs.Name = ""
		}
		h.ServeHTTP(w, r)
	})
}

// filterSeries are the series of the filters' names, made when first
// observed (a sync.Map read is cheaper than the vector's lookup).
var filterSeries sync.Map // name -> prometheus.Observer

func filterDuration(name string) prometheus.Observer {
	if o, ok := filterSeries.Load(name); ok {
		return o.(prometheus.Observer)
	}
	o, _ := filterSeries.LoadOrStore(name, filterDurations.WithLabelValues(name))
	return o.(prometheus.Observer)
}
