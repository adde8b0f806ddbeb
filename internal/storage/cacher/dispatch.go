package cacher

import (
	"math"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"kapi/internal/metrics"
)

// apiserver_watch_events_dispatch_duration_seconds, kube's histogram of
// the latency of each event delivered to each watcher, by resource and
// stage: from etcd's watch to the cache (storage_to_cache), from the
// watcher's event made to its consumer (cache_to_watcher), and the two
// together (total). It is a classic and a native histogram, as kube's
// (NativeHistograms, on by default: bucket factor 1.1, at most 160
// buckets).
//
// It is counted here rather than in client_golang histograms: a delivery
// observes all three, on every watcher of every event, and a native
// histogram's observation (a concurrent map's lookup per bucket, hot and
// cold counts) costs twice what these counters do, a few atomic
// additions in fixed arrays; /metrics adds them up into what
// client_golang's histogram would write.
var dispatchDesc = prometheus.NewDesc("apiserver_watch_events_dispatch_duration_seconds",
	"[ALPHA] Histogram of watch event dispatch latency broken by resource type and pipeline stage. The 'total' stage is the end-to-end latency of a delivered event.",
	[]string{"group", "resource", "stage"}, nil)

// dispatchBounds are kube's buckets, in nanoseconds.
var dispatchBounds = [...]int64{100e3, 500e3, 1e6, 5e6, 10e6, 25e6, 50e6, 100e6, 250e6, 500e6, 1e9, 2.5e9, 5e9}

// The native histogram's: schema 3 (buckets 2^(1/8) wide, the widest no
// wider than kube's factor 1.1), their bounds within a power of two
// (client_golang's, whose native histograms kube's are), at most 160
// buckets (beyond, a schema less: buckets twice as wide), the zero
// bucket's threshold, and the keys counted in arrays: from 1 ns (the
// least latency but 0) to 2^16 s; the larger ones in a map.
const (
	nativeSchema        = 3
	nativeMaxBuckets    = 160
	nativeZeroThreshold = 2.938735877055719e-39 // prometheus.DefNativeHistogramZeroThreshold
	nativeLow           = -240                  // nativeKey(1e-9) is -239
	nativeHigh          = 16 << nativeSchema
)

var nativeBounds = []float64{
	0.5, 0.5452538663326288, 0.5946035575013605, 0.6484197773255048,
	0.7071067811865475, 0.7711054127039704, 0.8408964152537144, 0.9170040432046711,
}

// nativeKey is the index of the schema-3 bucket of v > 0.
func nativeKey(v float64) int {
	frac, exp := math.Frexp(v)
	return sort.SearchFloat64s(nativeBounds, frac) + (exp-1)*len(nativeBounds)
}

// The stages, in the order of their counts.
const (
	stageStorageToCache = iota
	stageCacheToWatcher
	stageTotal
	numStages
)

var stageNames = [numStages]string{"storage_to_cache", "cache_to_watcher", "total"}

// stageCounts are one stage's deliveries: how many fell in each classic
// bucket (the last: above every bound) and in each native one, the zero
// bucket apart, and the sum of their latencies.
type stageCounts struct {
	sum     atomic.Int64 // nanoseconds
	zero    atomic.Uint64
	buckets [len(dispatchBounds) + 1]atomic.Uint64
	native  [nativeHigh - nativeLow]atomic.Uint64
}

// dispatchHistogram is one resource's histogram. The caches of a resource
// (a process may run several servers) share it, and it lasts as long as
// the process, as kube's series do.
type dispatchHistogram struct {
	gr      schema.GroupResource
	created time.Time
	stages  [numStages]stageCounts
	mu      sync.Mutex
	beyond  [numStages]map[int]uint64 // native keys from nativeHigh on
}

// observe counts one delivery of each stage's latency (nanoseconds).
func (h *dispatchHistogram) observe(latencies [numStages]int64) {
	for i, ns := range latencies {
		ns = max(ns, 0)
		st := &h.stages[i]
		b := 0
		for b < len(dispatchBounds) && ns > dispatchBounds[b] {
			b++
		}
		st.buckets[b].Add(1)
		st.sum.Add(ns)
		if ns == 0 {
			st.zero.Add(1)
			continue
		}
		if k := nativeKey(float64(ns) / 1e9); k < nativeHigh {
			st.native[k-nativeLow].Add(1)
		} else {
			h.mu.Lock()
			if h.beyond[i] == nil {
				h.beyond[i] = map[int]uint64{}
			}
			h.beyond[i][k]++
			h.mu.Unlock()
		}
	}
}

