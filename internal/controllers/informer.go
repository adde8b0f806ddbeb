package controllers

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/klog/v2"

	"kapi/internal/registry"
	"kapi/internal/storage"
)

// ListWatcher is what an Informer reads: a registry.Store, whose shared
// reads answer the watch cache's own objects.
type ListWatcher interface {
	ListShared(ctx context.Context, ns string, opts *metav1.ListOptions) (*registry.SharedList, error)
	WatchShared(ctx context.Context, ns string, opts *metav1.ListOptions) (watch.Interface, error)
}

// Informer indexes every object of one store by namespace and name,
// current through a watch that starts where a list ended; when the watch
// fails or ends (etcd compacted past it, a restart) it lists again. The
// objects are the watch cache's own (no copy is kept: an informer costs
// a map of pointers), so readers must not change them: copy first. The
// authorizer reads roles and bindings from informers rather than from
// etcd, as kube-apiserver's RBAC reads from its informers: a change is
// seen a moment after it is written.
type Informer struct {
	// Retry is how long it waits before listing again after an error.
	Retry time.Duration

	mu       sync.RWMutex
	src      ListWatcher
	restart  context.CancelFunc // ends the current list and watch
	byNS     map[string]map[string]runtime.Object
	subs     []chan struct{}
	handlers []*func(Event) // replaced, never changed in place: dispatch reads a copy
	synced   chan struct{}
	once     sync.Once
	// rev is the revision up to which every change is applied and
	// handed to the handlers (a list's, an event's or a BOOKMARK's);
	// watch is the current watch, asked for progress by Reached.
	rev   int64
	watch watch.Interface
}

// Event is one change an informer saw: Old is the object it replaced
// (nil when Added), Object the new one (the last known state when
// Deleted).
type Event struct {
	Type   watch.EventType
	Object runtime.Object
	Old    runtime.Object
}

// NewInformer returns an informer of src; Run fills it.
func NewInformer(src ListWatcher) *Informer {
	return &Informer{src: src, Retry: time.Second, byNS: map[string]map[string]runtime.Object{}, synced: make(chan struct{})}
}

// Handle calls h with every later change until ctx ends, after calling
// it with an Added event for each object known now; h runs on the
// informer's goroutine and must be quick (put a key on a queue). A loop
// that stops (it lost the lease) takes its handlers with it.
func (i *Informer) Handle(ctx context.Context, h func(Event)) {
	i.mu.Lock()
	defer i.mu.Unlock()
	for _, objs := range i.byNS {
		for _, o := range objs {
			h(Event{Type: watch.Added, Object: o})
		}
	}
	hp := &h
	i.handlers = append(slices.Clip(i.handlers), hp)
	context.AfterFunc(ctx, func() {
		i.mu.Lock()
		defer i.mu.Unlock()
		i.handlers = slices.DeleteFunc(slices.Clone(i.handlers), func(x *func(Event)) bool { return x == hp })
	})
}

// SetSource makes the informer read src from now on: it lists src and
// reports the differences as events (a custom resource's new store after
// its CRD changed holds the same objects, so nothing is reported).
func (i *Informer) SetSource(src ListWatcher) {
	i.mu.Lock()
	i.src = src
	restart := i.restart
	i.mu.Unlock()
	if restart != nil {
		restart()
	}
}

// Changed returns a channel that receives (without blocking the informer,
// so several changes may fold into one signal) after every change, until
// ctx ends.
func (i *Informer) Changed(ctx context.Context) <-chan struct{} {
	ch := make(chan struct{}, 1)
	i.mu.Lock()
	i.subs = append(i.subs, ch)
	i.mu.Unlock()
	context.AfterFunc(ctx, func() {
		i.mu.Lock()
		defer i.mu.Unlock()
		i.subs = slices.DeleteFunc(i.subs, func(x chan struct{}) bool { return x == ch })
	})
	return ch
}

