// Package storage keeps objects in etcd: the interface the registry uses,
// its etcd implementation (one Store per resource), and the embedded etcd.
//
// Keys given to a Store are relative to its resource root, so the registry
// never sees the layout: "default/cm1" for a namespaced object, "node1" for
// a cluster-scoped one, "default/" or "" as a list prefix. A watch cache can
// implement Interface in front of a Store without the handlers noticing.
package storage

import (
	"context"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
)

// Interface is what the registry needs from storage: the four transaction
// shapes of an API server (create, get/list, compare-and-swap update,
// compare-and-swap delete) and watch.
type Interface interface {
	// Create stores obj at key if nothing is there (mod_revision == 0) and
	// returns the stored object with its resourceVersion. charges are
	// written in the same transaction, if their objects did not change
	// (CodeStaleCharge otherwise).
	Create(ctx context.Context, key string, obj runtime.Object, charges ...Charge) (runtime.Object, error)
	// Charge is the write of obj at key, in the transaction of another
	// write: at obj's resourceVersion, or failing the other write.
	Charge(key string, obj runtime.Object) (Charge, error)
	// Get reads one object.
	Get(ctx context.Context, key string, opts ReadOptions) (runtime.Object, error)
	// List reads the objects below prefix that match opts.Predicate.
	List(ctx context.Context, prefix string, opts ListOptions) (*ListResult, error)
	// Update reads the object at key, passes it to tryUpdate and carries
	// out its Decision if the object did not change in between; on a
	// conflict it reads again and retries. tryUpdate gets nil when the
	// object does not exist and allowCreate is true. A Write whose object
	// encodes as the stored one writes nothing. The answer is the object
	// written, the decision's object for NoWrite, and the object removed
	// for Remove.
	//
	// A decision is taken once on a current object: a store that starts
	// from a cached copy confirms the copy's revision before it believes
	// a NoWrite or an error, and calls tryUpdate again only when the copy
	// was stale.
	Update(ctx context.Context, key string, allowCreate bool, tryUpdate UpdateFunc) (runtime.Object, error)
	// Delete removes the object at key if check accepts the current object
	// and it did not change in between; it returns the deleted object.
	Delete(ctx context.Context, key string, check func(current runtime.Object) error) (runtime.Object, error)
	// DeleteCorrupt removes the object at key without reading it, only
	// if it is corrupt (CodeNotCorrupt if it reads, CodeNotFound if there
	// is none) and did not change in between; dryRun checks, removes
	// nothing. It is kube's unsafe deletion, for what nothing else can
	// delete: no preconditions, finalizers or admission.
	DeleteCorrupt(ctx context.Context, key string, dryRun bool) error
	// Watch streams changes below prefix (or of exactly one key if
	// opts.Exact) after opts.ResourceVersion.
	Watch(ctx context.Context, prefix string, opts WatchOptions) (watch.Interface, error)
	// Revision returns the current revision of the store (the newest
	// resourceVersion).
	Revision(ctx context.Context) (int64, error)
}

// BookmarkInterval is the least time between two bookmarks of a watch that
// asked for them (kube-apiserver sends one about every minute).
var BookmarkInterval = time.Minute

// UpdateFunc decides what to do with the current object: write a new
// one, write nothing, or remove it. An error ends the update.
type UpdateFunc func(current runtime.Object) (Decision, error)

// Action is what an update does with the object it read.
type Action int8

const (
	// Write stores Decision.Object in place of the object read.
	Write Action = iota
	// NoWrite stores nothing and answers Decision.Object (a dry run).
	NoWrite
	// Remove deletes the object read (an update that ends a deletion:
	// its last finalizer went).
	Remove
)

// Decision is an UpdateFunc's answer. Charges are written with a Write or
// a Remove, in the same transaction.
type Decision struct {
	Action  Action
	Object  runtime.Object
	Charges []Charge
}

// Charge is a write to another object in the transaction of a write:
// what admission charges to it (a ResourceQuota's usage, charged with
// the object that uses it, so that concurrent writes cannot overshoot).
// It holds only if that object is still at Rev; the write fails
// otherwise, and is tried again.
type Charge struct {
	// Key is the object's etcd key; Value its new encoding.
	Key   string
	Rev   int64
	Value []byte
}

// WriteObject is the decision to store obj.
func WriteObject(obj runtime.Object) Decision { return Decision{Action: Write, Object: obj} }

