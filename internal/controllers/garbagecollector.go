package controllers

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"

	"kapi/internal/metrics"
)

// GarbageCollector deletes the objects whose owners are gone, as
// kube-controller-manager's garbage collector does:
//
//   - an owner graph is built from the informers of every resource that
//     can be listed, watched and deleted (custom resources included, as
//     CRDs come and go); an owner reference names an owner by uid, and a
//     namespaced dependent's owner lives in its namespace;
//   - a dependent all of whose owners are verified absent (a live GET
//     answers 404, or another uid) is deleted; references to absent
//     owners beside a live one are removed;
//   - an owner deleted with propagationPolicy Foreground waits, with the
//     foregroundDeletion finalizer, while dependents that block it
//     (blockOwnerDeletion) exist: they are deleted (in the foreground too
//     when they have dependents), then the finalizer is removed;
//   - an owner deleted with Orphan keeps its dependents: its references
//     are removed from them, then the orphan finalizer from it.
//
// It reads informers over the watch caches and writes through the
// in-process client as kube-system/generic-garbage-collector. Its state
// is the graph alone, so a restart rebuilds it from the caches and
// finishes what was under way.
type GarbageCollector struct {
	// ctx is Run's: the informer handlers go with it.
	ctx context.Context

	env      *Env
	meta     metadata.Interface
	recorder record.EventRecorder
	events   record.EventBroadcaster

	graph        *graph
	absentOwners *absentCache

	graphChanges    workqueueOf[*graphChange]
	attemptToDelete workqueueOf[*node]
	attemptToOrphan workqueueOf[*node]

	// InitialSyncTimeout bounds the wait for the informers' first lists
	// before the workers start (kube's is 30 s too).
	InitialSyncTimeout time.Duration
	// Workers is how many goroutines work on each of the deletion and
	// orphaning queues (kube's --concurrent-gc-syncs, 20, is much for a
	// process that shares its cores with the API server).
	Workers int

	stopped atomic.Bool
	mu      sync.Mutex
	watched map[schema.GroupVersionResource]watchedResource
}

// watchedResource is the informer the collector follows for a resource,
// and the kind it reports.
type watchedResource struct {
	inf *Informer
	gvk schema.GroupVersionKind
}

// garbagecollector_controller_resources_sync_error_total is kube's: a
// resource whose events the collector could not follow.
var gcResourcesSyncErrors = metrics.Counter("garbagecollector_controller_resources_sync_error_total",
	"[ALPHA] Number of garbage collector resources sync errors")

// gcIgnored are the resources kube-controller-manager's collector leaves
// alone (DefaultIgnoredResources): events, many and short-lived.
var gcIgnored = map[schema.GroupResource]bool{
	{Group: "", Resource: "events"}:              true,
	{Group: "events.k8s.io", Resource: "events"}: true,
}

// NewGarbageCollector returns the loop; it acts as
// kube-system/generic-garbage-collector.
func NewGarbageCollector(env *Env) *GarbageCollector {
	cfg := env.ClientFor("generic-garbage-collector")
	gcResourcesSyncErrors.WithLabelValues() // exported from the start, at 0, as kube's
	events := record.NewBroadcaster()
	return &GarbageCollector{
		env:                env,
		meta:               metadata.NewForConfigOrDie(cfg),
		events:             events,
		recorder:           events.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "garbage-collector-controller"}),
		graph:              newGraph(),
		absentOwners:       newAbsentCache(500),
		graphChanges:       NewQueue[*graphChange]("garbage_collector_graph_changes"),
		attemptToDelete:    NewQueue[*node]("garbage_collector_attempt_to_delete"),
		attemptToOrphan:    NewQueue[*node]("garbage_collector_attempt_to_orphan"),
		Workers:            5,
		InitialSyncTimeout: 30 * time.Second,
		watched:            map[schema.GroupVersionResource]watchedResource{},
	}
}