// Synced is closed once the first list is in memory.
func (i *Informer) Synced() <-chan struct{} { return i.synced }

// Get returns the object ns/name ("" ns for cluster-scoped objects).
func (i *Informer) Get(ns, name string) (runtime.Object, bool) {
	i.mu.RLock()
	defer i.mu.RUnlock()
	obj, ok := i.byNS[ns][name]
	return obj, ok
}

// List returns the objects in ns, or all of them for "" (which is also
// the namespace of cluster-scoped objects).
func (i *Informer) List(ns string) []runtime.Object {
	i.mu.RLock()
	defer i.mu.RUnlock()
	var out []runtime.Object
	for n, objs := range i.byNS {
		if ns != "" && n != ns {
			continue
		}
		for _, o := range objs {
			out = append(out, o)
		}
	}
	return out
}

// Run lists and watches until ctx ends. A watch that ends (an error
// event such as 410 Gone, or a closed stream) is followed by a new list at
// once; a list or watch that cannot start, after Retry.
func (i *Informer) Run(ctx context.Context) {
	for ctx.Err() == nil {
		start := time.Now()
		err := i.listAndWatch(ctx)
		if ctx.Err() != nil {
			return
		}
		var we *watchError
		switch {
		case err == nil || errors.As(err, &we):
			klog.V(2).InfoS("informer: the watch ended, listing again", "reason", err)
			// A watch that keeps ending at once must not spin.
			if time.Since(start) < time.Second {
				sleep(ctx, i.Retry/10)
			}
		default:
			klog.ErrorS(err, "informer: listing again")
			sleep(ctx, i.Retry)
		}
	}
}

// listAndWatch replaces the contents with a list, then applies the
// watch's events until it ends; it returns nil when the watch simply
// closed, a *watchError after an error event.
func (i *Informer) listAndWatch(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	i.mu.Lock()
	src := i.src
	i.restart = cancel
	i.mu.Unlock()
	list, err := src.ListShared(ctx, "", &metav1.ListOptions{})
	if err != nil {
		return err
	}
	la, err := meta.ListAccessor(list.List)
	if err != nil {
		return err
	}
	fresh := map[string]map[string]runtime.Object{}
	for _, o := range list.Items {
		put(fresh, storage.Unwrap(o))
	}
	i.replace(fresh, revisionOf(la.GetResourceVersion()))
	i.once.Do(func() { close(i.synced) })

	w, err := src.WatchShared(ctx, "", &metav1.ListOptions{ResourceVersion: la.GetResourceVersion(), AllowWatchBookmarks: true})
	if err != nil {
		return err
	}
	i.mu.Lock()
	i.watch = w
	i.mu.Unlock()
	i.notify() // Reached can ask it for progress
	defer func() {
		i.mu.Lock()
		i.watch = nil
		i.mu.Unlock()
		w.Stop()
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.ResultChan():
			if !ok {
				return nil
			}
			if err := i.apply(ev); err != nil {
				return err
			}
		}
	}
}

// replace makes fresh, a list at revision rev, the contents, and tells
// the handlers what differs from what was there: objects added, changed
// (another resourceVersion) and gone.
func (i *Informer) replace(fresh map[string]map[string]runtime.Object, rev int64) {
	i.mu.Lock()
	old := i.byNS
	i.byNS = fresh
	var events []Event
	if len(i.handlers) > 0 {
		for ns, objs := range fresh {
			for name, o := range objs {
				was, ok := old[ns][name]
				switch {
				case !ok:
					events = append(events, Event{Type: watch.Added, Object: o})
				case resourceVersion(was) != resourceVersion(o):
					events = append(events, Event{Type: watch.Modified, Object: o, Old: was})
				}
			}
		}
		for ns, objs := range old {
			for name, o := range objs {
				if _, ok := fresh[ns][name]; !ok {
					events = append(events, Event{Type: watch.Deleted, Object: o})
				}
			}
		}
	}
	i.mu.Unlock()
	i.dispatch(events...)
	i.reached(rev)
	i.notify()
}

