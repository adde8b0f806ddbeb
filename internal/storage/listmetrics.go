package storage

import (
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"kapi/internal/metrics"
)

// kube-apiserver's costs of the lists storage serves
// (k8s.io/apiserver/pkg/storage/metrics), by the storage that served
// them: etcd, or the watch cache from memory. kube counts the lists of
// its etcd store's GetList and of its watch cache's GetList, not the
// initial list of a watch (a watch cache filling itself): kapi's etcd
// store and cache count the same.
var (
	listTotal = metrics.Counter("apiserver_storage_list_total",
		"[ALPHA] Number of LIST requests served from storage", "group", "resource", "storage", "index")
	listFetched = metrics.Counter("apiserver_storage_list_fetched_objects_total",
		"[ALPHA] Number of objects read from storage in the course of serving a LIST request", "group", "resource", "storage", "index")
	listEvaluated = metrics.Counter("apiserver_storage_list_evaluated_objects_total",
		"[ALPHA] Number of objects tested in the course of serving a LIST request from storage", "group", "resource", "storage")
	listReturned = metrics.Counter("apiserver_storage_list_returned_objects_total",
		"[ALPHA] Number of objects returned for a LIST request from storage", "group", "resource", "storage")
)

// The storage label's values (kube's StorageBackendEtcd and
// StorageBackendWatchCache).
const (
	StorageEtcd       = "etcd"
	StorageWatchCache = "watchcache"
)

// ListMetrics are one resource's list-cost counters of one storage.
type ListMetrics struct {
	gr      schema.GroupResource
	storage string
	// The series of lists that used no index, the usual ones.
	total, fetched, evaluated, returned *metrics.Series[prometheus.Counter]
}

// NewListMetrics are the counters of the lists storage (StorageEtcd or
// StorageWatchCache) serves of gr.
func NewListMetrics(gr schema.GroupResource, storage string) *ListMetrics {
	g, r := gr.Group, gr.Resource
	return &ListMetrics{gr: gr, storage: storage,
		total:     metrics.NewSeries(listTotal, g, r, storage, ""),
		fetched:   metrics.NewSeries(listFetched, g, r, storage, ""),
		evaluated: metrics.NewSeries(listEvaluated, g, r, storage),
		returned:  metrics.NewSeries(listReturned, g, r, storage),
	}
}

// Record counts one list that read fetched objects (by the index named
// index, kube's "l:<label>" or "f:<field>", or none: ""), tested
// evaluated of them against the request's selectors and returned
// returned. A nil ListMetrics records nothing.
func (m *ListMetrics) Record(index string, fetched, evaluated, returned int) {
	if m == nil {
		return
	}
	var total, fetchedC prometheus.Counter
	if index == "" {
		total, fetchedC = m.total.Get(), m.fetched.Get()
	} else {
		total = listTotal.WithLabelValues(m.gr.Group, m.gr.Resource, m.storage, index)
		fetchedC = listFetched.WithLabelValues(m.gr.Group, m.gr.Resource, m.storage, index)
	}
	total.Inc()
	fetchedC.Add(float64(fetched))
	m.evaluated.Get().Add(float64(evaluated))
	m.returned.Get().Add(float64(returned))
}
