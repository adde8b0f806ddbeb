package controllers

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
)

// TestInformerHandlers: a handler gets the objects known as Added, then
// every change, the relist's differences included, and nothing once its
// context ended (a loop that lost the lease leaves no handler behind).
func TestInformerHandlers(t *testing.T) {
	store := newMemStore(crole("a", nil))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	inf := NewInformer(store)
	go inf.Run(ctx)
	<-inf.Synced()

	var mu sync.Mutex
	var seen []string
	record := func(ev Event) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, string(ev.Type)+" "+resourceName(ev))
	}
	loop, stop := context.WithCancel(ctx)
	inf.Handle(loop, record)
	store.set(crole("b", nil))
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(seen) == 2 })
	if seen[0] != "ADDED a" || seen[1] != "ADDED b" {
		t.Fatalf("events %v", seen)
	}
	stop()
	waitFor(t, func() bool { inf.mu.RLock(); defer inf.mu.RUnlock(); return len(inf.handlers) == 0 })
	store.set(crole("c", nil))
	waitFor(t, func() bool { _, ok := inf.Get("", "c"); return ok })
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 {
		t.Fatalf("a stopped handler was called: %v", seen)
	}
}

func resourceName(ev Event) string {
	if r, ok := ev.Object.(interface{ GetName() string }); ok {
		return r.GetName()
	}
	return ""
}

// laggingStore is a memStore whose watches hold their events until asked
// for progress (storage.ProgressReporter): the informer of a resource
// whose events have not reached it yet.
type laggingStore struct{ *memStore }

func (l laggingStore) WatchShared(ctx context.Context, ns string, opts *metav1.ListOptions) (watch.Interface, error) {
	w, err := l.memStore.WatchShared(ctx, ns, opts)
	if err != nil {
		return nil, err
	}
	return &laggingWatch{src: w.(*watch.FakeWatcher), m: l.memStore, out: make(chan watch.Event, 100)}, nil
}

type laggingWatch struct {
	src *watch.FakeWatcher
	m   *memStore
	out chan watch.Event
}

func (w *laggingWatch) ResultChan() <-chan watch.Event { return w.out }
func (w *laggingWatch) Stop()                          { w.src.Stop() }

// Progress sends what the store sent so far, then a BOOKMARK at the
// store's revision.
func (w *laggingWatch) Progress(ctx context.Context, rev int64) bool {
	for len(w.src.ResultChan()) > 0 {
		ev, ok := <-w.src.ResultChan()
		if !ok {
			return false
		}
		w.out <- ev
	}
	w.m.mu.Lock()
	cur := w.m.rv
	w.m.mu.Unlock()
	if int64(cur) < rev {
		return false
	}
	w.out <- watch.Event{Type: watch.Bookmark, Object: &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{ResourceVersion: strconv.Itoa(cur)}}}
	return true
}

// TestInformerReached: Reached returns once the informer has handed its
// handlers every change up to the revision, asking a watch that has not
// sent them yet for progress; a watch that cannot report progress makes
// it return false at once rather than wait.
func TestInformerReached(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	store := laggingStore{newMemStore(crole("a", nil))}
	inf := NewInformer(store)
	go inf.Run(ctx)
	<-inf.Synced()
	var mu sync.Mutex
	seen := map[string]bool{}
	inf.Handle(ctx, func(ev Event) {
		mu.Lock()
		defer mu.Unlock()
		seen[resourceName(ev)] = true
	})
	store.set(crole("b", nil)) // revision 2, held by the watch
	time.Sleep(20 * time.Millisecond)
	if _, ok := inf.Get("", "b"); ok {
		t.Fatal("the lagging watch sent b before it was asked for progress")
	}
	if !inf.Reached(ctx, 2) {
		t.Fatal("Reached(2) is false")
	}
	mu.Lock()
	got := seen["b"]
	mu.Unlock()
	if !got {
		t.Fatal("Reached(2) returned before the handler had b")
	}

	plain := newMemStore(crole("a", nil))
	pinf := NewInformer(plain)
	go pinf.Run(ctx)
	<-pinf.Synced()
	plain.set(crole("b", nil))
	// (false until the change came: this watch cannot be asked)
	waitFor(t, func() bool { return pinf.Reached(ctx, 2) })
	short, cancelShort := context.WithTimeout(ctx, 10*time.Second)
	defer cancelShort()
	start := time.Now()
	if pinf.Reached(short, 3) {
		t.Fatal("Reached(3) is true with nothing at revision 3")
	}
	if short.Err() != nil {
		t.Fatalf("Reached waited %v for a watch that cannot report progress", time.Since(start))
	}
}