// Run works until ctx ends.
func (gc *GarbageCollector) Run(ctx context.Context) {
	gc.ctx = ctx
	client := kubernetes.NewForConfigOrDie(gc.env.ClientFor("generic-garbage-collector"))
	gc.events.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events("")})
	defer gc.events.Shutdown()
	defer gc.stopped.Store(true)

	var wg sync.WaitGroup
	defer wg.Wait()
	defer gc.graphChanges.ShutDown()
	defer gc.attemptToDelete.ShutDown()
	defer gc.attemptToOrphan.ShutDown()

	changed := gc.env.Catalogue.SubscribeUntil(ctx)
	gc.follow()
	wg.Add(1)
	go func() {
		defer wg.Done()
		for gc.processNextGraphChange() {
		}
	}()
	// As kube's, the workers start once the graph holds what the
	// informers first listed (or after InitialSyncTimeout): an owner
	// deleted in the foreground must not be finalized before its
	// dependents are known, after a restart above all.
	if !gc.waitGraphSynced(ctx) {
		return
	}
	for i := 0; i < gc.Workers; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for gc.processNextDelete(ctx) {
			}
		}()
		go func() {
			defer wg.Done()
			for gc.processNextOrphan(ctx) {
			}
		}()
	}
	// The catalogue's changes bring and take resources; a periodic look
	// is kube's resync of its monitors (a change missed while a store was
	// still being built).
	tick := time.NewTicker(30 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-tick.C:
		}
		gc.follow()
	}
}

// follow watches every resource of the catalogue that supports list,
// watch and delete (one version of each stored resource), and forgets the
// resources that left it: the objects of a kind no longer served at all
// are gone (a CRD's custom resources are deleted before it goes), which
// the graph learns even when the informer stopped before it reported
// their deletions.
func (gc *GarbageCollector) follow() {
	gc.mu.Lock()
	defer gc.mu.Unlock()
	seen := map[schema.GroupVersionResource]bool{}
	kinds := map[schema.GroupKind]bool{}
	stores := map[any]bool{}
	for _, st := range gc.env.Catalogue.Snapshot().Stores() {
		if st.Storage == nil {
			continue
		}
		kinds[st.R.GVK().GroupKind()] = true
		if gcIgnored[st.R.GVR().GroupResource()] || stores[st.Storage] || !st.R.Supports("list") || !st.R.Supports("watch") || !st.R.Supports("delete") {
			continue
		}
		stores[st.Storage] = true
		gvr := st.R.GVR()
		seen[gvr] = true
		inf := gc.env.Informers.For(gvr)
		if inf == nil {
			gcResourcesSyncErrors.WithLabelValues().Inc()
			continue
		}
		if gc.watched[gvr].inf == inf {
			continue
		}
		gvk := st.R.GVK()
		gc.watched[gvr] = watchedResource{inf: inf, gvk: gvk}
		inf.Handle(gc.ctx, func(ev Event) { gc.observe(gvk, ev) })
	}
	for gvr, w := range gc.watched {
		if seen[gvr] {
			continue
		}
		delete(gc.watched, gvr)
		if !kinds[w.gvk.GroupKind()] {
			gc.graphChanges.Add(&graphChange{typ: kindGoneEvent, gvk: w.gvk, obj: &metav1.ObjectMeta{}})
		}
	}
}

// informers are the informers followed now.
func (gc *GarbageCollector) informers() []*Informer {
	gc.mu.Lock()
	defer gc.mu.Unlock()
	infs := make([]*Informer, 0, len(gc.watched))
	for _, w := range gc.watched {
		infs = append(infs, w.inf)
	}
	return infs
}

// waitGraphSynced waits until every informer followed has its first list
// and the graph builder has applied every event queued until then; false
// when ctx ended first.
func (gc *GarbageCollector) waitGraphSynced(ctx context.Context) bool {
	infs := gc.informers()
	sctx, cancel := context.WithTimeout(ctx, gc.InitialSyncTimeout)
	defer cancel()
	if !waitSynced(sctx, infs...) {
		if ctx.Err() != nil {
			return false
		}
		klog.InfoS("garbage collector: not all resources could be synced, proceeding anyway")
	}
	return gc.graphApplied(ctx)
}

