package server

import (
	"context"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/component-base/metrics/legacyregistry"

	"kapi/internal/metrics"
	"kapi/internal/registry"
	"kapi/internal/request"
	"kapi/internal/storage"
)

// metricsHandler serves /metrics in the Prometheus text format: kapi's
// metrics and kube's metrics of encryption at rest (encryptionMetrics), of
// the authentication and authorization webhooks (authMetrics), of API
// Priority and Fairness (fairnessMetrics), of PodSecurity and of the
// feature gates (legacyMetrics), less the hidden and disabled ones
// (metrics.Exposed). The authorize filter asks RBAC for "get" on the
// non-resource URL /metrics, as kube-apiserver does (the bootstrap role
// system:monitoring, bound to the group system:monitoring, allows it).
func metricsHandler() http.Handler {
	return promhttp.HandlerFor(metrics.Exposed(metrics.Registry, encryptionMetrics, authMetrics, fairnessMetrics, legacyMetrics), promhttp.HandlerOpts{})
}

// legacyMetrics are the metrics libraries record in component-base's
// legacy registry: the PodSecurity plugin's (pod-security-admission;
// internal/admission's podSecurityMetrics), the feature gates'
// (kubernetes_feature_enabled, features.RecordMetrics), client-go's
// (rest_client_*: the kapi binary registers them, cmd/kapi), CEL's
// (apiserver_cel_*: the CRD validation rules' compilations and
// evaluations, which apiextensions-apiserver's validator times), the
// admission policies' (their checks, which internal/admission/policy
// counts in k8s.io/apiserver's metrics, as kube's dispatchers do) and the
// match conditions' of webhooks and policies (their evaluations, which
// k8s.io/apiserver's matcher counts, and the webhooks they leave out,
// which internal/admission/webhook counts).
var legacyMetrics prometheus.Gatherer = prefixGatherer{legacyregistry.DefaultGatherer, []string{"pod_security_", "kubernetes_feature_enabled", "rest_client_",
	"apiserver_cel_", "apiserver_validating_admission_policy_", "apiserver_mutating_admission_policy_", "apiserver_admission_match_condition_"}}

// sliHandler serves /metrics/slis, kube's service-level indicators: the
// health checks' results.
func sliHandler() http.Handler {
	return promhttp.HandlerFor(metrics.SLIs, promhttp.HandlerOpts{})
}

// servedBy reports whether the MUX serves a request's resource, for the
// request metrics: an error of a resource that does not exist is not
// counted. (A non-resource request is counted only when its handler says
// so: request.Instrument.)
func servedBy(cat *registry.Catalogue) func(*request.Info) bool {
	return func(info *request.Info) bool {
		if !info.IsResourceRequest {
			return false
		}
		st := cat.Snapshot().Store(schema.GroupVersionResource{Group: info.APIGroup, Version: info.APIVersion, Resource: info.Resource})
		// A subresource nobody serves is no label value either: a client
		// could make up as many as it liked, and any bytes.
		return st != nil && (info.Subresource == "" || st.R.Sub(info.Subresource) != nil)
	}
}

// kube-apiserver's storage gauges (k8s.io/apiserver/pkg/storage/etcd3/metrics),
// counted when /metrics is read rather than every minute: from the watch
// cache's memory where there is one, with a count-only etcd request
// otherwise. apiserver_storage_objects is deprecated since 1.34 in favour
// of apiserver_resource_objects, and hidden from 1.37, as in kube: shown
// with --show-hidden-metrics-for-version=1.36.
var (
	storageObjectsDesc = prometheus.NewDesc("apiserver_storage_objects",
		"[STABLE] (Deprecated since 1.34.0) [DEPRECATED, consider using apiserver_resource_objects instead] Number of stored objects at the time of last check split by kind. In case of a fetching error, the value will be -1.",
		[]string{"resource"}, nil)
	resourceObjectsDesc = prometheus.NewDesc("apiserver_resource_objects",
		"[ALPHA] Number of stored objects at the time of last check split by kind. In case of a fetching error, the value will be -1.",
		[]string{"group", "resource"}, nil)
	// kube's estimate (on by default: SizeBasedListCostEstimate) is the
	// mean size of the values its watch cache saw times the count; kapi's
	// cache adds up every value's size. -1 when not known, as kube's.
	resourceSizeDesc = prometheus.NewDesc("apiserver_resource_size_estimate_bytes",
		"[ALPHA] Estimated size of stored objects in database. Estimate is based on sum of last observed sizes of serialized objects. In case of a fetching error, the value will be -1.",
		[]string{"group", "resource"}, nil)
	storageSizeDesc = prometheus.NewDesc("apiserver_storage_size_bytes",
		"[STABLE] Size of the storage database file physically allocated in bytes.",
		[]string{"storage_cluster_id"}, nil)
)

