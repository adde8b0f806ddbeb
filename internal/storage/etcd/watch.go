package etcd

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"

	"kapi/internal/storage"
)

// Watch streams the changes below prefix after opts.ResourceVersion. With
// ResourceVersion 0 it first sends the current state as ADDED events, read
// at one revision, and then the changes after that revision.
func (s *Store) Watch(ctx context.Context, prefix string, opts storage.WatchOptions) (watch.Interface, error) {
	ctx, cancel := context.WithCancel(ctx)
	w := &watcher{store: s, cancel: cancel, opts: opts, result: make(chan watch.Event, 100), done: make(chan struct{})}
	key := s.root + prefix
	rev := opts.ResourceVersion
	var initial []runtime.Object
	switch {
	case opts.SendInitialEvents:
		list, st, err := s.list(ctx, prefix, storage.ListOptions{Predicate: opts.Predicate, ReadOptions: storage.ReadOptions{ResourceVersion: rev}})
		if err != nil {
			cancel()
			return nil, err
		}
		if opts.Bytes != nil {
			opts.Bytes.Store(st.bytes)
		}
		if opts.Exact {
			list.Items = exactItems(list.Items, prefix)
		}
		initial, rev = list.Items, list.ResourceVersion
		w.initialEnd = opts.InitialEventsEnd
	case rev == 0:
		current, err := s.Revision(ctx)
		if err != nil {
			cancel()
			return nil, err
		}
		rev = current
	}
	wopts := []clientv3.OpOption{clientv3.WithRev(rev + 1), clientv3.WithPrevKV(), clientv3.WithProgressNotify(), clientv3.WithCreatedNotify()}
	if !opts.Exact {
		wopts = append(wopts, clientv3.WithPrefix())
	}
	ch := s.client.Watch(clientv3.WithRequireLeader(ctx), key, wopts...)
	// etcd registers a watch after Watch returns; waiting for it means
	// that whatever is written once Watch returns is seen by this watch
	// at once, rather than by etcd's catch-up of watches that start in
	// the past, which runs every 100 ms (a watch cache that lists at one
	// revision while another resource is written would otherwise lag by
	// up to 100 ms, and a server start by as much).
	var early []clientv3.WatchResponse
	select {
	case resp, ok := <-ch:
		if !ok {
			cancel()
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			return nil, fmt.Errorf("watch of %s closed as it started", key)
		}
		if err := resp.Err(); err != nil && resp.CompactRevision == 0 {
			cancel()
			return nil, err
		}
		if !resp.Created {
			early = append(early, resp)
		}
	case <-ctx.Done():
		cancel()
		return nil, ctx.Err()
	}
	go w.run(ctx, ch, early, initial, rev)
	return w, nil
}

// exactItems keeps the one object a single-key watch is about.
func exactItems(items []runtime.Object, key string) []runtime.Object {
	var out []runtime.Object
	for _, o := range items {
		m, err := meta.Accessor(o)
		if err != nil {
			continue
		}
		if m.GetNamespace()+"/"+m.GetName() == key || m.GetName() == key {
			out = append(out, o)
		}
	}
	return out
}

type watcher struct {
	store  *Store
	cancel context.CancelFunc
	opts   storage.WatchOptions
	result chan watch.Event
	done   chan struct{}
	// initialEnd: a bookmark marks the end of the initial events.
	initialEnd bool
	stopOnce   sync.Once
}

func (w *watcher) ResultChan() <-chan watch.Event { return w.result }

// Stop ends the watch and waits until its goroutine has gone.
func (w *watcher) Stop() {
	w.stopOnce.Do(func() {
		w.cancel()
		<-w.done
	})
}

func (w *watcher) send(ctx context.Context, e watch.Event) bool {
	select {
	case w.result <- storage.Transformed(w.opts.Transform, e):
		return true
	case <-ctx.Done():
		return false
	}
}

