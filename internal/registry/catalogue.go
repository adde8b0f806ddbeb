package registry

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Catalogue is the set of resources kapi serves, as the stores that serve
// them. It changes while kapi runs: custom resources come and go. A
// reader takes a Snapshot, which never changes, without a lock; a change
// publishes a new snapshot (copy on write) and signals the subscribers,
// which rebuild what they made of the old one (discovery, OpenAPI, field
// managers) when next asked.
//
// Stores are published by owner: "builtin" for the built-in resources,
// "crd/<name>" for the versions of a custom resource. An owner's stores
// are replaced whole.
type Catalogue struct {
	// NoCollector says no garbage collector runs
	// (--enable-garbage-collector=false): every store published marks
	// itself so (Store.NoCollector). Set it before the first Set.
	NoCollector bool

	cur atomic.Pointer[Snapshot]

	mu     sync.Mutex // one writer at a time
	owners []string   // in the order they first published
	subs   []chan struct{}
}

// BuiltinOwner owns the built-in resources in the catalogue.
const BuiltinOwner = "builtin"

// Snapshot is the catalogue at one moment. Its rows never change.
type Snapshot struct {
	// Gen counts the changes to the catalogue: what was built from an
	// older snapshot is out of date.
	Gen     uint64
	stores  []*Store // owners in order, each owner's stores in its order
	byGVR   map[schema.GroupVersionResource]*Store
	byOwner map[string][]*Store
	ownerOf map[schema.GroupVersionResource]string
}

// NewCatalogue returns an empty catalogue.
func NewCatalogue() *Catalogue {
	c := &Catalogue{}
	c.cur.Store(&Snapshot{byGVR: map[schema.GroupVersionResource]*Store{}, byOwner: map[string][]*Store{},
		ownerOf: map[schema.GroupVersionResource]string{}})
	return c
}

// Snapshot returns the current snapshot.
func (c *Catalogue) Snapshot() *Snapshot { return c.cur.Load() }

// Subscribe returns a channel that receives after each change; several
// changes may fold into one signal, so a subscriber reads the snapshot
// when it wakes.
func (c *Catalogue) Subscribe() <-chan struct{} {
	ch := make(chan struct{}, 1)
	c.mu.Lock()
	c.subs = append(c.subs, ch)
	c.mu.Unlock()
	return ch
}

// SubscribeUntil is Subscribe for a subscriber that stops when ctx ends
// (a control loop that lost its lease).
func (c *Catalogue) SubscribeUntil(ctx context.Context) <-chan struct{} {
	ch := c.Subscribe()
	context.AfterFunc(ctx, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.subs = slices.DeleteFunc(c.subs, func(x chan struct{}) bool { return x == ch })
	})
	return ch
}

// Set publishes stores as owner's, replacing what owner published before;
// no stores removes the owner. A resource that another owner serves, or a
// row that is not whole (a status subresource without a status in its
// Type), is refused and nothing changes.
func (c *Catalogue) Set(owner string, stores []*Store) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.cur.Load()
	for _, st := range stores {
		if err := checkRow(st.R); err != nil {
			return err
		}
		if other, ok := old.ownerOf[st.R.GVR()]; ok && other != owner {
			return fmt.Errorf("%s is already served by %s", st.R.GVR(), other)
		}
	}
	for _, st := range stores {
		if st.NoCollector != c.NoCollector { // only a new store: a published one is read without a lock
			st.NoCollector = c.NoCollector
		}
	}
	known := false
	for _, o := range c.owners {
		known = known || o == owner
	}
	if !known && len(stores) > 0 {
		c.owners = append(c.owners, owner)
	}
	next := &Snapshot{Gen: old.Gen + 1, byGVR: map[schema.GroupVersionResource]*Store{}, byOwner: map[string][]*Store{},
		ownerOf: map[schema.GroupVersionResource]string{}}
	var owners []string
	for _, o := range c.owners {
		list := old.byOwner[o]
		if o == owner {
			list = append([]*Store(nil), stores...)
		}
		if len(list) == 0 {
			continue
		}
		owners = append(owners, o)
		next.byOwner[o] = list
		for _, st := range list {
			next.stores = append(next.stores, st)
			next.byGVR[st.R.GVR()] = st
			next.ownerOf[st.R.GVR()] = o
		}
	}
	c.owners = owners
	c.cur.Store(next)
	for _, ch := range c.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	return nil
}

// checkRow refuses a row whose parts do not fit together.
func checkRow(r *Resource) error {
	if r.Type == nil || r.Type.New == nil || r.Type.Schema == nil {
		return fmt.Errorf("catalogue row %s has no type", r.GVR())
	}
	if r.Supports("list") && r.Type.NewList == nil {
		return fmt.Errorf("catalogue row %s is listed but its kind has no list", r.GVR())
	}
	for _, s := range r.Subresources {
		switch {
		case s.Name == "status" && r.Type.Status == nil:
			return fmt.Errorf("catalogue row %s has a status subresource but its kind no status", r.GVR())
		case s.Name == "scale" && r.Type.Scale == nil:
			return fmt.Errorf("catalogue row %s has a scale subresource but its kind no replicas", r.GVR())
		}
	}
	return nil
}

// Store returns the store of gvr, or nil.
func (s *Snapshot) Store(gvr schema.GroupVersionResource) *Store { return s.byGVR[gvr] }

// Stores returns every store: owners in the order they first published,
// each owner's stores in the order it gave them. Not to be changed.
func (s *Snapshot) Stores() []*Store { return s.stores }

// Owner returns the stores owner published.
func (s *Snapshot) Owner(owner string) []*Store { return s.byOwner[owner] }
