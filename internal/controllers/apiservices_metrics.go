package controllers

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"

	"kapi/internal/metrics"
)

// kube-aggregator's availability metrics (pkg/controllers/status/metrics),
// which kube-prometheus' KubeAggregatedAPIDown and KubeAggregatedAPIErrors
// alerts read:
//   - aggregator_unavailable_apiservice, 1 for each APIService last found
//     not Available, 0 for the others, local ones included; an APIService
//     deleted is forgotten;
//   - aggregator_unavailable_apiservice_total, counted when a status write
//     takes an APIService from available to not, by the new condition's
//     reason.
var (
	unavailableDesc = prometheus.NewDesc("aggregator_unavailable_apiservice",
		"[ALPHA] Gauge of APIServices which are marked as unavailable broken down by APIService name.",
		[]string{"name"}, nil)
	unavailableTotal = metrics.Counter("aggregator_unavailable_apiservice_total",
		"[ALPHA] Counter of APIServices which are marked as unavailable broken down by APIService name and reason.",
		"name", "reason")
	availability = &availabilityGauge{by: map[*APIServiceAvailability]map[string]bool{}}
)

func init() { metrics.Registry.MustRegister(availability) }

// availabilityGauge is aggregator_unavailable_apiservice: the availability
// found by each running loop's last checks (tests run several servers in
// one process; an APIService one of them finds unavailable is).
type availabilityGauge struct {
	mu sync.Mutex
	by map[*APIServiceAvailability]map[string]bool
}

func (g *availabilityGauge) Describe(ch chan<- *prometheus.Desc) { ch <- unavailableDesc }

func (g *availabilityGauge) Collect(ch chan<- prometheus.Metric) {
	g.mu.Lock()
	all := map[string]bool{}
	for _, available := range g.by {
		for name, ok := range available {
			if was, seen := all[name]; !seen || was {
				all[name] = ok
			}
		}
	}
	g.mu.Unlock()
	for name, ok := range all {
		v := 1.0
		if ok {
			v = 0
		}
		ch <- prometheus.MustNewConstMetric(unavailableDesc, prometheus.GaugeValue, v, name)
	}
}

// set records what c's checks of every APIService there is found: the
// names missing are forgotten; nil forgets c's.
func (g *availabilityGauge) set(c *APIServiceAvailability, available map[string]bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if available == nil {
		delete(g.by, c)
		return
	}
	g.by[c] = available
}

// countUnavailable is kube's SetUnavailableCounter, for a status written:
// from available to not counts once, by the new condition's reason.
func countUnavailable(name string, was, now *apiregistrationv1.APIServiceCondition) {
	wasAvailable := was != nil && was.Status == apiregistrationv1.ConditionTrue
	if !wasAvailable || now.Status == apiregistrationv1.ConditionTrue {
		return
	}
	unavailableTotal.WithLabelValues(name, now.Reason).Inc()
}
