package cacher

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"

	"kapi/internal/storage"
)

// Watch serves a watch from memory: the state first when asked, or the
// events after opts.ResourceVersion from the ring (410 Gone when it is
// older than the ring), then every change as it arrives. As
// kube-apiserver's watch cache, the ring serves a watch from a revision
// etcd has compacted while it still holds the events after it.
func (c *Cacher) Watch(ctx context.Context, prefix string, opts storage.WatchOptions) (watch.Interface, error) {
	want := opts.ResourceVersion
	if opts.SendInitialEvents && want == 0 {
		var err error
		if want, err = c.revs.get(ctx); err != nil {
			return nil, err
		}
	}
	if !c.waitFor(ctx, want, c.opts.CatchUp) {
		fallbacks.WithLabelValues(c.opts.Name).Inc()
		return c.backend.Watch(ctx, prefix, opts)
	}
	c.mu.RUnlock()

	w := &cacheWatcher{cacher: c, ctx: ctx, prefix: prefix, exact: opts.Exact, pred: opts.Predicate, shared: opts.Shared,
		transform: opts.Transform,
		input:     make(chan *event, c.opts.WatcherBuffer), result: make(chan watch.Event), done: make(chan struct{}),
		progress: make(chan struct{}, 1)}
	if opts.Bookmarks {
		w.bookmarks = time.NewTicker(max(storage.BookmarkInterval, 10*time.Millisecond))
	}
	var initial []watch.Event
	c.mu.Lock()
	switch {
	case opts.SendInitialEvents:
		c.items.AscendGreaterOrEqual(&entry{key: prefix}, func(e *entry) bool {
			if !strings.HasPrefix(e.key, prefix) {
				return false
			}
			if w.selects(e.key, e.obj) {
				initial = append(initial, watch.Event{Type: watch.Added, Object: out(e.obj, w.shared)})
			}
			return true
		})
		if opts.InitialEventsEnd {
			b := c.bookmark(c.rev)
			if m, err := meta.Accessor(b.Object); err == nil {
				m.SetAnnotations(map[string]string{metav1.InitialEventsAnnotationKey: "true"})
			}
			initial = append(initial, b)
		}
	case want == 0:
	case want < c.ringFrom:
		c.mu.Unlock()
		return errorWatcher(expired(fmt.Sprintf("too old resource version: %d (%d)", want, c.ringFrom))), nil
	default:
		for e := range c.ring.all() {
			if e.rev > want {
				if ev, ok := w.translate(e); ok {
					initial = append(initial, ev)
				}
			}
		}
	}
	c.watchers[w] = struct{}{}
	c.mu.Unlock()
	w.initial = initial
	// The watch ends with ctx, whether or not its consumer is taking
	// events at the time.
	w.mu.Lock()
	w.unwatch = context.AfterFunc(ctx, w.Stop)
	w.mu.Unlock()
	return w, nil
}

// bookmark is an empty object of the resource at rev.
func (c *Cacher) bookmark(rev int64) watch.Event {
	obj := c.opts.New()
	if m, err := meta.Accessor(obj); err == nil {
		m.SetResourceVersion(strconv.FormatInt(rev, 10))
	}
	return watch.Event{Type: watch.Bookmark, Object: obj}
}

// cacheWatcher is one client's watch: events reach it through a buffer;
// when the buffer is full the client is too slow and its watch ends with
// a 410, so that it re-lists, rather than hold up the others or grow.
// Its consumer takes the events with Next, in the consumer's goroutine
// (the watch handler: one goroutine hop per event and watcher fewer), or
// from ResultChan, fed by a goroutine of the watcher's.
type cacheWatcher struct {
	cacher    *Cacher
	ctx       context.Context // the Watch's: the watch ends with it (unwatch)
	prefix    string
	exact     bool
	pred      storage.Predicate
	bookmarks *time.Ticker                                 // nil: no BOOKMARK events
	shared    bool                                         // events carry the cache's objects, not copies
	transform func(runtime.Object) (runtime.Object, error) // WatchOptions.Transform
	input     chan *event
	result    chan watch.Event
	done      chan struct{}
	progress  chan struct{} // Progress's asks, folded into one

	// The consumer's: a BOOKMARK is due (the ticker's, or one asked
	// for), to be sent once the buffer is empty.
	bookmarkDue bool

	// The consumer's: the events before the input's, and whether the
	// last event was taken.
	initial []watch.Event
	ended   bool
	runOnce sync.Once
	// The consumer's: the times the change the event just made of was
	// decoded and received, and when the event was made; counted once
	// the event is sent (dispatch.go).
	pending struct{ decoded, received, built int64 }

	endOnce  sync.Once
	mu       sync.Mutex
	endEvent *watch.Event
	unwatch  func() bool // stops the Stop at the end of ctx
}

