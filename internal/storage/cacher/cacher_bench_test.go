package cacher

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/btree"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"

	"kapi/internal/storage"
	"kapi/internal/storage/storagetest"
)

const (
	benchNS    = "bench"
	otherNS    = "other" // sorts after benchNS: a scan that ran on would hit it
	benchItems = 2000
	// benchSelectEvery: one object in this many carries the selected label.
	benchSelectEvery = 100
)

// payload makes each object about 1 KiB once encoded.
var payload = strings.Repeat("x", 900)

// selectedPred selects the objects fillBench labels "sel".
var selectedPred = storage.Predicate{Label: labels.SelectorFromSet(labels.Set{"l": "sel"}), Field: fields.Everything(),
	Attrs: func(o runtime.Object) (labels.Set, fields.Set, error) { return o.(*corev1.ConfigMap).Labels, nil, nil }}

// newBenchCacher is a cache on a fresh embedded etcd.
func newBenchCacher(b *testing.B) *Cacher {
	b.Helper()
	_, _, c := newPairOn(b, Options{})
	return c
}

func benchName(i int) string { return fmt.Sprintf("cm-%05d", i) }

// fillBench creates n ConfigMaps of about 1 KiB in ns through the cache,
// one in benchSelectEvery labelled "sel", and waits until the cache holds
// them all. The creates run in parallel so that etcd batches their fsyncs.
func fillBench(b *testing.B, c *Cacher, ns string, n int) {
	b.Helper()
	ctx := context.Background()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 1)
	for range 32 {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				label := "other"
				if i%benchSelectEvery == 0 {
					label = "sel"
				}
				o := storagetest.CM(ns, benchName(i), label)
				o.Data = map[string]string{"payload": payload}
				if _, err := c.Create(ctx, ns+"/"+o.Name, o); err != nil {
					select {
					case errs <- err:
					default:
					}
					return
				}
			}
		})
	}
	wg.Wait()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	// A consistent list waits until the cache has every create.
	got, err := c.List(ctx, ns+"/", storage.ListOptions{})
	if err != nil {
		b.Fatal(err)
	}
	if len(got.Items) != n {
		b.Fatalf("%s holds %d objects after the fill, want %d", ns, len(got.Items), n)
	}
}

// BenchmarkCacheList lists one namespace of 2,000 objects while another
// namespace of 2,000 sits next to it in the cache.
func BenchmarkCacheList(b *testing.B) {
	c := newBenchCacher(b)
	fillBench(b, c, benchNS, benchItems)
	fillBench(b, c, otherNS, benchItems)
	ctx := context.Background()
	for _, bc := range []struct {
		name      string
		opts      storage.ListOptions
		want      int
		remaining int64 // -1: no continue token expected
	}{
		// Consistent: each list first asks etcd for its revision.
		{"all", storage.ListOptions{}, benchItems, -1},
		{"rv0", storage.ListOptions{ReadOptions: storage.ReadOptions{AnyVersion: true}}, benchItems, -1},
		// Shared: the cache's own objects, no copies (what handlers ask).
		{"all-shared", storage.ListOptions{ReadOptions: storage.ReadOptions{Shared: true}}, benchItems, -1},
		{"selector1pc", storage.ListOptions{Predicate: selectedPred}, benchItems / benchSelectEvery, -1},
		{"page500", storage.ListOptions{Limit: 500}, 500, benchItems - 500},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				got, err := c.List(ctx, benchNS+"/", bc.opts)
				if err != nil {
					b.Fatal(err)
				}
				if len(got.Items) != bc.want {
					b.Fatalf("listed %d objects, want %d", len(got.Items), bc.want)
				}
				if bc.remaining < 0 {
					if got.Continue != "" {
						b.Fatalf("unexpected continue token %q", got.Continue)
					}
				} else if got.Continue == "" || got.RemainingItemCount == nil || *got.RemainingItemCount != bc.remaining {
					b.Fatalf("page: continue %q, remaining %v, want %d remaining", got.Continue, got.RemainingItemCount, bc.remaining)
				}
			}
		})
	}
}

// BenchmarkCacheGet reads random objects of a 2,000-object namespace.
func BenchmarkCacheGet(b *testing.B) {
	c := newBenchCacher(b)
	fillBench(b, c, benchNS, benchItems)
	ctx := context.Background()
	names := make([]string, benchItems)
	for i := range names {
		names[i] = benchName(i)
	}
	for _, bc := range []struct {
		name string
		opts storage.ReadOptions
	}{
		// Consistent: each get first asks etcd for its revision.
		{"consistent", storage.ReadOptions{}},
		{"rv0", storage.ReadOptions{AnyVersion: true}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			b.ReportAllocs()
			for b.Loop() {
				name := names[rng.IntN(len(names))]
				got, err := c.Get(ctx, benchNS+"/"+name, bc.opts)
				if err != nil {
					b.Fatal(err)
				}
				if m := got.(*corev1.ConfigMap); m.Name != name || m.Namespace != benchNS {
					b.Fatalf("got %s/%s, want %s/%s", m.Namespace, m.Name, benchNS, name)
				}
			}
		})
	}
}

