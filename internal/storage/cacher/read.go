package cacher

import (
	"context"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/runtime"

	"kapi/internal/storage"
)

func parseRV(s string) (int64, error) { return strconv.ParseInt(s, 10, 64) }

// waitFor blocks until the cache is ready and at revision rev or later,
// asking etcd for progress while it waits (the changes up to rev may be to
// other resources: only a progress notification then moves the cache).
// It reports false when it could not catch up within patience; when true,
// the read lock is held. A reader that gives up asks for progress too, so
// that the readers after it find the cache caught up.
func (c *Cacher) waitFor(ctx context.Context, rev int64, patience time.Duration) bool {
	start := time.Now()
	c.mu.Lock()
	if rev > 0 && (!c.ready || c.rev < rev) {
		// As kube's, the time a read waited for the cache to catch up,
		// caught up or not.
		defer func() { c.m.readWait.Get().Observe(time.Since(start).Seconds()) }()
	}
	for !c.ready || c.rev < rev {
		// The cache's own watch usually brings the revision within
		// milliseconds; progress is asked for only when it does not.
		late := c.ready && time.Since(start) > progressAfter
		if time.Since(start) > patience || ctx.Err() != nil {
			behind := c.ready
			c.mu.Unlock()
			if behind {
				c.askProgress(ctx)
			}
			return false
		}
		if late {
			c.mu.Unlock()
			c.askProgress(ctx)
			c.mu.Lock()
		}
		// sync.Cond has no timeout: a timer wakes the waiters, at the
		// latest when it is time to ask for progress.
		wake := min(20*time.Millisecond, patience)
		if c.ready && !late {
			wake = min(wake, progressAfter-time.Since(start)+time.Millisecond)
		}
		t := time.AfterFunc(wake, func() {
			c.mu.Lock()
			c.cond.Broadcast()
			c.mu.Unlock()
		})
		c.cond.Wait()
		t.Stop()
	}
	c.mu.Unlock()
	c.mu.RLock()
	return true
}

// progressAfter is how long a reader waits for the cache's own watch
// before it asks for progress; progressEvery is how often the readers of
// a cache ask, at most.
const (
	progressAfter = 5 * time.Millisecond
	progressEvery = 100 * time.Millisecond
)

// askProgress asks etcd for a progress notification, unless a reader of
// this cache asked less than progressEvery ago.
func (c *Cacher) askProgress(ctx context.Context) {
	now := time.Now().UnixNano()
	last := c.progressAsked.Load()
	if now-last < int64(progressEvery) || !c.progressAsked.CompareAndSwap(last, now) {
		return
	}
	c.backend.RequestProgress(ctx)
}

// readRevision is the revision a read must reflect: etcd's current one
// for a consistent read, the asked one for "not older than", nothing for
// "any".
func (c *Cacher) readRevision(ctx context.Context, o storage.ReadOptions) (int64, error) {
	switch {
	case o.AnyVersion:
		return 0, nil
	case o.ResourceVersion > 0:
		return o.ResourceVersion, nil
	}
	return c.revs.get(ctx)
}

// getPatience is how long a get waits for the cache to reach the
// revision it must reflect before it reads etcd instead. The cache's own
// watch brings this resource's changes within a millisecond or so; when
// the revision moved because of other resources, only a progress
// notification would move the cache (tens of milliseconds), and one etcd
// read is quicker (kube-apiserver reads every consistent get from etcd).
const getPatience = 2 * time.Millisecond

// Get serves one object from memory.
func (c *Cacher) Get(ctx context.Context, key string, opts storage.ReadOptions) (runtime.Object, error) {
	ctx, span := c.startSpan(ctx, "cacher.Get", key)
	defer span.End()
	if opts.Exact {
		return c.backend.Get(ctx, key, opts)
	}
	rev, err := c.readRevision(ctx, opts)
	if err != nil {
		return nil, err
	}
	if !c.waitFor(ctx, rev, getPatience) {
		return c.backend.Get(ctx, key, opts)
	}
	e, ok := c.items.Get(&entry{key: key})
	c.mu.RUnlock()
	if !ok {
		return nil, &storage.Error{Code: storage.CodeNotFound, Key: key}
	}
	return out(e.obj, opts.Shared), nil
}

// out is what a reader gets of a cached object: the object itself when it
// shares, else a copy of its own.
func out(c *storage.Cached, shared bool) runtime.Object {
	if shared {
		return c
	}
	return c.DeepCopyObject()
}