// metric is one stage's histogram as client_golang writes it: classic and
// native, the native buckets at the finest schema up to 3 that needs no
// more than nativeMaxBuckets of them. The count is the native buckets'
// (a constant native histogram's must be); a classic bucket counted a
// moment before is not above it.
func (h *dispatchHistogram) metric(stage int) prometheus.Metric {
	st := &h.stages[stage]
	classic := make([]*dto.Bucket, len(dispatchBounds))
	var cumulative uint64
	for b, bound := range dispatchBounds {
		cumulative += st.buckets[b].Load()
		classic[b] = &dto.Bucket{UpperBound: proto.Float64(float64(bound) / 1e9), CumulativeCount: proto.Uint64(cumulative)}
	}
	native := map[int]uint64{}
	// The zero bucket is read once: the count must be at least the
	// buckets' sum, and a delivery of zero latency may come meanwhile.
	zero := st.zero.Load()
	count := zero
	for i := range st.native {
		if n := st.native[i].Load(); n > 0 {
			native[i+nativeLow] = n
			count += n
		}
	}
	h.mu.Lock()
	for k, n := range h.beyond[stage] {
		native[k] = n
		count += n
	}
	h.mu.Unlock()
	for _, b := range classic {
		b.CumulativeCount = proto.Uint64(min(b.GetCumulativeCount(), count))
	}
	schema := int32(nativeSchema)
	for len(native) > nativeMaxBuckets && schema > -4 {
		wider := make(map[int]uint64, len(native)/2+1)
		for k, n := range native {
			if k > 0 {
				k++
			}
			wider[k/2] += n
		}
		native, schema = wider, schema-1
	}
	positive := make(map[int]int64, len(native))
	for k, n := range native {
		positive[k] = int64(n)
	}
	m := prometheus.MustNewConstNativeHistogram(dispatchDesc, count, float64(st.sum.Load())/1e9, positive, nil, zero,
		schema, nativeZeroThreshold, h.created, h.gr.Group, h.gr.Resource, stageNames[stage])
	return withClassic{m, classic}
}

// withClassic is a native histogram with its classic buckets too.
type withClassic struct {
	prometheus.Metric
	buckets []*dto.Bucket
}

func (w withClassic) Write(out *dto.Metric) error {
	if err := w.Metric.Write(out); err != nil {
		return err
	}
	out.Histogram.Bucket = w.buckets
	return nil
}

// dispatchHistograms collects every resource's histogram.
type dispatchHistograms struct {
	mu   sync.Mutex
	byGR map[schema.GroupResource]*dispatchHistogram
	all  []*dispatchHistogram // in the order made
}

var dispatch = func() *dispatchHistograms {
	d := &dispatchHistograms{byGR: map[schema.GroupResource]*dispatchHistogram{}}
	metrics.Registry.MustRegister(d)
	return d
}()

// of is gr's histogram, made with its first cache: its series are in
// /metrics from then on, at zero until a watcher receives an event, as
// kube's cacher makes them.
func (d *dispatchHistograms) of(gr schema.GroupResource) *dispatchHistogram {
	d.mu.Lock()
	defer d.mu.Unlock()
	h := d.byGR[gr]
	if h == nil {
		h = &dispatchHistogram{gr: gr, created: time.Now()}
		d.byGR[gr] = h
		d.all = append(d.all, h)
	}
	return h
}

func (d *dispatchHistograms) Describe(ch chan<- *prometheus.Desc) { ch <- dispatchDesc }

func (d *dispatchHistograms) Collect(ch chan<- prometheus.Metric) {
	d.mu.Lock()
	all := d.all
	d.mu.Unlock()
	for _, h := range all {
		for stage := range numStages {
			ch <- h.metric(stage)
		}
	}
}