// BenchmarkFanOut: one update through the cache per op, timed until every
// one of W watchers of the namespace has received it. Allocations count
// the whole path: the etcd write, the cache's copy for each watcher.
// "-pull" watchers take their events with Next in their own goroutine, as
// the watch handler does, rather than from ResultChan.
func BenchmarkFanOut(b *testing.B) {
	c := newBenchCacher(b)
	// Neighbours in the namespace, so that the watchers' prefix is not a
	// single object's.
	fillBench(b, c, benchNS, 100)
	ctx := context.Background()
	key := benchNS + "/" + benchName(0)
	// n is the value of Data["n"] the current update writes. It goes on
	// across sub-benchmarks: an update that wrote the stored value again
	// would be no write, and no event.
	var n int64
	setN := func(cur runtime.Object) (runtime.Object, error) {
		o := cur.(*corev1.ConfigMap)
		o.Data["n"] = strconv.FormatInt(n, 10)
		return o, nil
	}
	for _, bc := range []struct {
		w            int
		shared, pull bool
	}{{10, false, false}, {200, false, false}, {200, true, false}, {200, true, true}} {
		w := bc.w
		name := "W=" + strconv.Itoa(w)
		if bc.shared {
			name += "-shared"
		}
		if bc.pull {
			name += "-pull"
		}
		b.Run(name, func(b *testing.B) {
			var (
				want      atomic.Int64 // n, for the watchers
				remaining atomic.Int64 // watchers yet to receive update n
				delivered = make(chan struct{}, 1)
				failed    = make(chan error, w)
				stopping  atomic.Bool
				running   sync.WaitGroup
			)
			watchers := make([]watch.Interface, 0, w)
			// Stop the watchers even when the benchmark fails, and wait
			// for their goroutines so none outlives the cache.
			defer func() {
				stopping.Store(true)
				for _, wi := range watchers {
					wi.Stop()
				}
				running.Wait()
			}()
			for range w {
				wi, err := c.Watch(ctx, benchNS+"/", storage.WatchOptions{Shared: bc.shared})
				if err != nil {
					b.Fatal(err)
				}
				watchers = append(watchers, wi)
				events := func(yield func(watch.Event) bool) {
					for ev := range wi.ResultChan() {
						if !yield(ev) {
							return
						}
					}
				}
				if bc.pull {
					events = func(yield func(watch.Event) bool) {
						for {
							ev, ok := wi.(storage.Puller).Next(ctx)
							if !ok || !yield(ev) {
								return
							}
						}
					}
				}
				running.Go(func() {
					for ev := range events {
						m, ok := storage.Unwrap(ev.Object).(*corev1.ConfigMap)
						if ev.Type != watch.Modified || !ok || m.Data["n"] != strconv.FormatInt(want.Load(), 10) {
							failed <- fmt.Errorf("watcher got %s %v, want the update n=%d", ev.Type, ev.Object, want.Load())
							return
						}
						if remaining.Add(-1) == 0 {
							delivered <- struct{}{}
						}
					}
					if !stopping.Load() {
						failed <- fmt.Errorf("a watch ended before the benchmark did")
					}
				})
			}
			// A lost event must fail the benchmark, not hang it; the timer
			// is reused so that it costs no allocation per op.
			timeout := time.NewTimer(time.Hour)
			defer timeout.Stop()

			b.ReportAllocs()
			for b.Loop() {
				n++
				want.Store(n)
				remaining.Store(int64(w))
				if _, err := c.Update(ctx, key, false, storagetest.Write(setN)); err != nil {
					b.Fatal(err)
				}
				timeout.Reset(10 * time.Second)
				select {
				case <-delivered:
				case err := <-failed:
					b.Fatal(err)
				case <-timeout.C:
					b.Fatalf("update %d: %d of %d watchers did not receive it in 10s", n, remaining.Load(), w)
				}
				timeout.Stop()
			}
		})
	}
}

// BenchmarkApply: one change taken into a cache of 2,000 objects with a
// full ring of recent events and no watchers; the cache's own cost of a
// write, without etcd.
func BenchmarkApply(b *testing.B) {
	c := &Cacher{opts: Options{Events: 1000}, items: btree.NewG(32, byKey), labels: labelIndex{}, ring: newEventRing(1000),
		watchers: map[*cacheWatcher]struct{}{}}
	objs := make([]*storage.Cached, benchItems)
	for i := range objs {
		cm := storagetest.CM(benchNS, benchName(i), "x")
		cm.ResourceVersion = strconv.Itoa(i + 1)
		objs[i] = storage.NewCached(cm)
	}
	rev := int64(0)
	for _, o := range objs {
		rev++
		c.applyLocked(watch.Added, o, rev, 0, 0)
	}
	b.ReportAllocs()
	for b.Loop() {
		rev++
		c.applyLocked(watch.Modified, objs[rev%benchItems], rev, 0, 0)
	}
}
