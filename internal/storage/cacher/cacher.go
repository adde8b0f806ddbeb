// Package cacher is the watch cache: it sits in front of one resource's
// etcd store, keeps every object of the resource in memory at a known
// revision (one etcd watch, not one per client), and a ring of recent
// events, and serves gets, lists and watches from them. Writes go to etcd;
// their effects arrive through the watch.
//
// Consistent reads (no resourceVersion) first learn etcd's current
// revision (a count-only range request) and wait until the cache has
// caught up: etcd's progress notifications, requested when needed, carry
// the cache forward when the changes were to other resources. What cannot
// be served from memory (exact reads of the past, continued pages) goes to
// etcd.
package cacher

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/btree"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/klog/v2"

	"kapi/internal/storage"
)

// Backend is the store the cache fills from and writes through.
type Backend interface {
	storage.Interface
	// RequestProgress makes the backend's watches report their revision.
	RequestProgress(ctx context.Context) error
}

// Options tune the cache.
type Options struct {
	// Events is how many recent events the ring keeps for watches that
	// resume from a resourceVersion.
	Events int
	// CatchUp is how long a consistent read waits for the cache before it
	// is served by etcd instead.
	CatchUp time.Duration
	// WatcherBuffer is how many events a watcher may lag before it is
	// ended (it then re-lists).
	WatcherBuffer int
	// Name labels kapi's metrics; Resource kube's.
	Name     string
	Resource schema.GroupResource
	// New returns an empty object of the resource (for bookmarks).
	New func() runtime.Object
	// Compacted is the newest revision etcd has compacted (0 when not
	// known): a continue token from before it is not served from memory,
	// so that it is 410 Gone from the cache as from etcd.
	Compacted func() int64
}

// Cacher implements storage.Interface from memory.
type Cacher struct {
	backend Backend
	opts    Options

	mu     sync.RWMutex
	cond   *sync.Cond // broadcast when rev moves or readiness changes
	ready  bool
	items  *btree.BTreeG[*entry]
	labels labelIndex // of items
	rev    int64      // the revision the items reflect
	// lastChange is the revision of the newest change to the items (or
	// of the list they were filled from): they are the state at every
	// revision from lastChange to rev.
	lastChange int64
	// ring holds the most recent events, oldest first; every event after
	// ringFrom is in it.
	ring     eventRing
	ringFrom int64
	watchers map[*cacheWatcher]struct{}

	revs *revisions
	// progressAsked is when a reader last asked etcd for progress (unix
	// nanoseconds): readers ask at most every progressEvery, together.
	progressAsked atomic.Int64

	// bytes is the size of the resource's values in etcd, as the cache's
	// watch keeps it (storage.WatchOptions.Bytes).
	bytes atomic.Int64
	m     *cacheMetrics

	cancel context.CancelFunc
	done   chan struct{}
}

// entry is one object: shared with the readers that ask for shared
// objects, copied for the others.
type entry struct {
	key string
	obj *storage.Cached
}

// event is one change, with the object before it (for selectors). A
// DELETED event's obj is the object as it was, at the deletion's revision.
// decoded is when etcd's watch had decoded it and received when the cache
// took it in (now's monotonic nanoseconds; decoded 0 when not known).
type event struct {
	typ               watch.EventType
	key               string
	obj, prev         *storage.Cached
	rev               int64
	decoded, received int64
}

func byKey(a, b *entry) bool { return a.key < b.key }

var _ storage.Interface = (*Cacher)(nil)