// List serves a list from memory, every page of a paged one included
// while the resource has not changed since the first page's revision and
// etcd has not compacted it; a later page of a list whose objects have
// changed since is read from etcd at that revision.
func (c *Cacher) List(ctx context.Context, prefix string, opts storage.ListOptions) (*storage.ListResult, error) {
	ctx, span := c.startSpan(ctx, "cacher.GetList", prefix)
	defer span.End()
	if opts.Exact {
		return c.backend.List(ctx, prefix, opts)
	}
	if opts.Continue != "" {
		token, err := storage.DecodeContinue(opts.Continue)
		if err != nil {
			return nil, err
		}
		if !strings.HasPrefix(token.Start, prefix) {
			return nil, &storage.Error{Code: storage.CodeInvalidContinue, Msg: "continue key is not within the listed prefix"}
		}
		c.mu.RLock()
		// A token from before etcd's compaction is etcd's to refuse (410
		// with a token that goes on inconsistently), even when nothing
		// changed since.
		if !c.ready || token.RV < c.lastChange || token.RV > c.rev || token.RV < c.opts.Compacted() {
			c.mu.RUnlock()
			return c.backend.List(ctx, prefix, opts)
		}
		// No change since token.RV: the objects in memory are the
		// objects at token.RV.
		defer c.mu.RUnlock()
		return c.list(prefix, token.Start, token.RV, opts)
	}
	// A consistent list (no resourceVersion) is counted as kube counts
	// it: served from memory or not (success), and by etcd after the
	// cache did not catch up in time (fallback).
	consistent := opts.ResourceVersion == 0 && !opts.AnyVersion
	rev, err := c.readRevision(ctx, opts.ReadOptions)
	if err != nil {
		if consistent {
			c.m.consistentRead(false, false)
		}
		return nil, err
	}
	if !c.waitFor(ctx, rev, c.opts.CatchUp) {
		fallbacks.WithLabelValues(c.opts.Name).Inc()
		res, err := c.backend.List(ctx, prefix, opts)
		if consistent {
			c.m.consistentRead(err == nil, true)
		}
		return res, err
	}
	res, err := c.list(prefix, prefix, c.rev, opts)
	c.mu.RUnlock()
	if consistent {
		c.m.consistentRead(err == nil, false)
	}
	return res, err
}

// list is one page of the objects below prefix, from start on, as of rev;
// the read lock is held. It counts in the list metrics, as kube's, the
// objects it read (of the label index, when it used it), and none
// tested against the selectors (kube's counts none for its cache).
func (c *Cacher) list(prefix, start string, rev int64, opts storage.ListOptions) (*storage.ListResult, error) {
	res := &storage.ListResult{ResourceVersion: rev}
	var last string
	var more bool
	var remaining int64
	var failed error
	fetched, index := 0, ""
	defer func() { c.m.lists.Record(index, fetched, 0, len(res.Items)) }()
	visit := func(e *entry) bool {
		if !strings.HasPrefix(e.key, prefix) {
			return false
		}
		fetched++
		if opts.Limit > 0 && int64(len(res.Items)) == opts.Limit {
			more = true
			if !opts.Predicate.Empty() {
				return false
			}
			remaining++
			return true
		}
		ok, err := opts.Predicate.Matches(e.obj.Object())
		if err != nil {
			failed = err
			return false
		}
		if ok {
			res.Items = append(res.Items, out(e.obj, opts.Shared))
			last = e.key
		}
		return true
	}
	if t, label, ok := c.labels.narrowest(opts.Predicate.Label); ok {
		// Only the objects one of the selector's labels names (kube
		// names a label's index "l:<label>").
		index = "l:" + label
		if t != nil {
			t.AscendGreaterOrEqual(&entry{key: start}, visit)
		}
	} else {
		c.items.AscendGreaterOrEqual(&entry{key: start}, visit)
	}
	if failed != nil {
		return nil, failed
	}
	if more {
		res.Continue = storage.EncodeContinue(rev, last+"\x00")
		if opts.Predicate.Empty() {
			res.RemainingItemCount = &remaining
		}
	}
	return res, nil
}

// Revision is etcd's.
func (c *Cacher) Revision(ctx context.Context) (int64, error) { return c.backend.Revision(ctx) }

// Create writes through to etcd.
func (c *Cacher) Create(ctx context.Context, key string, obj runtime.Object, charges ...storage.Charge) (runtime.Object, error) {
	return c.backend.Create(ctx, key, obj, charges...)
}

// Charge is the backend's.
func (c *Cacher) Charge(key string, obj runtime.Object) (storage.Charge, error) {
	return c.backend.Charge(key, obj)
}

// updaterFrom is a backend that can start an update from a cached object.
type updaterFrom interface {
	UpdateFrom(ctx context.Context, key string, allowCreate bool, tryUpdate storage.UpdateFunc, hint runtime.Object) (runtime.Object, error)
}

// Update writes through to etcd, starting from the cached object when
// there is one: no read before the write.
func (c *Cacher) Update(ctx context.Context, key string, allowCreate bool, tryUpdate storage.UpdateFunc) (runtime.Object, error) {
	if u, ok := c.backend.(updaterFrom); ok {
		c.mu.RLock()
		e, found := c.items.Get(&entry{key: key})
		ready := c.ready
		c.mu.RUnlock()
		if ready && found {
			return u.UpdateFrom(ctx, key, allowCreate, tryUpdate, e.obj.Object())
		}
	}
	return c.backend.Update(ctx, key, allowCreate, tryUpdate)
}

// Delete writes through to etcd.
func (c *Cacher) Delete(ctx context.Context, key string, check func(current runtime.Object) error) (runtime.Object, error) {
	return c.backend.Delete(ctx, key, check)
}

// DeleteCorrupt writes through to etcd (a corrupt object never reached
// the cache).
func (c *Cacher) DeleteCorrupt(ctx context.Context, key string, dryRun bool) error {
	return c.backend.DeleteCorrupt(ctx, key, dryRun)
}

// Ready waits until the cache is filled and its watch of etcd registered,
// or ctx ends (its error then).
func (c *Cacher) Ready(ctx context.Context) error {
	for !c.waitFor(ctx, 0, time.Hour) {
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	c.mu.RUnlock()
	return nil
}