func (w *watcher) run(ctx context.Context, ch clientv3.WatchChan, early []clientv3.WatchResponse, initial []runtime.Object, rev int64) {
	defer close(w.done)
	defer close(w.result)
	if len(early) > 0 {
		ch = prepend(ctx, early, ch)
	}
	for _, obj := range initial {
		if !w.send(ctx, watch.Event{Type: watch.Added, Object: obj}) {
			return
		}
	}
	if w.initialEnd {
		b := w.bookmark(rev)
		if m, err := meta.Accessor(b.Object); err == nil {
			m.SetAnnotations(map[string]string{metav1.InitialEventsAnnotationKey: "true"})
		}
		if !w.send(ctx, b) {
			return
		}
	}
	lastBookmark := time.Now()
	var tick <-chan time.Time
	if w.opts.Bookmarks {
		t := time.NewTicker(max(storage.BookmarkInterval, time.Second))
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
			// etcd sends no progress notification while the store's
			// revision is below where this watch started; when nothing
			// at all was written since this watch's last event, a
			// bookmark at that revision is still true.
			if time.Since(lastBookmark) < storage.BookmarkInterval {
				continue
			}
			if cur, err := w.store.Revision(ctx); err == nil && cur == rev {
				lastBookmark = time.Now()
				if !w.send(ctx, w.bookmark(rev)) {
					return
				}
			}
		case resp, ok := <-ch:
			if !ok {
				return
			}
			if resp.CompactRevision != 0 {
				// kube-apiserver's message for etcd's ErrCompacted.
				w.send(ctx, errorEvent(http.StatusGone, metav1.StatusReasonExpired, WatchTooOld))
				return
			}
			if err := resp.Err(); err != nil {
				w.send(ctx, errorEvent(http.StatusInternalServerError, metav1.StatusReasonInternalError, err.Error()))
				return
			}
			if resp.IsProgressNotify() {
				w.store.observeWatch(0, true)
				// The header revision is one up to which this watch has
				// seen every event.
				if (w.opts.ProgressBookmarks && resp.Header.Revision >= rev) ||
					(w.opts.Bookmarks && resp.Header.Revision >= rev && time.Since(lastBookmark) >= storage.BookmarkInterval) {
					rev, lastBookmark = resp.Header.Revision, time.Now()
					if !w.send(ctx, w.bookmark(rev)) {
						return
					}
				}
				continue
			}
			w.store.observeWatch(len(resp.Events), false)
			if w.opts.Bytes != nil {
				w.opts.Bytes.Add(sizeChange(resp.Events))
			}
			// etcd never splits a revision between responses.
			var whole []watch.Event // of rev, with WholeRevisions
			flush := func() bool {
				defer func() { whole = whole[:0] }()
				switch {
				case len(whole) == 0:
					return true
				case len(whole) == 1 && !w.opts.Stamped:
					return w.send(ctx, whole[0])
				}
				var r *storage.RevisionEvents
				if len(whole) == 1 {
					// A lone change, stamped: one allocation.
					one := &struct {
						r  storage.RevisionEvents
						ev [1]watch.Event
					}{ev: [1]watch.Event{whole[0]}}
					one.r.Events = one.ev[:]
					r = &one.r
				} else {
					r = &storage.RevisionEvents{Events: slices.Clone(whole)}
				}
				if w.opts.Stamped {
					r.Decoded = time.Now()
				}
				return w.send(ctx, watch.Event{Type: storage.Revision, Object: r})
			}
			for _, ev := range resp.Events {
				if w.opts.WholeRevisions && ev.Kv.ModRevision != rev && !flush() {
					return
				}
				rev = ev.Kv.ModRevision
				e, ok, err := w.translate(ev)
				if err != nil {
					w.send(ctx, errorEvent(http.StatusInternalServerError, metav1.StatusReasonInternalError, err.Error()))
					return
				}
				if !ok {
					continue
				}
				if w.opts.WholeRevisions {
					whole = append(whole, e)
				} else if !w.send(ctx, e) {
					return
				}
			}
			if !flush() {
				return
			}
		}
	}
}

// sizeChange is how much events change the size of the values stored:
// a put adds its value and takes away the one it replaced, a deletion
// takes away the value deleted. (etcd leaves the previous value out once
// it has compacted the revision before: a deletion without it fails the
// watch, a put without it counts as a new value, one too many until the
// watch starts again.)
func sizeChange(events []*clientv3.Event) int64 {
	var n int64
	for _, ev := range events {
		if ev.Type == clientv3.EventTypePut {
			n += int64(len(ev.Kv.Value))
		}
		if ev.PrevKv != nil {
			n -= int64(len(ev.PrevKv.Value))
		}
	}
	return n
}