// graphApplied waits until the graph builder has applied every change
// queued before the call (a barrier through the FIFO queue); false when
// ctx ended first.
func (gc *GarbageCollector) graphApplied(ctx context.Context) bool {
	barrier := &graphChange{typ: barrierEvent, obj: &metav1.ObjectMeta{}, done: make(chan struct{})}
	gc.graphChanges.Add(barrier)
	select {
	case <-barrier.done:
		return true
	case <-ctx.Done():
		return false
	}
}

// graphCatchUp bounds graphCurrent's wait.
const graphCatchUp = 10 * time.Second

// graphCurrent waits until every informer followed has handed the graph
// builder every change up to revision rev (each asks its watch for
// progress if its resource did not change since), and the builder has
// applied them (graphApplied). When some informer could not tell within
// graphCatchUp (a watch without the watch cache cannot), or ctx ended,
// it says so in the log about item; the graph holds what did arrive.
func (gc *GarbageCollector) graphCurrent(ctx context.Context, item objectReference, rev int64) {
	wctx, cancel := context.WithTimeout(ctx, graphCatchUp)
	defer cancel()
	reached := waitReached(wctx, rev, gc.informers()...)
	if !gc.graphApplied(ctx) || !reached {
		klog.V(2).InfoS("garbage collector: the graph may not hold every dependent yet", "item", item.String(), "revision", rev)
	}
}

// observe queues an informer's event for the graph builder. It runs on
// the informer's goroutine; the informer keeps the handler after Run
// ends (informers outlive a loop that loses its lease), hence stopped.
func (gc *GarbageCollector) observe(gvk schema.GroupVersionKind, ev Event) {
	if gc.stopped.Load() {
		return
	}
	m, err := meta.Accessor(ev.Object)
	if err != nil {
		return
	}
	c := &graphChange{gvk: gvk, obj: m}
	switch ev.Type {
	case watch.Added:
		c.typ = addEvent
	case watch.Modified:
		c.typ = updateEvent
		if ev.Old != nil {
			if old, err := meta.Accessor(ev.Old); err == nil {
				c.old = old
			}
		}
	case watch.Deleted:
		c.typ = deleteEvent
	default:
		return
	}
	gc.graphChanges.Add(c)
}

func (gc *GarbageCollector) processNextGraphChange() bool {
	c, quit := gc.graphChanges.Get()
	if quit {
		return false
	}
	defer gc.graphChanges.Done(c)
	gc.processGraphChange(c)
	gc.graphChanges.Forget(c)
	return true
}

// absentCache remembers owners verified absent (kube's absentOwnerCache,
// an LRU of 500): a bounded set, emptied when full.
type absentCache struct {
	mu  sync.Mutex
	max int
	set map[objectReference]struct{}
}

func newAbsentCache(max int) *absentCache {
	return &absentCache{max: max, set: map[objectReference]struct{}{}}
}

func (c *absentCache) add(r objectReference) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.set) >= c.max {
		c.set = map[objectReference]struct{}{}
	}
	c.set[r] = struct{}{}
}

func (c *absentCache) has(r objectReference) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.set[r]
	return ok
}

// resourceFor maps an apiVersion and kind to its resource and scope
// through the catalogue (kube's REST mapper).
func (gc *GarbageCollector) resourceFor(apiVersion, kind string) (schema.GroupVersionResource, bool, error) {
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return schema.GroupVersionResource{}, false, &restMappingError{apiVersion: apiVersion, kind: kind}
	}
	for _, st := range gc.env.Catalogue.Snapshot().Stores() {
		r := st.R
		if r.Group == gv.Group && r.Version == gv.Version && r.Kind == kind && st.Storage != nil {
			return r.GVR(), r.Namespaced, nil
		}
	}
	return schema.GroupVersionResource{}, false, &restMappingError{apiVersion: apiVersion, kind: kind}
}

type restMappingError struct{ apiVersion, kind string }

func (e *restMappingError) Error() string {
	return "unable to get REST mapping for " + e.kind + "." + e.apiVersion
}