// storageMetrics collects the storage gauges of the newest server of the
// process that still runs (tests run several in one process; the
// registry is the process's).
var storageMetrics = func() *storageCollector {
	c := &storageCollector{}
	metrics.Registry.MustRegister(c)
	metrics.Hide("apiserver_storage_objects")
	return c
}()

type storageSource struct {
	cat    *registry.Catalogue
	client *clientv3.Client
	done   <-chan struct{}
	// counts and dbSize report the objects' counts and sizes and the
	// database's size (kube's poll periods not 0).
	counts, dbSize bool
}

type storageCollector struct {
	mu      sync.Mutex
	sources []storageSource
}

// add reports the storage of src until src.done closes.
func (c *storageCollector) add(src storageSource) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sources = append(c.sources, src)
}

// current is the newest source still running.
func (c *storageCollector) current() (storageSource, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	live := c.sources[:0]
	for _, s := range c.sources {
		select {
		case <-s.done:
		default:
			live = append(live, s)
		}
	}
	c.sources = live
	if len(live) == 0 {
		return storageSource{}, false
	}
	return live[len(live)-1], true
}

func (c *storageCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- storageObjectsDesc
	ch <- resourceObjectsDesc
	ch <- resourceSizeDesc
	ch <- storageSizeDesc
}

func (c *storageCollector) Collect(ch chan<- prometheus.Metric) {
	src, ok := c.current()
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	seen := map[schema.GroupResource]bool{}
	for _, st := range src.cat.Snapshot().Stores() {
		gr := st.GroupResource()
		counter, ok := st.Storage.(storage.Counter)
		if seen[gr] || !ok || !src.counts {
			continue
		}
		seen[gr] = true
		n, err := counter.Count(ctx)
		if err != nil {
			n = -1
		}
		ch <- prometheus.MustNewConstMetric(storageObjectsDesc, prometheus.GaugeValue, float64(n), gr.String())
		ch <- prometheus.MustNewConstMetric(resourceObjectsDesc, prometheus.GaugeValue, float64(n), gr.Group, gr.Resource)
		size := int64(-1)
		if sizer, ok := st.Storage.(storage.Sizer); ok && err == nil {
			if b, known := sizer.Size(); known {
				size = b
			}
		} else if n == 0 {
			size = 0
		}
		ch <- prometheus.MustNewConstMetric(resourceSizeDesc, prometheus.GaugeValue, float64(size), gr.Group, gr.Resource)
	}
	// As kube-apiserver, the size of one etcd member's database, of one
	// cluster ("etcd-0"); a member that does not answer reports nothing.
	// The embedded etcd's in-process client has no endpoint, and answers
	// for its one member.
	if !src.dbSize {
		return
	}
	endpoint := ""
	if eps := src.client.Endpoints(); len(eps) > 0 {
		endpoint = eps[rand.IntN(len(eps))]
	}
	if status, err := src.client.Status(ctx, endpoint); err == nil {
		ch <- prometheus.MustNewConstMetric(storageSizeDesc, prometheus.GaugeValue, float64(status.DbSize), "etcd-0")
	}
}