// ResultChan starts the goroutine that feeds the channel, on first call.
func (w *cacheWatcher) ResultChan() <-chan watch.Event {
	w.runOnce.Do(func() { go w.run() })
	return w.result
}

// Stop ends the watch from the client's side.
func (w *cacheWatcher) Stop() {
	w.cacher.mu.Lock()
	delete(w.cacher.watchers, w)
	w.cacher.mu.Unlock()
	w.terminate(nil)
}

// push hands an event to the watcher; false when its buffer is full.
// Called with the cacher's lock held.
func (w *cacheWatcher) push(e *event) bool {
	select {
	case w.input <- e:
		return true
	default:
		return false
	}
}

// terminate ends the watcher, with a last event to send if not nil.
func (w *cacheWatcher) terminate(last *watch.Event) {
	w.endOnce.Do(func() {
		w.mu.Lock()
		w.endEvent = last
		unwatch := w.unwatch
		w.mu.Unlock()
		if unwatch != nil {
			unwatch()
		}
		if w.bookmarks != nil {
			w.bookmarks.Stop()
		}
		close(w.done)
	})
}

func (w *cacheWatcher) selects(key string, obj *storage.Cached) bool {
	if w.exact {
		if key != w.prefix {
			return false
		}
	} else if !strings.HasPrefix(key, w.prefix) {
		return false
	}
	ok, err := w.pred.Matches(obj.Object())
	return err == nil && ok
}

// translate applies the watcher's selection to an event: an object that
// stops matching is DELETED for it, one that starts matching ADDED.
func (w *cacheWatcher) translate(e *event) (watch.Event, bool) {
	cur := e.typ != watch.Deleted && w.selects(e.key, e.obj)
	prev := e.prev != nil && w.selects(e.key, e.prev)
	switch {
	case e.typ == watch.Deleted:
		if !prev {
			return watch.Event{}, false
		}
		return watch.Event{Type: watch.Deleted, Object: out(e.obj, w.shared)}, true
	case cur && prev:
		return watch.Event{Type: watch.Modified, Object: out(e.obj, w.shared)}, true
	case cur:
		return watch.Event{Type: watch.Added, Object: out(e.obj, w.shared)}, true
	case prev:
		return watch.Event{Type: watch.Deleted, Object: out(e.obj, w.shared)}, true
	}
	return watch.Event{}, false
}

// Progress is storage.ProgressReporter's: once the cache has reached
// rev (asking etcd for progress, as a consistent read does), the watch
// sends a BOOKMARK at the cache's revision as soon as every event before
// it has been taken. It does not wait for the BOOKMARK.
func (w *cacheWatcher) Progress(ctx context.Context, rev int64) bool {
	if !w.cacher.waitFor(ctx, rev, w.cacher.opts.CatchUp) {
		return false
	}
	w.cacher.mu.RUnlock()
	select {
	case w.progress <- struct{}{}:
	default:
	}
	return true
}

// Next is storage.Puller's: the initial events, then the changes (and
// BOOKMARKs) as they come, then the event the watch ended with, if any.
func (w *cacheWatcher) Next(ctx context.Context) (watch.Event, bool) {
	ev, _, ok := w.next(ctx)
	w.sent(w.pending.built) // handed over as it is made: no channel between
	return ev, ok
}

// made notes that the watcher made its next event of e, a change from the
// cache's watch, now.
func (w *cacheWatcher) made(e *event) {
	w.pending.decoded, w.pending.received, w.pending.built = e.decoded, e.received, now()
}