func resourceVersion(o runtime.Object) string {
	m, err := meta.Accessor(o)
	if err != nil {
		return ""
	}
	return m.GetResourceVersion()
}

// revisionOf is a resourceVersion as etcd's revision; 0 if it is none.
func revisionOf(rv string) int64 {
	rev, _ := strconv.ParseInt(rv, 10, 64)
	return rev
}

// reached records that every change up to rev is applied and handed to
// the handlers: called after the handlers had them.
func (i *Informer) reached(rev int64) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if rev > i.rev {
		i.rev = rev
	}
}

// Reached waits until the informer has applied, and handed to its
// handlers, every change of its resource up to revision rev, asking its
// watch to report its progress when the resource did not change since
// (storage.ProgressReporter). It reports false when ctx ends first, or
// when the watch cannot report progress (a watch served by etcd, without
// the watch cache). It waits for changes until ctx ends: give it one
// that does.
func (i *Informer) Reached(ctx context.Context, rev int64) bool {
	changed := i.Changed(ctx)
	for {
		i.mu.RLock()
		cur, w := i.rev, i.watch
		i.mu.RUnlock()
		if cur >= rev {
			return true
		}
		if w != nil {
			p, ok := w.(storage.ProgressReporter)
			if !ok || !p.Progress(ctx, rev) {
				return false
			}
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return false
		}
	}
}

// dispatch hands events to the handlers, in order.
func (i *Informer) dispatch(events ...Event) {
	if len(events) == 0 {
		return
	}
	i.mu.RLock()
	hs := i.handlers
	i.mu.RUnlock()
	for _, ev := range events {
		for _, h := range hs {
			(*h)(ev)
		}
	}
}

// apply records one event; an error event ends the watch.
func (i *Informer) apply(ev watch.Event) error {
	switch ev.Type {
	case watch.Added, watch.Modified:
		obj := storage.Unwrap(ev.Object)
		m, err := meta.Accessor(obj)
		if err != nil {
			return nil
		}
		i.mu.Lock()
		old := i.byNS[m.GetNamespace()][m.GetName()]
		put(i.byNS, obj)
		i.mu.Unlock()
		typ := watch.Modified
		if old == nil {
			typ = watch.Added
		}
		i.dispatch(Event{Type: typ, Object: obj, Old: old})
		i.reached(revisionOf(m.GetResourceVersion()))
	case watch.Deleted:
		obj := storage.Unwrap(ev.Object)
		m, err := meta.Accessor(obj)
		if err != nil {
			return nil
		}
		i.mu.Lock()
		delete(i.byNS[m.GetNamespace()], m.GetName())
		i.mu.Unlock()
		i.dispatch(Event{Type: watch.Deleted, Object: obj})
		i.reached(revisionOf(m.GetResourceVersion()))
	case watch.Bookmark:
		m, err := meta.Accessor(ev.Object)
		if err != nil {
			return nil
		}
		i.reached(revisionOf(m.GetResourceVersion()))
	case watch.Error:
		if st, ok := ev.Object.(*metav1.Status); ok {
			return &watchError{st.Message}
		}
		return &watchError{"watch error"}
	default:
		return nil
	}
	i.notify()
	return nil
}

type watchError struct{ msg string }

func (e *watchError) Error() string { return e.msg }

func put(byNS map[string]map[string]runtime.Object, o runtime.Object) {
	m, err := meta.Accessor(o)
	if err != nil {
		return
	}
	ns := m.GetNamespace()
	if byNS[ns] == nil {
		byNS[ns] = map[string]runtime.Object{}
	}
	byNS[ns][m.GetName()] = o
}

func (i *Informer) notify() {
	i.mu.RLock()
	defer i.mu.RUnlock()
	for _, ch := range i.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}
