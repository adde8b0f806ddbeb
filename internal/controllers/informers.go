package controllers

import (
	"context"
	"sort"
	"sync"
	"sync/atomic"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"kapi/internal/registry"
)

// Informers share one informer per resource among the loops, started on
// first use and kept in step with the catalogue: when a custom resource's
// store is replaced (its CRD changed) the informer reads the new one, and
// when the resource leaves the catalogue its informer stops.
type Informers struct {
	ctx context.Context
	cat *registry.Catalogue

	mu      sync.Mutex
	running map[schema.GroupVersionResource]*shared
	watch   sync.Once
}

type shared struct {
	inf   *Informer
	store *registry.Store
	stop  context.CancelFunc
}

// NewInformers returns informers of cat's resources that run until ctx
// ends.
func NewInformers(ctx context.Context, cat *registry.Catalogue) *Informers {
	return &Informers{ctx: ctx, cat: cat, running: map[schema.GroupVersionResource]*shared{}}
}

// For returns the informer of gvr, started on first use, or nil when the
// catalogue has no such resource.
func (f *Informers) For(gvr schema.GroupVersionResource) *Informer {
	f.watch.Do(func() { go f.follow(f.cat.Subscribe()) })
	f.mu.Lock()
	defer f.mu.Unlock()
	if s, ok := f.running[gvr]; ok {
		return s.inf
	}
	st := f.cat.Snapshot().Store(gvr)
	if st == nil || st.Storage == nil {
		return nil
	}
	ctx, stop := context.WithCancel(f.ctx)
	s := &shared{inf: NewInformer(st), store: st, stop: stop}
	f.running[gvr] = s
	go s.inf.Run(ctx)
	return s.inf
}

// NotSynced names the running informers that have not had their first
// list yet (kube's informer-sync check reports them).
func (f *Informers) NotSynced() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for gvr, s := range f.running {
		select {
		case <-s.inf.Synced():
		default:
			out = append(out, gvr.String())
		}
	}
	sort.Strings(out)
	return out
}

// follow applies the catalogue's changes to the running informers.
func (f *Informers) follow(changed <-chan struct{}) {
	for {
		select {
		case <-f.ctx.Done():
			return
		case <-changed:
		}
		snap := f.cat.Snapshot()
		f.mu.Lock()
		for gvr, s := range f.running {
			switch st := snap.Store(gvr); {
			case st == nil || st.Storage == nil:
				s.stop()
				delete(f.running, gvr)
			case st != s.store:
				s.store = st
				s.inf.SetSource(st)
			}
		}
		f.mu.Unlock()
	}
}

// waitSynced waits until each informer has its first list; false when ctx
// ended first.
func waitSynced(ctx context.Context, infs ...*Informer) bool {
	for _, i := range infs {
		select {
		case <-i.Synced():
		case <-ctx.Done():
			return false
		}
	}
	return true
}

// waitReached waits until each informer has reached revision rev
// (Informer.Reached), all at once; false when one could not tell before
// ctx ended.
func waitReached(ctx context.Context, rev int64, infs ...*Informer) bool {
	var wg sync.WaitGroup
	var behind atomic.Bool
	for _, inf := range infs {
		wg.Go(func() {
			if !inf.Reached(ctx, rev) {
				behind.Store(true)
			}
		})
	}
	wg.Wait()
	return !behind.Load()
}