// ReadOptions says which revision a read may be served from.
type ReadOptions struct {
	// ResourceVersion is 0 for "latest" (a consistent read); otherwise the
	// read is served at least as new as it (NotOlderThan) or exactly at it.
	ResourceVersion int64
	Exact           bool
	// AnyVersion: resourceVersion "0", any revision will do (a cache may
	// answer without catching up first).
	AnyVersion bool
	// Shared: the reader changes nothing it gets, so a cache may return
	// the objects it holds, as *Cached, rather than copies.
	Shared bool
}

// ListOptions adds paging and filtering to ReadOptions.
type ListOptions struct {
	ReadOptions
	Predicate Predicate
	// Limit is the page size; 0 means everything.
	Limit int64
	// Continue is the token of the previous page.
	Continue string
}

// ListResult is one page of objects.
type ListResult struct {
	Items           []runtime.Object
	ResourceVersion int64
	// Continue is set when more objects follow.
	Continue string
	// RemainingItemCount is known when the list is not filtered.
	RemainingItemCount *int64
}

// ProgressReporter is a watch that says, when asked, how far it has
// come (the watch cache's watches). Progress makes it send a BOOKMARK at
// a revision no older than rev once it has sent every change up to that
// revision: an in-process consumer (an informer) learns that it missed
// nothing of its resource up to rev, even when the resource did not
// change. False when the watch's source could not reach rev within its
// patience, or ctx ended.
type ProgressReporter interface {
	Progress(ctx context.Context, rev int64) bool
}

// Puller is a watch whose consumer may take the events in its own
// goroutine, with no goroutine feeding a channel between the two (the
// watch cache's watches). A consumer uses Next or ResultChan, not both.
type Puller interface {
	watch.Interface
	// Next waits for the watch's next event until ctx ends; false when
	// ctx ended or the watch did (after its last event).
	Next(ctx context.Context) (watch.Event, bool)
	// TryNext is the next event if one can be taken at once (the
	// changes this watch leaves out are skipped); false, at once, when
	// none can (the watch's end is Next's to give). A consumer that
	// writes the events flushes when TryNext has none, before it waits
	// in Next.
	TryNext() (watch.Event, bool)
}

// WatchOptions selects the changes a watch delivers.
type WatchOptions struct {
	// ResourceVersion is where the watch starts: the changes after it. 0
	// is the current revision.
	ResourceVersion int64
	// SendInitialEvents sends the current state (at least as new as
	// ResourceVersion) as ADDED events first, then the changes after it.
	SendInitialEvents bool
	// InitialEventsEnd marks the end of the initial events with a BOOKMARK
	// annotated k8s.io/initial-events-end (the WatchList protocol).
	InitialEventsEnd bool
	// Exact watches one key rather than a prefix.
	Exact     bool
	Predicate Predicate
	// Bookmarks asks for BOOKMARK events carrying the current revision.
	Bookmarks bool
	// ProgressBookmarks sends a BOOKMARK for every progress notification
	// of the backend, however often (the watch cache's own watch).
	ProgressBookmarks bool
	// WholeRevisions sends the changes of a revision that changed several
	// keys as one event of Type Revision, so that a reader of the watch
	// never holds part of a revision (the watch cache's own watch: a list
	// at a revision must hold all of it, or the watch that follows the
	// list, from that revision on, misses the rest).
	WholeRevisions bool
	// Shared: as ReadOptions.Shared, for the events' objects.
	Shared bool
	// Transform, if set, turns each event's object (but an ERROR's) into
	// what the watcher is served, in the watch's own goroutine, before the
	// event is sent; an error is sent as an ERROR event instead.
	Transform func(runtime.Object) (runtime.Object, error)
	// Stamped, with WholeRevisions, sends every revision as one event of
	// Type Revision, a lone change too, stamped with the time the watch
	// had decoded it (RevisionEvents.Decoded): where a watch cache's
	// apiserver_watch_events_dispatch_duration_seconds starts, as kube's
	// starts when its etcd watcher decoded the event.
	Stamped bool
	// Bytes, if set, is kept at the size of the values stored below the
	// watched prefix, as etcd holds them: the initial events' values
	// (SendInitialEvents), moved by each change the watch receives,
	// before the predicate (a watch cache's
	// apiserver_resource_size_estimate_bytes).
	Bytes *atomic.Int64
}
