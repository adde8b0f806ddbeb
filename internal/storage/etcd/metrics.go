package etcd

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"kapi/internal/metrics"
)

// kube-apiserver's etcd metrics (k8s.io/apiserver/pkg/storage/etcd3/metrics),
// by operation and resource. The operations are kube-apiserver's names:
// get, list, create, update, delete, getCurrentResourceVersion, and
// listOnlyKeys for the count of apiserver_storage_objects (kapi asks etcd
// for the count only).
var (
	etcdRequestLatency = metrics.Histogram("etcd_request_duration_seconds",
		"[ALPHA] Etcd request latency in seconds for each operation and object type.",
		[]float64{0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60},
		"operation", "group", "resource")
	etcdRequestCounts = metrics.Counter("etcd_requests_total",
		"[ALPHA] Etcd request counts for each operation and object type.", "operation", "group", "resource")
	etcdRequestErrorCounts = metrics.Counter("etcd_request_errors_total",
		"[ALPHA] Etcd failed request counts for each operation and object type.", "operation", "group", "resource")
)

// Operations of the etcd metrics.
const (
	opGet      = "get"
	opList     = "list"
	opCreate   = "create"
	opUpdate   = "update"
	opDelete   = "delete"
	opRevision = "getCurrentResourceVersion"
	opCount    = "listOnlyKeys"
)

// opMetrics are one resource's observers of one operation, looked up once.
type opMetrics struct {
	latency prometheus.Observer
	count   prometheus.Counter
	errors  prometheus.Counter
}

// storeMetrics are a Store's observers, by operation.
type storeMetrics map[string]*opMetrics

func newStoreMetrics(gr schema.GroupResource) storeMetrics {
	m := storeMetrics{}
	for _, op := range []string{opGet, opList, opCreate, opUpdate, opDelete, opRevision, opCount} {
		m[op] = &opMetrics{
			latency: etcdRequestLatency.WithLabelValues(op, gr.Group, gr.Resource),
			count:   etcdRequestCounts.WithLabelValues(op, gr.Group, gr.Resource),
			errors:  etcdRequestErrorCounts.WithLabelValues(op, gr.Group, gr.Resource),
		}
	}
	return m
}

// SetResource names the resource the store keeps, for its metrics (kube's
// group and resource labels); a store without one records nothing.
func (s *Store) SetResource(gr schema.GroupResource) *Store {
	s.metrics = newStoreMetrics(gr)
	return s
}

// observe records one etcd request of op that started at start, and
// returns its error as the registry should see it (unavailable).
func (s *Store) observe(op string, start time.Time, err error) error {
	if m := s.metrics[op]; m != nil {
		m.latency.Observe(time.Since(start).Seconds())
		m.count.Inc()
		if err != nil {
			m.errors.Inc()
		}
	}
	return unavailable(err, op == opCreate || op == opUpdate || op == opDelete)
}

// Count is the number of objects stored, asked of etcd without reading
// them (for apiserver_storage_objects).
func (s *Store) Count(ctx context.Context) (int64, error) {
	start := time.Now()
	resp, err := s.client.Get(ctx, s.root, clientv3.WithPrefix(), clientv3.WithCountOnly())
	err = s.observe(opCount, start, err)
	if err != nil {
		return 0, err
	}
	return resp.Count, nil
}
