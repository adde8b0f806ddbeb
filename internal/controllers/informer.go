package controllers

import (
	"context"
	"errors"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/klog/v2"
)

// ListWatcher is what an Informer reads: a registry.Store.
type ListWatcher interface {
	List(ctx context.Context, ns string, opts *metav1.ListOptions) (runtime.Object, error)
	Watch(ctx context.Context, ns string, opts *metav1.ListOptions) (watch.Interface, error)
}

// Informer keeps every object of one store in memory, current through a
// watch that starts where a list ended; when the watch fails or ends
// (etcd compacted past it, a restart) it lists again. The authorizer
// reads roles and bindings from informers rather than from etcd, as
// kube-apiserver's RBAC reads from its informers: a change is seen a
// moment after it is written.
//
// Objects it returns are shared: readers must not change them.
type Informer struct {
	src ListWatcher
	// Retry is how long it waits before listing again after an error.
	Retry time.Duration

	mu     sync.RWMutex
	byNS   map[string]map[string]runtime.Object
	subs   []chan struct{}
	synced chan struct{}
	once   sync.Once
}

// NewInformer returns an informer of src; Run fills it.
func NewInformer(src ListWatcher) *Informer {
	return &Informer{src: src, Retry: time.Second, byNS: map[string]map[string]runtime.Object{}, synced: make(chan struct{})}
}

// Changed returns a channel that receives (without blocking the informer,
// so several changes may fold into one signal) after every change. Call
// it before Run.
func (i *Informer) Changed() <-chan struct{} {
	ch := make(chan struct{}, 1)
	i.mu.Lock()
	i.subs = append(i.subs, ch)
	i.mu.Unlock()
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
	list, err := i.src.List(ctx, "", &metav1.ListOptions{})
	if err != nil {
		return err
	}
	items, err := meta.ExtractList(list)
	if err != nil {
		return err
	}
	la, err := meta.ListAccessor(list)
	if err != nil {
		return err
	}
	fresh := map[string]map[string]runtime.Object{}
	for _, o := range items {
		put(fresh, o)
	}
	i.mu.Lock()
	i.byNS = fresh
	i.mu.Unlock()
	i.notify()
	i.once.Do(func() { close(i.synced) })

	w, err := i.src.Watch(ctx, "", &metav1.ListOptions{ResourceVersion: la.GetResourceVersion(), AllowWatchBookmarks: true})
	if err != nil {
		return err
	}
	defer w.Stop()
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

// apply records one event; an error event ends the watch.
func (i *Informer) apply(ev watch.Event) error {
	switch ev.Type {
	case watch.Added, watch.Modified:
		i.mu.Lock()
		put(i.byNS, ev.Object)
		i.mu.Unlock()
	case watch.Deleted:
		m, err := meta.Accessor(ev.Object)
		if err != nil {
			return nil
		}
		i.mu.Lock()
		delete(i.byNS[m.GetNamespace()], m.GetName())
		i.mu.Unlock()
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