// sent records the event made last, sent at the time given (now()), if it
// was one of a stamped change: kube records neither initial events nor
// bookmarks.
func (w *cacheWatcher) sent(at int64) {
	if p := w.pending; p.built != 0 {
		if p.decoded != 0 {
			w.cacher.m.dispatch.observe([numStages]int64{stageStorageToCache: p.received - p.decoded,
				stageCacheToWatcher: at - p.built, stageTotal: at - p.decoded})
		}
		w.pending.built = 0
	}
}

// TryNext is storage.Puller's.
func (w *cacheWatcher) TryNext() (watch.Event, bool) {
	for {
		select {
		case <-w.done:
			return watch.Event{}, false
		default:
		}
		if len(w.initial) > 0 {
			return w.takeInitial(), true
		}
		select {
		case e := <-w.input:
			if ev, ok := w.translate(e); ok {
				ev = storage.Transformed(w.transform, ev)
				w.made(e)
				w.sent(w.pending.built)
				return ev, true
			}
		default:
			return watch.Event{}, false
		}
	}
}

// takeInitial takes the first of the initial events.
func (w *cacheWatcher) takeInitial() watch.Event {
	ev := w.initial[0]
	w.initial[0] = watch.Event{}
	w.initial = w.initial[1:]
	return storage.Transformed(w.transform, ev)
}

// next is Next, and whether the event is the last (the one the watch
// ended with).
func (w *cacheWatcher) next(ctx context.Context) (ev watch.Event, last, ok bool) {
	var tick <-chan time.Time
	if w.bookmarks != nil {
		tick = w.bookmarks.C
	}
	for {
		select {
		case <-w.done:
			return w.end()
		default:
		}
		if len(w.initial) > 0 {
			return w.takeInitial(), false, true
		}
		if w.bookmarkDue {
			// Every event up to the cache's revision has reached this
			// watcher when its buffer is empty (the cache pushes an
			// event and moves its revision under its lock).
			w.cacher.mu.RLock()
			rev, empty := w.cacher.rev, len(w.input) == 0
			w.cacher.mu.RUnlock()
			if empty {
				w.bookmarkDue = false
				return storage.Transformed(w.transform, w.cacher.bookmark(rev)), false, true
			}
		}
		select {
		case <-ctx.Done():
			return watch.Event{}, false, false
		case <-w.done:
			return w.end()
		case e := <-w.input:
			if ev, ok := w.translate(e); ok {
				ev = storage.Transformed(w.transform, ev)
				w.made(e)
				return ev, false, true
			}
		case <-tick:
			w.bookmarkDue = true
		case <-w.progress:
			w.bookmarkDue = true
		}
	}
}

// end is the event the watch ended with, once; then none.
func (w *cacheWatcher) end() (ev watch.Event, last, ok bool) {
	if w.ended {
		return watch.Event{}, false, false
	}
	w.ended = true
	w.mu.Lock()
	end := w.endEvent
	w.mu.Unlock()
	if end == nil {
		return watch.Event{}, false, false
	}
	return *end, true, true
}

// run feeds ResultChan.
func (w *cacheWatcher) run() {
	defer close(w.result)
	for {
		ev, last, ok := w.next(context.Background())
		if !ok {
			return
		}
		if last {
			select {
			case w.result <- ev:
			case <-w.ctx.Done():
			case <-time.After(5 * time.Second):
			}
			return
		}
		select {
		case w.result <- ev:
			w.sent(now())
		case <-w.done: // next sends the last event
		}
	}
}

// expired is the ERROR event that makes a client re-list.
func expired(msg string) *watch.Event {
	return &watch.Event{Type: watch.Error, Object: &metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusFailure, Code: http.StatusGone, Reason: metav1.StatusReasonExpired, Message: msg,
	}}
}

// errorWatcher sends one error event and ends.
func errorWatcher(ev *watch.Event) watch.Interface {
	ch := make(chan watch.Event, 1)
	ch <- *ev
	close(ch)
	return &staticWatcher{ch: ch}
}

type staticWatcher struct{ ch chan watch.Event }

func (s *staticWatcher) ResultChan() <-chan watch.Event { return s.ch }
func (s *staticWatcher) Stop()                          {}
