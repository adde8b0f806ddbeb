package cacher

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"kapi/internal/metrics"
	"kapi/internal/storage"
)

// kube-apiserver's watch cache metrics
// (k8s.io/apiserver/pkg/storage/cacher/metrics), by resource.
var (
	initializations = metrics.Counter("apiserver_watch_cache_initializations_total",
		"[ALPHA] Counter of watch cache initializations broken by resource type.", "group", "resource")
	initializationErrors = metrics.Counter("apiserver_watch_cache_initialization_errors_total",
		"[ALPHA] Counter of watch cache initialization errors broken by resource type.", "group", "resource")
	initializationDuration = metrics.Histogram("apiserver_watch_cache_initialization_duration_seconds",
		"[ALPHA] Histogram of watch cache initialization duration in seconds, broken by resource type.",
		[]float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 180, 600}, "group", "resource")
	eventsReceived = metrics.Counter("apiserver_watch_cache_events_received_total",
		"[ALPHA] Counter of events received in watch cache broken by resource type.", "group", "resource")
	eventsDispatched = metrics.Counter("apiserver_watch_cache_events_dispatched_total",
		"[ALPHA] Counter of events dispatched in watch cache broken by resource type.", "group", "resource")
	resourceVersion = metrics.Gauge("apiserver_watch_cache_resource_version",
		"[ALPHA] Current resource version of watch cache broken by resource type. This is truncated to the 15 least significant digits.",
		"group", "resource")
	readWait = metrics.Histogram("apiserver_watch_cache_read_wait_seconds",
		"[ALPHA] Histogram of time spent waiting for a watch cache to become fresh.",
		[]float64{0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2, 3}, "group", "resource")
	consistentReads = metrics.Counter("apiserver_watch_cache_consistent_read_total",
		"[ALPHA] Counter for consistent reads from cache.", "group", "resource", "success", "fallback")
	terminatedWatchers = metrics.Counter("apiserver_terminated_watchers_total",
		"[ALPHA] Counter of watchers closed due to unresponsiveness broken by resource type.", "group", "resource")
	// capacity is how many recent events the cache keeps for watches
	// that resume from a resourceVersion (Options.Events). kube's grows
	// and shrinks its buffer between 100 and a larger bound as the
	// resource changes more or less often; kapi's ring has one size.
	capacity = metrics.Gauge("watch_cache_capacity",
		"[ALPHA] Total capacity of watch cache broken by resource type.", "group", "resource")

	fallbacks = metrics.Counter("kapi_watch_cache_fallbacks_total",
		"Consistent reads the watch cache could not catch up for in time, served by etcd.", "resource")
)

// cacheMetrics are one cache's series. Most are made on first use, as
// kube's appear once something is counted in them; the dispatch stages'
// (dispatch.go) and the capacity are made with the cache, as kube makes
// them with its cacher (its /metrics has the three stages of every cached
// resource, at zero until a watcher receives an event).
type cacheMetrics struct {
	gr                   schema.GroupResource
	received, dispatched *metrics.Series[prometheus.Counter]
	rv                   *metrics.Series[prometheus.Gauge]
	readWait             *metrics.Series[prometheus.Observer]
	terminated           *metrics.Series[prometheus.Counter]
	consistent           [2][2]*metrics.Series[prometheus.Counter] // by success, fallback
	lists                *storage.ListMetrics
	dispatch             *dispatchHistogram
}

func newCacheMetrics(gr schema.GroupResource, events int) *cacheMetrics {
	g, r := gr.Group, gr.Resource
	capacity.WithLabelValues(g, r).Set(float64(events))
	m := &cacheMetrics{gr: gr,
		received:   metrics.NewSeries(eventsReceived, g, r),
		dispatched: metrics.NewSeries(eventsDispatched, g, r),
		rv:         metrics.NewSeries(resourceVersion, g, r),
		readWait:   metrics.NewSeries(readWait, g, r),
		terminated: metrics.NewSeries(terminatedWatchers, g, r),
		lists:      storage.NewListMetrics(gr, storage.StorageWatchCache),
		dispatch:   dispatch.of(gr),
	}
	for _, success := range []bool{false, true} {
		for _, fallback := range []bool{false, true} {
			m.consistent[b2i(success)][b2i(fallback)] = metrics.NewSeries(consistentReads, g, r,
				strconv.FormatBool(success), strconv.FormatBool(fallback))
		}
	}
	return m
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// initialized records one filling of the cache that took d; a failed
// one (the cache lists and watches again), failed.
func (m *cacheMetrics) initialized(d time.Duration) {
	initializations.WithLabelValues(m.gr.Group, m.gr.Resource).Inc()
	initializationDuration.WithLabelValues(m.gr.Group, m.gr.Resource).Observe(d.Seconds())
}

func (m *cacheMetrics) failed() {
	initializationErrors.WithLabelValues(m.gr.Group, m.gr.Resource).Inc()
}

// consistentRead records one consistent list: served (success), and
// by etcd because the cache did not catch up in time (fallback).
func (m *cacheMetrics) consistentRead(success, fallback bool) {
	m.consistent[b2i(success)][b2i(fallback)].Get().Inc()
}

// revision records the revision the cache is at, as kube's: its 15 least
// significant digits, which a float64 holds exactly.
func (m *cacheMetrics) revision(rev int64) {
	m.rv.Get().Set(float64(rev % 1_000_000_000_000_000))
}

// epoch is the origin of now.
var epoch = time.Now()

// now is the monotonic time in nanoseconds since epoch: eight bytes in an
// event, where a time.Time takes twenty-four.
func now() int64 { return int64(time.Since(epoch)) }

// mono is t as now gives it; 0 for the zero time.
func mono(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return int64(t.Sub(epoch))
}
