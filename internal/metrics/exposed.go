package metrics

import (
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	compbasemetrics "k8s.io/component-base/metrics"
)

// What /metrics leaves out, as component-base's registries do: the
// hidden metrics (deprecated ones past their last release: shown again
// by --show-hidden-metrics-for-version, which names the previous minor)
// and the disabled ones (--disabled-metrics, which wins over showing).
// kube's own libraries' metrics, which kapi serves from component-base's
// registry, are hidden and disabled by component-base itself
// (ShowHidden and Disable tell it too).
var (
	hiddenNames sync.Map // name -> struct{}
	showHidden  atomic.Bool

	disabledMu    sync.RWMutex
	disabledNames = map[string]struct{}{}

	hiddenTotal   = plainCounter("hidden_metrics_total", "[BETA] The count of hidden metrics.")
	disabledTotal = plainCounter("disabled_metrics_total", "[BETA] The count of disabled metrics.")
)

// plainCounter registers a counter without labels, served from 0.
func plainCounter(name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	Registry.MustRegister(c)
	return c
}

// Hide makes the metric name hidden: left out of /metrics unless
// ShowHidden was called, and counted in hidden_metrics_total.
func Hide(name string) {
	if _, loaded := hiddenNames.LoadOrStore(name, struct{}{}); !loaded {
		hiddenTotal.Inc()
	}
}

// ShowHidden shows the hidden metrics (--show-hidden-metrics-for-version).
func ShowHidden() {
	showHidden.Store(true)
	compbasemetrics.SetShowHidden()
}

// Disable leaves the metrics named out of /metrics (--disabled-metrics),
// each counted once in disabled_metrics_total; empty names are ignored.
func Disable(names []string) {
	disabledMu.Lock()
	defer disabledMu.Unlock()
	for _, n := range names {
		if _, ok := disabledNames[n]; n != "" && !ok {
			disabledNames[n] = struct{}{}
			disabledTotal.Inc()
		}
	}
	compbasemetrics.SetDisabledMetrics(names)
}

// Exposed is what /metrics serves of gs: their families less the hidden
// and the disabled ones.
func Exposed(gs ...prometheus.Gatherer) prometheus.Gatherer {
	return exposed{prometheus.Gatherers(gs)}
}

type exposed struct{ g prometheus.Gatherer }

func (e exposed) Gather() ([]*dto.MetricFamily, error) {
	all, err := e.g.Gather()
	disabledMu.RLock()
	defer disabledMu.RUnlock()
	out := all[:0]
	for _, mf := range all {
		name := mf.GetName()
		if _, off := disabledNames[name]; off {
			continue
		}
		if _, h := hiddenNames.Load(name); h && !showHidden.Load() {
			continue
		}
		out = append(out, mf)
	}
	return out, err
}
