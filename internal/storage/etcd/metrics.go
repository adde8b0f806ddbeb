package etcd

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"kapi/internal/metrics"
	"kapi/internal/storage"
)

// kube-apiserver's etcd metrics (k8s.io/apiserver/pkg/storage/etcd3/metrics),
// by operation and resource. A series appears once it has something in
// it, as kube's: etcd_request_errors_total of an operation only after
// one of its requests failed.
var (
	etcdRequestLatency = metrics.Histogram("etcd_request_duration_seconds",
		"[ALPHA] Etcd request latency in seconds for each operation and object type.",
		[]float64{0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60},
		"operation", "group", "resource")
	etcdRequestCounts = metrics.Counter("etcd_requests_total",
		"[ALPHA] Etcd request counts for each operation and object type.", "operation", "group", "resource")
	etcdRequestErrorCounts = metrics.Counter("etcd_request_errors_total",
		"[ALPHA] Etcd failed request counts for each operation and object type.", "operation", "group", "resource")
	// listLatency is a whole list's, its objects' decoding included;
	// streamed says whether it was read with etcd's RangeStream. kapi
	// reads every list in pages of Range requests, as kube does when etcd
	// has no RangeStream (its embedded etcd's in-process client has none).
	listLatency = metrics.Histogram("apiserver_storage_list_duration_seconds",
		"[ALPHA] Latency of the storage layer GetList call in seconds, including object decode, split by whether etcd RangeStream was used.",
		[]float64{0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60},
		"streamed", "group", "resource")
	// eventsReceived counts the changes every etcd watch of a resource
	// receives, before its predicate; bookmarks its progress
	// notifications.
	eventsReceived = metrics.Counter("apiserver_storage_events_received_total",
		"[BETA] Number of etcd events received split by kind.", "group", "resource")
	bookmarks = metrics.Counter("etcd_bookmark_total",
		"[ALPHA] Number of etcd bookmarks (progress notify events) split by kind.", "group", "resource")
)

// op is an etcd request's operation label: kube-apiserver 1.37's name for
// the same request (k8s.io/apiserver/pkg/storage/etcd3/store.go).
type op int

const (
	opGet      op = iota // a range of one key (a get, and the read before an update or delete)
	opList               // one page (a Range request) of a list
	opCreate             // the create transaction
	opUpdate             // the compare-and-swap transaction of an update
	opDelete             // the compare-and-swap transaction of a delete
	opRevision           // the current revision (GetCurrentResourceVersion)
	opCount              // a count-only range (kube's Stats without a watch cache)
	numOps
)

// opNames are kube's. kube 1.37 also has "listStream", a list read with
// etcd's RangeStream (EtcdRangeStream, on by default when etcd has it):
// kapi reads lists with Range requests, which kube names "list"; and
// "listOnlyKeys", the keys-only range its size estimator makes when no
// watch cache gives it the keys: kapi makes none.
var opNames = [numOps]string{
	opGet:      "get",
	opList:     "list",
	opCreate:   "create",
	opUpdate:   "update",
	opDelete:   "delete",
	opRevision: "getCurrentResourceVersion",
	opCount:    "listWithCount",
}

// opMetrics are one resource's series of one operation.
type opMetrics struct {
	latency       *metrics.Series[prometheus.Observer]
	count, errors *metrics.Series[prometheus.Counter]
}

// storeMetrics are a Store's series, made on first use.
type storeMetrics struct {
	ops         [numOps]opMetrics
	listLatency *metrics.Series[prometheus.Observer] // streamed="false"
	lists       *storage.ListMetrics
	events      *metrics.Series[prometheus.Counter]
	bookmarks   *metrics.Series[prometheus.Counter]
}

func newStoreMetrics(gr schema.GroupResource) *storeMetrics {
	g, r := gr.Group, gr.Resource
	m := &storeMetrics{
		listLatency: metrics.NewSeries(listLatency, "false", g, r),
		lists:       storage.NewListMetrics(gr, storage.StorageEtcd),
		events:      metrics.NewSeries(eventsReceived, g, r),
		bookmarks:   metrics.NewSeries(bookmarks, g, r),
	}
	for o, name := range opNames {
		m.ops[o] = opMetrics{
			latency: metrics.NewSeries(etcdRequestLatency, name, g, r),
			count:   metrics.NewSeries(etcdRequestCounts, name, g, r),
			errors:  metrics.NewSeries(etcdRequestErrorCounts, name, g, r),
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

// observe records one etcd request of o that started at start, and
// returns its error as the registry should see it (unavailable).
func (s *Store) observe(o op, start time.Time, err error) error {
	if s.metrics != nil {
		m := &s.metrics.ops[o]
		m.latency.Get().Observe(time.Since(start).Seconds())
		m.count.Get().Inc()
		if err != nil {
			m.errors.Get().Inc()
		}
	}
	return unavailable(err, o == opCreate || o == opUpdate || o == opDelete)
}

// observeList records one list that started at start and read what st
// says, failed or not, as kube's: the metrics are of what lists cost.
func (s *Store) observeList(start time.Time, st listStats) {
	if s.metrics == nil {
		return
	}
	s.metrics.lists.Record("", st.fetched, st.evaluated, st.returned)
	s.metrics.listLatency.Get().Observe(time.Since(start).Seconds())
}

// observeWatch records what one etcd watch response brought: n changes,
// or a progress notification.
func (s *Store) observeWatch(n int, progress bool) {
	switch {
	case s.metrics == nil:
	case progress:
		s.metrics.bookmarks.Get().Inc()
	case n > 0:
		s.metrics.events.Get().Add(float64(n))
	}
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