// translate turns an etcd event into a watch event, applying the predicate:
// an object that stops matching is DELETED for this watcher, one that starts
// matching is ADDED.
func (w *watcher) translate(ev *clientv3.Event) (watch.Event, bool, error) {
	var cur, prev runtime.Object
	var err error
	if ev.PrevKv == nil && (ev.Type == clientv3.EventTypeDelete || (!ev.IsCreate() && !w.opts.Predicate.Empty())) {
		// etcd leaves the previous value out when the revision before
		// the event was compacted before it sent the event (a compaction
		// to the newest revision while the watch is behind). A deletion
		// then has nothing to say which object went, and a change
		// nothing to say whether the object matched before: the watch
		// fails, as kube-apiserver's does, and a watch cache re-lists
		// rather than miss the deletion.
		return watch.Event{}, false, fmt.Errorf("etcd event received with PrevKv=nil (key=%q, modRevision=%d, type=%s)", ev.Kv.Key, ev.Kv.ModRevision, ev.Type)
	}
	if ev.Type == clientv3.EventTypePut {
		if cur, err = w.store.decodeKV(context.Background(), ev.Kv); err != nil {
			return watch.Event{}, false, err
		}
	}
	if ev.PrevKv != nil && (ev.Type == clientv3.EventTypeDelete || !w.opts.Predicate.Empty()) {
		// A deleted object carries the revision of its deletion.
		if prev, err = w.store.decodeKV(context.Background(), &mvccpb.KeyValue{Key: ev.PrevKv.Key, Value: ev.PrevKv.Value, ModRevision: ev.Kv.ModRevision}); err != nil {
			return watch.Event{}, false, err
		}
	}
	curOK, prevOK := cur != nil, prev != nil
	if curOK {
		if curOK, err = w.opts.Predicate.Matches(cur); err != nil {
			return watch.Event{}, false, err
		}
	}
	if prevOK {
		if prevOK, err = w.opts.Predicate.Matches(prev); err != nil {
			return watch.Event{}, false, err
		}
	}
	switch {
	case ev.Type == clientv3.EventTypeDelete:
		return watch.Event{Type: watch.Deleted, Object: prev}, prevOK, nil
	case curOK && ev.IsCreate():
		return watch.Event{Type: watch.Added, Object: cur}, true, nil
	case curOK && (prevOK || w.opts.Predicate.Empty()):
		return watch.Event{Type: watch.Modified, Object: cur}, true, nil
	case curOK:
		return watch.Event{Type: watch.Added, Object: cur}, true, nil
	case prevOK:
		// Deleted for this watcher: the object as it is now, which no
		// longer matches.
		return watch.Event{Type: watch.Deleted, Object: cur}, true, nil
	}
	return watch.Event{}, false, nil
}

func (w *watcher) bookmark(rev int64) watch.Event {
	obj := w.store.codec.New()
	if m, err := meta.Accessor(obj); err == nil {
		m.SetResourceVersion(strconv.FormatInt(rev, 10))
	}
	obj.GetObjectKind().SetGroupVersionKind(w.store.codec.GVK)
	return watch.Event{Type: watch.Bookmark, Object: obj}
}

func errorEvent(code int32, reason metav1.StatusReason, msg string) watch.Event {
	return watch.Event{Type: watch.Error, Object: &metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusFailure, Code: code, Reason: reason, Message: msg,
	}}
}

// prepend is ch after the responses read from it already.
func prepend(ctx context.Context, early []clientv3.WatchResponse, ch clientv3.WatchChan) clientv3.WatchChan {
	out := make(chan clientv3.WatchResponse)
	go func() {
		defer close(out)
		for _, r := range early {
			select {
			case out <- r:
			case <-ctx.Done():
				return
			}
		}
		for r := range ch {
			select {
			case out <- r:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}

// WatchTooOld is kube-apiserver's message for a watch from a revision
// etcd has compacted.
const WatchTooOld = "The resourceVersion for the provided watch is too old."
