// Package metrics holds the Prometheus registry every part of kapi
// records into, and that the router serves at /metrics. Metric names
// follow kube-apiserver's where it has one.
package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	compbaseversion "k8s.io/apimachinery/pkg/util/version"
	"k8s.io/component-base/featuregate"
	metricsfeatures "k8s.io/component-base/metrics/features"
	basever "k8s.io/component-base/version"
)

// Registry is kapi's metrics registry.
var Registry = prometheus.NewRegistry()

// SLIs is the registry served at /metrics/slis: kube's service-level
// indicators (component-base's slis), the results of the health checks
// and the process's start time.
var SLIs = prometheus.NewRegistry()

// Healthchecks are kube's SLIs of /healthz, /livez and /readyz: each
// check's last result (1 healthy, 0 not) and the count of its results.
var (
	Healthcheck = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kubernetes_healthcheck",
		Help: "[STABLE] This metric records the result of a single healthcheck."}, []string{"name", "type"})
	HealthchecksTotal = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kubernetes_healthchecks_total",
		Help: "[STABLE] This metric records the results of all healthcheck."}, []string{"name", "type", "status"})
)

func init() {
	// The Go runtime's metrics as kube's legacy registry has them: every
	// runtime/metrics one besides the classic go_memstats_*.
	Registry.MustRegister(collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(collectors.MetricsAll)),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// The start time, as kube's RegisterProcessStartTime: here the time
	// the package was initialised, a moment after the process started.
	start := prometheus.NewGauge(prometheus.GaugeOpts{Name: "process_start_time_seconds",
		Help: "[ALPHA] Start time of the process since unix epoch in seconds."})
	start.Set(float64(time.Now().UnixNano()) / 1e9)
	SLIs.MustRegister(Healthcheck, HealthchecksTotal, start)
	// kube's own libraries' histograms (API Priority and Fairness, the
	// authorization and encryption reloads) are native too, as in
	// kube-apiserver 1.37: component-base reads NativeHistograms when it
	// creates them, at their registration, after this.
	gate := featuregate.NewVersionedFeatureGate(compbaseversion.MustParse(basever.DefaultKubeBinaryVersion))
	if err := metricsfeatures.AddFeatureGates(gate); err != nil {
		panic(err)
	}
	metricsfeatures.ApplyFeatureGates(gate)
}

// Counter registers a counter vector with the given labels.
func Counter(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	Registry.MustRegister(c)
	return c
}

// Gauge registers a gauge vector with the given labels.
func Gauge(name, help string, labels ...string) *prometheus.GaugeVec {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, labels)
	Registry.MustRegister(g)
	return g
}

// Histogram registers a histogram vector with the given buckets and
// labels. It is a native histogram too (exposed in both forms to a
// scraper that asks for protobuf), as component-base's are with kube
// 1.37's NativeHistograms (beta, on): buckets at most 10% wider than the
// one before, at most 160 of them.
func Histogram(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets,
		NativeHistogramBucketFactor: 1.1, NativeHistogramMaxBucketNumber: 160}, labels)
	Registry.MustRegister(h)
	return h
}

// Find is the value of the series of the metric name in g whose labels
// are exactly labels (a histogram's: its count of observations), and
// whether the series exists. Tests read metrics with it, from kapi's
// registry or from component-base's.
func Find(g prometheus.Gatherer, name string, labels map[string]string) (float64, bool, error) {
	families, err := g.Gather()
	if err != nil {
		return 0, false, err
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			if len(m.GetLabel()) != len(labels) {
				continue
			}
			for _, l := range m.GetLabel() {
				if v, ok := labels[l.GetName()]; !ok || v != l.GetValue() {
					continue series
				}
			}
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue(), true, nil
			case m.Gauge != nil:
				return m.Gauge.GetValue(), true, nil
			case m.Histogram != nil:
				return float64(m.Histogram.GetSampleCount()), true, nil
			}
			return 0, true, nil
		}
	}
	return 0, false, nil
}