// New starts a cache in front of backend; Stop ends it.
func New(backend Backend, opts Options) *Cacher {
	if opts.Events == 0 {
		opts.Events = 1000
	}
	if opts.CatchUp == 0 {
		opts.CatchUp = 3 * time.Second
	}
	if opts.WatcherBuffer == 0 {
		opts.WatcherBuffer = 1000
	}
	if opts.Compacted == nil {
		opts.Compacted = func() int64 { return 0 }
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Cacher{backend: backend, opts: opts, items: btree.NewG(32, byKey), labels: labelIndex{}, ring: newEventRing(opts.Events),
		watchers: map[*cacheWatcher]struct{}{}, m: newCacheMetrics(opts.Resource, opts.Events), cancel: cancel, done: make(chan struct{})}
	c.cond = sync.NewCond(&c.mu)
	c.revs = &revisions{fetch: backend.Revision}
	go c.run(ctx)
	return c
}

// Stop ends the cache's watch and every watcher.
func (c *Cacher) Stop() {
	c.cancel()
	<-c.done
	c.mu.Lock()
	for w := range c.watchers {
		w.terminate(nil)
	}
	c.watchers = map[*cacheWatcher]struct{}{}
	c.ready = false
	c.cond.Broadcast()
	c.mu.Unlock()
}

// run lists and watches until ctx ends, re-listing after any failure.
func (c *Cacher) run(ctx context.Context) {
	defer close(c.done)
	for ctx.Err() == nil {
		if err := c.listAndWatch(ctx); err != nil && ctx.Err() == nil {
			c.m.failed()
			klog.V(2).InfoS("watch cache re-lists", "resource", c.opts.Name, "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
}

// listAndWatch fills the cache and keeps it current until ctx ends or the
// watch fails. It fills it as kube's watch cache does, from one watch of
// etcd that sends the objects as they are first (its initial events,
// which end with a bookmark at their revision), then every change after
// them: no list of its own (kube's list metrics count the lists clients
// ask for).
func (c *Cacher) listAndWatch(ctx context.Context) error {
	start := time.Now()
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := c.backend.Watch(wctx, "", storage.WatchOptions{SendInitialEvents: true, InitialEventsEnd: true,
		ProgressBookmarks: true, WholeRevisions: true, Stamped: true, Bytes: &c.bytes})
	if err != nil {
		return err
	}
	defer w.Stop()
	items, index := btree.NewG(32, byKey), labelIndex{}
	var listRV int64
	for listRV == 0 {
		var ev watch.Event
		var ok bool
		select {
		case <-ctx.Done():
			return nil
		case ev, ok = <-w.ResultChan():
		}
		switch {
		case !ok:
			return fmt.Errorf("watch closed before its initial events ended")
		case ev.Type == watch.Error:
			return fmt.Errorf("watch error: %v", ev.Object)
		case ev.Type == watch.Bookmark: // the end of the initial events
			m, err := meta.Accessor(ev.Object)
			if err != nil {
				return err
			}
			if listRV, err = parseRV(m.GetResourceVersion()); err != nil {
				return err
			}
		default:
			e := &entry{key: keyOf(ev.Object), obj: storage.NewCached(ev.Object)}
			items.ReplaceOrInsert(e)
			index.add(e)
		}
	}

	c.mu.Lock()
	// Watchers of the previous generation may have missed events: end
	// them, so that their clients resume or re-list.
	for cw := range c.watchers {
		cw.terminate(expired("the watch cache re-listed"))
	}
	c.watchers = map[*cacheWatcher]struct{}{}
	c.items, c.labels, c.rev, c.ring, c.ringFrom, c.ready = items, index, listRV, newEventRing(c.opts.Events), listRV, true
	c.lastChange = listRV
	c.cond.Broadcast()
	c.mu.Unlock()
	c.m.initialized(time.Since(start))
	c.m.revision(listRV)
	defer func() {
		c.mu.Lock()
		c.ready = false
		c.cond.Broadcast()
		c.mu.Unlock()
	}()

	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.ResultChan():
			if !ok {
				return fmt.Errorf("watch closed")
			}
			if err := c.apply(ev); err != nil {
				return err
			}
		}
	}
}

// apply records one event from etcd: a change, a bookmark, or every
// change of one revision (storage.Revision), which readers see all at once.
func (c *Cacher) apply(ev watch.Event) error {
	if ev.Type == watch.Error {
		return fmt.Errorf("watch error: %v", ev.Object)
	}
	received := now()
	var events []watch.Event
	var decoded int64
	if r, ok := ev.Object.(*storage.RevisionEvents); ok && ev.Type == storage.Revision {
		events, decoded = r.Events, mono(r.Decoded)
	} else {
		events = []watch.Event{ev}
	}
	// Outside the lock: the revisions, and the cached objects (sharing
	// their parts with others' costs microseconds).
	revs := make([]int64, len(events))
	objs := make([]*storage.Cached, len(events))
	for i, e := range events {
		m, err := meta.Accessor(e.Object)
		if err != nil {
			return err
		}
		if revs[i], err = parseRV(m.GetResourceVersion()); err != nil {
			return err
		}
		if e.Type != watch.Bookmark {
			objs[i] = storage.NewCached(e.Object)
		}
	}
	c.mu.Lock()
	for i, e := range events {
		c.applyLocked(e.Type, objs[i], revs[i], decoded, received)
	}
	rev := c.rev
	c.cond.Broadcast()
	c.mu.Unlock()
	c.count(events, rev)
	return nil
}

// count records events taken in, which moved the cache to rev. kube's
// cache dispatches, for each change, the change and then the
// resourceVersion it moved to (a bookmark of its dispatch loop, which it
// counts too), and for each progress notification of etcd a bookmark;
// the changes are the events it received.
func (c *Cacher) count(events []watch.Event, rev int64) {
	if len(events) == 1 && events[0].Type == watch.Bookmark {
		c.m.dispatched.Get().Inc()
	} else {
		c.m.received.Get().Add(float64(len(events)))
		c.m.dispatched.Get().Add(float64(2 * len(events)))
	}
	c.m.revision(rev)
}

// applyLocked records one change of obj, or a bookmark, at rev, under c.mu;
// decoded and received are the change's event's.
func (c *Cacher) applyLocked(typ watch.EventType, obj *storage.Cached, rev, decoded, received int64) {
	if typ == watch.Bookmark {
		if rev > c.rev {
			c.rev = rev
		}
		return
	}
	key := keyOf(obj.Object())
	e := &event{typ: typ, key: key, obj: obj, rev: rev, decoded: decoded, received: received}
	if old, ok := c.items.Get(&entry{key: key}); ok {
		e.prev = old.obj
		c.labels.remove(old)
	}
	switch typ {
	case watch.Deleted:
		c.items.Delete(&entry{key: key})
	default:
		n := &entry{key: key, obj: e.obj}
		c.items.ReplaceOrInsert(n)
		c.labels.add(n)
	}
	c.rev, c.lastChange = rev, rev
	if dropped := c.ring.push(e); dropped != nil {
		c.ringFrom = dropped.rev
	}
	for w := range c.watchers {
		if !w.push(e) {
			c.m.terminated.Get().Inc()
			w.terminate(expired("the watcher fell too far behind"))
			delete(c.watchers, w)
		}
	}
}

// keyOf is the key of an object below the resource root: "ns/name" or
// "name".
func keyOf(obj runtime.Object) string {
	m, err := meta.Accessor(obj)
	if err != nil {
		return ""
	}
	if ns := m.GetNamespace(); ns != "" {
		return ns + "/" + m.GetName()
	}
	return m.GetName()
}
