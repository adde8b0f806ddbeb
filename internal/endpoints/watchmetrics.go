package endpoints

import (
	"io"

	"github.com/prometheus/client_golang/prometheus"

	"kapi/internal/metrics"
)

// kube-apiserver's watch metrics: the events sent to watchers and their
// sizes (k8s.io/apiserver/pkg/endpoints/metrics), and the watchers
// registered, by kind (apiserver_registered_watchers, which kube-apiserver
// had until 1.2x with these labels and dashboards still read).
var (
	watchEvents = metrics.Counter("apiserver_watch_events_total",
		"[BETA] Number of events sent in watch clients", "group", "version", "resource")
	watchEventsSizes = metrics.Histogram("apiserver_watch_events_sizes",
		"[BETA] Watch event size distribution in bytes",
		prometheus.ExponentialBuckets(1024, 2.0, 8), // 1K, 2K, 4K, 8K, ..., 128K.
		"group", "version", "resource")
	registeredWatchers = metrics.Gauge("apiserver_registered_watchers",
		"[ALPHA] Number of currently registered watchers for a given resources", "group", "version", "kind")
)

// watchRecorder counts the bytes of each event written through it, and
// records the event when it is written (kube-apiserver's
// watchEventMetricsRecorder).
type watchRecorder struct {
	w     io.Writer
	n     int
	count prometheus.Counter
	size  prometheus.Observer
}

func newWatchRecorder(w io.Writer, s *scope) *watchRecorder {
	g, v, r := s.store.R.Group, s.info.APIVersion, s.store.R.Name
	return &watchRecorder{w: w, count: watchEvents.WithLabelValues(g, v, r), size: watchEventsSizes.WithLabelValues(g, v, r)}
}

func (c *watchRecorder) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += n
	return n, err
}

// recordEvent records the event written since the last call.
func (c *watchRecorder) recordEvent() {
	c.count.Inc()
	c.size.Observe(float64(c.n))
	c.n = 0
}

// registerWatcher counts a watcher of s's kind until the returned
// function is called.
func registerWatcher(s *scope) func() {
	g := registeredWatchers.WithLabelValues(s.store.R.Group, s.info.APIVersion, s.store.R.Kind)
	g.Inc()
	return g.Dec
}
