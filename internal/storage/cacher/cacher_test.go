package cacher

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/scheme"

	"kapi/internal/storage"
	"kapi/internal/storage/embedded"
	"kapi/internal/storage/etcd"
	"kapi/internal/storage/storagetest"
)

// newPair runs a real embedded etcd with a ConfigMap store on it and a
// cache in front of that store.
func newPair(t testing.TB, opts Options) (*etcd.Store, *Cacher) {
	t.Helper()
	_, s, c := newPairOn(t, opts)
	return s, c
}

// newPairOn is newPair, with the etcd they run on.
func newPairOn(t testing.TB, opts Options) (*embedded.Etcd, *etcd.Store, *Cacher) {
	t.Helper()
	e, err := embedded.Start(context.Background(), t.TempDir()+"/etcd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	newCM := func() runtime.Object { return &corev1.ConfigMap{} }
	s := etcd.New(e.Client, "/registry/configmaps/", etcd.Codec{
		Serializer: protobuf.NewSerializer(scheme.Scheme, scheme.Scheme),
		GVK:        corev1.SchemeGroupVersion.WithKind("ConfigMap"), New: newCM,
	})
	opts.New = newCM
	c := New(s, opts)
	t.Cleanup(c.Stop)
	return e, s, c
}

func names(items []runtime.Object) []string {
	var out []string
	for _, o := range items {
		m := o.(*corev1.ConfigMap)
		out = append(out, m.Namespace+"/"+m.Name+"@"+m.ResourceVersion+"="+m.Labels["l"])
	}
	return out
}

var nonePred = storage.Predicate{Label: labels.SelectorFromSet(labels.Set{"l": "none"}),
	Attrs: func(o runtime.Object) (labels.Set, fields.Set, error) { return o.(*corev1.ConfigMap).Labels, nil, nil }}

var evenPred = storage.Predicate{Label: labels.SelectorFromSet(labels.Set{"l": "even"}), Field: fields.Everything(),
	Attrs: func(o runtime.Object) (labels.Set, fields.Set, error) { return o.(*corev1.ConfigMap).Labels, nil, nil }}

// TestCacheMatchesEtcd: random writes interleaved with consistent lists
// and gets (plain, by namespace, by selector, paged) from the cache and
// from etcd directly; they must agree every time.
func TestCacheMatchesEtcd(t *testing.T) {
	s, c := newPair(t, Options{})
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	var pending string // the continue token of a paged list under way
	for step := 0; step < 300; step++ {
		ns := fmt.Sprintf("ns%d", rng.IntN(3))
		name := fmt.Sprintf("o%d", rng.IntN(12))
		key := ns + "/" + name
		label := []string{"even", "odd"}[rng.IntN(2)]
		switch rng.IntN(4) {
		case 0, 1:
			if _, err := s.Create(ctx, key, storagetest.CM(ns, name, label)); err != nil && !storage.HasCode(err, storage.CodeAlreadyExists) {
				t.Fatal(err)
			}
		case 2:
			_, err := s.Update(ctx, key, false, storagetest.Write(func(cur runtime.Object) (runtime.Object, error) {
				o := cur.(*corev1.ConfigMap)
				o.Labels = map[string]string{"l": label}
				return o, nil
			}))
			if err != nil && !storage.HasCode(err, storage.CodeNotFound) {
				t.Fatal(err)
			}
		case 3:
			if _, err := s.Delete(ctx, key, nil); err != nil && !storage.HasCode(err, storage.CodeNotFound) {
				t.Fatal(err)
			}
		}
		// A paged list goes on across writes: its next page, from
		// memory or from etcd, is the one etcd gives at its revision.
		if pending != "" {
			want, err := s.List(ctx, "", storage.ListOptions{Limit: 5, Continue: pending})
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.List(ctx, "", storage.ListOptions{Limit: 5, Continue: pending})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(names(got.Items), names(want.Items)) || got.ResourceVersion != want.ResourceVersion ||
				got.Continue != want.Continue || !reflect.DeepEqual(got.RemainingItemCount, want.RemainingItemCount) {
				t.Fatalf("step %d next page:\ncache %v (rv %d, %q)\netcd  %v (rv %d, %q)", step, names(got.Items), got.ResourceVersion, got.Continue,
					names(want.Items), want.ResourceVersion, want.Continue)
			}
			pending = got.Continue
		}
		for _, lo := range []struct {
			prefix string
			opts   storage.ListOptions
		}{
			{"", storage.ListOptions{}},
			{ns + "/", storage.ListOptions{}},
			{"", storage.ListOptions{Predicate: evenPred}},
			{"", storage.ListOptions{Limit: 5}},
			// Selectors served from the label index: by namespace,
			// paged, and a label nothing carries.
			{ns + "/", storage.ListOptions{Predicate: evenPred}},
			{"", storage.ListOptions{Predicate: evenPred, Limit: 2}},
			{"", storage.ListOptions{Predicate: nonePred}},
		} {
			want, err := s.List(ctx, lo.prefix, lo.opts)
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.List(ctx, lo.prefix, lo.opts)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(names(got.Items), names(want.Items)) || got.ResourceVersion < want.ResourceVersion ||
				(got.Continue == "") != (want.Continue == "") {
				t.Fatalf("step %d list %q %+v:\ncache %v (rv %d)\netcd  %v (rv %d)", step, lo.prefix, lo.opts, names(got.Items), got.ResourceVersion, names(want.Items), want.ResourceVersion)
			}
			if lo.opts.Limit > 0 && pending == "" && step%3 == 0 {
				pending = got.Continue
			}
		}
		wantObj, werr := s.Get(ctx, key, storage.ReadOptions{})
		gotObj, gerr := c.Get(ctx, key, storage.ReadOptions{})
		if storage.CodeOf(werr) != storage.CodeOf(gerr) || (werr == nil && !reflect.DeepEqual(names([]runtime.Object{gotObj}), names([]runtime.Object{wantObj}))) {
			t.Fatalf("step %d get %s: cache %v %v, etcd %v %v", step, key, gotObj, gerr, wantObj, werr)
		}
	}
}

// TestWatchResumeEverywhere: a watcher resuming from every revision in the
// ring sees exactly the events after it, once each, in order.
func TestWatchResumeEverywhere(t *testing.T) {
	s, c := newPair(t, Options{})
	ctx := context.Background()
	// The cache's window starts where it first listed: let it list first.
	if _, err := c.List(ctx, "", storage.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	var revs []int64
	for i := 0; i < 20; i++ {
		out, err := s.Create(ctx, fmt.Sprintf("a/o%d", i), storagetest.CM("a", fmt.Sprintf("o%d", i), "even"))
		if err != nil {
			t.Fatal(err)
		}
		revs = append(revs, storagetest.RV(t, out))
	}
	// Wait until the cache has them all.
	if _, err := c.List(ctx, "", storage.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	for i, from := range revs {
		w, err := c.Watch(ctx, "a/", storage.WatchOptions{ResourceVersion: from})
		if err != nil {
			t.Fatal(err)
		}
		for j := i + 1; j < len(revs); j++ {
			select {
			case ev := <-w.ResultChan():
				got := ev.Object.(*corev1.ConfigMap)
				if ev.Type != watch.Added || got.ResourceVersion != strconv.FormatInt(revs[j], 10) {
					t.Fatalf("from %d: event %d is %s %s, want ADDED at %d", from, j, ev.Type, got.ResourceVersion, revs[j])
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("from %d: no event %d", from, j)
			}
		}
		select {
		case ev := <-w.ResultChan():
			t.Fatalf("from %d: an extra event %s", from, ev.Type)
		case <-time.After(50 * time.Millisecond):
		}
		w.Stop()
	}
}

// TestWatchTooOld: a resourceVersion before the ring is 410 Gone; one in
// it, the ring having turned over several times, gets the events after
// it in order.
func TestWatchTooOld(t *testing.T) {
	s, c := newPair(t, Options{Events: 5})
	ctx := context.Background()
	// The cache is filled before the writes, so that all of them pass
	// through its ring.
	if _, err := c.List(ctx, "", storage.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	var revs []int64
	for i := 0; i < 22; i++ {
		obj, err := s.Create(ctx, fmt.Sprintf("a/o%d", i), storagetest.CM("a", fmt.Sprintf("o%d", i), "x"))
		if err != nil {
			t.Fatal(err)
		}
		revs = append(revs, storagetest.RV(t, obj))
	}
	if _, err := c.List(ctx, "", storage.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	w, err := c.Watch(ctx, "", storage.WatchOptions{ResourceVersion: 2})
	if err != nil {
		t.Fatal(err)
	}
	ev := <-w.ResultChan()
	if st, ok := ev.Object.(*metav1.Status); ev.Type != watch.Error || !ok || st.Code != 410 {
		t.Fatalf("got %s %v", ev.Type, ev.Object)
	}
	w, err = c.Watch(ctx, "", storage.WatchOptions{ResourceVersion: revs[18]})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	for i := 19; i < 22; i++ {
		select {
		case ev := <-w.ResultChan():
			if cm, ok := ev.Object.(*corev1.ConfigMap); ev.Type != watch.Added || !ok || cm.Name != fmt.Sprintf("o%d", i) {
				t.Fatalf("event %d after o18: %s %v, want o%d added", i-18, ev.Type, ev.Object, i)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no event %d after o18", i-18)
		}
	}
}

// TestSlowWatcherEnds: a watcher that does not read is ended with a 410
// once its buffer is full; the others go on receiving everything.
func TestSlowWatcherEnds(t *testing.T) {
	s, c := newPair(t, Options{WatcherBuffer: 10})
	ctx := context.Background()
	slow, err := c.Watch(ctx, "", storage.WatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Stop()
	fast, err := c.Watch(ctx, "", storage.WatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer fast.Stop()
	got := make(chan int)
	go func() {
		n := 0
		for range fast.ResultChan() {
			n++
			if n == 50 {
				got <- n
			}
		}
	}()
	for i := 0; i < 50; i++ {
		if _, err := s.Create(ctx, fmt.Sprintf("a/o%d", i), storagetest.CM("a", fmt.Sprintf("o%d", i), "x")); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("the fast watcher did not get every event")
	}
	var last watch.Event
	n := 0
	for ev := range slow.ResultChan() {
		last = ev
		n++
	}
	if st, ok := last.Object.(*metav1.Status); last.Type != watch.Error || !ok || st.Code != 410 || n > 12 {
		t.Fatalf("slow watcher ended with %s %v after %d events", last.Type, last.Object, n)
	}
}

// TestUpdateFromStaleCache: an update that starts from the cached object
// still compares revisions in etcd: a write the cache has not seen yet is
// not overwritten, the update is retried on the current object.
func TestUpdateFromStaleCache(t *testing.T) {
	s, c := newPair(t, Options{})
	ctx := context.Background()
	if _, err := s.Create(ctx, "a/x", storagetest.CM("a", "x", "v1")); err != nil {
		t.Fatal(err)
	}
	// A consistent list waits for the cache to hold the object (a get
	// would read etcd if the cache lagged).
	if _, err := c.List(ctx, "", storage.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	freeze(c)
	if _, err := s.Update(ctx, "a/x", false, storagetest.Write(func(cur runtime.Object) (runtime.Object, error) {
		o := cur.(*corev1.ConfigMap)
		o.Data = map[string]string{"written": "behind the cache's back"}
		return o, nil
	})); err != nil {
		t.Fatal(err)
	}
	seen := 0
	out, err := c.Update(ctx, "a/x", false, storagetest.Write(func(cur runtime.Object) (runtime.Object, error) {
		seen++
		o := cur.(*corev1.ConfigMap)
		o.Labels = map[string]string{"l": "v2"}
		return o, nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	got := out.(*corev1.ConfigMap)
	if got.Data["written"] == "" || got.Labels["l"] != "v2" || seen != 2 {
		t.Fatalf("update from a stale cache: %+v after %d tries", got, seen)
	}
}

// TestUpdateFromStaleCacheConflict: a resourceVersion the cache has not
// seen yet is not a conflict: the update is decided again on the object
// read from etcd.
func TestUpdateFromStaleCacheConflict(t *testing.T) {
	s, c := newPair(t, Options{})
	ctx := context.Background()
	if _, err := s.Create(ctx, "a/x", storagetest.CM("a", "x", "v1")); err != nil {
		t.Fatal(err)
	}
	// A consistent list waits for the cache to hold the object (a get
	// would read etcd if the cache lagged).
	if _, err := c.List(ctx, "", storage.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	freeze(c)
	newer, err := s.Update(ctx, "a/x", false, storagetest.Write(func(cur runtime.Object) (runtime.Object, error) {
		o := cur.(*corev1.ConfigMap)
		o.Labels = map[string]string{"l": "v2"}
		return o, nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := newer.(*corev1.ConfigMap).ResourceVersion
	out, err := c.Update(ctx, "a/x", false, storagetest.Write(func(cur runtime.Object) (runtime.Object, error) {
		o := cur.(*corev1.ConfigMap)
		if o.ResourceVersion != want {
			return nil, fmt.Errorf("conflict: stored %s, client has %s", o.ResourceVersion, want)
		}
		o.Labels = map[string]string{"l": "v3"}
		return o, nil
	}))
	if err != nil || out.(*corev1.ConfigMap).Labels["l"] != "v3" {
		t.Fatalf("update with a resourceVersion newer than the cache: %v %v", out, err)
	}
}

// freeze holds the cache's view back: its watch stops, so it keeps the
// objects it has, and it still believes it is current.
func freeze(c *Cacher) {
	c.cancel()
	<-c.done
	c.mu.Lock()
	c.ready = true
	c.mu.Unlock()
}

// TestSharedReads: a reader that shares gets the cache's own object, the
// same one from a get, a list and a watch event of one revision, so that
// its encodings are made once for all of them; a reader that does not
// share gets a copy of its own, and changing it changes nothing shared.
func TestSharedReads(t *testing.T) {
	_, c := newPair(t, Options{})
	ctx := context.Background()
	w, err := c.Watch(ctx, "a/", storage.WatchOptions{Shared: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	created, err := c.Create(ctx, "a/x", storagetest.CM("a", "x", "v1"))
	if err != nil {
		t.Fatal(err)
	}
	ev := <-w.ResultChan()
	fromWatch, ok := ev.Object.(*storage.Cached)
	if !ok || ev.Type != watch.Added {
		t.Fatalf("shared watch event: %s %T", ev.Type, ev.Object)
	}
	got, err := c.Get(ctx, "a/x", storage.ReadOptions{Shared: true})
	if err != nil {
		t.Fatal(err)
	}
	list, err := c.List(ctx, "a/", storage.ListOptions{ReadOptions: storage.ReadOptions{Shared: true}})
	if err != nil {
		t.Fatal(err)
	}
	if got != runtime.Object(fromWatch) || len(list.Items) != 1 || list.Items[0] != got {
		t.Fatalf("get %p, list %v, watch %p: not one shared object", got, list.Items, fromWatch)
	}
	if m := fromWatch.Object().(*corev1.ConfigMap); m.ResourceVersion != created.(*corev1.ConfigMap).ResourceVersion ||
		fromWatch.GetObjectKind().GroupVersionKind().Kind != "ConfigMap" {
		t.Fatalf("shared object: %+v", m)
	}

	own, err := c.Get(ctx, "a/x", storage.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	o, ok := own.(*corev1.ConfigMap)
	if !ok {
		t.Fatalf("unshared get: %T", own)
	}
	o.Labels["l"] = "changed"
	if fromWatch.Object().(*corev1.ConfigMap).Labels["l"] != "v1" {
		t.Fatal("changing an unshared copy changed the shared object")
	}
}

// TestPagesFromMemory: while the resource does not change, every page of a
// paged list comes from memory (etcd, compacted past the list's revision,
// could no longer serve it); after a change, the next page comes from
// etcd at the list's revision, here compacted away: 410 Gone, as
// kube-apiserver answers an expired continue token.
func TestPagesFromMemory(t *testing.T) {
	e, s, c := newPairOn(t, Options{})
	ctx := context.Background()
	for i := 0; i < 12; i++ {
		if _, err := s.Create(ctx, fmt.Sprintf("a/o%02d", i), storagetest.CM("a", fmt.Sprintf("o%02d", i), "x")); err != nil {
			t.Fatal(err)
		}
	}
	first, err := c.List(ctx, "", storage.ListOptions{Limit: 5})
	if err != nil || len(first.Items) != 5 || first.Continue == "" {
		t.Fatalf("first page: %v %v", first, err)
	}
	// Another resource moves etcd on; compacting there drops the list's
	// revision from etcd.
	other, err := e.Client.Put(ctx, "/registry/other/x", "y")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Client.Compact(ctx, other.Header.Revision); err != nil {
		t.Fatal(err)
	}
	if _, err := s.List(ctx, "", storage.ListOptions{Limit: 5, Continue: first.Continue}); !storage.HasCode(err, storage.CodeGone) {
		t.Fatalf("etcd still serves the compacted revision: %v", err)
	}
	second, err := c.List(ctx, "", storage.ListOptions{Limit: 5, Continue: first.Continue})
	if err != nil {
		t.Fatalf("second page, not from memory: %v", err)
	}
	if got := names(second.Items); len(got) != 5 || got[0] != "a/o05@"+second.Items[0].(*corev1.ConfigMap).ResourceVersion+"=x" ||
		second.ResourceVersion != first.ResourceVersion || second.Continue == "" || *second.RemainingItemCount != 2 {
		t.Fatalf("second page: %v rv %d (first %d) remaining %v", got, second.ResourceVersion, first.ResourceVersion, second.RemainingItemCount)
	}
	// A change to the resource: its state at the list's revision is no
	// longer in memory.
	if _, err := c.Create(ctx, "a/o99", storagetest.CM("a", "o99", "x")); err != nil {
		t.Fatal(err)
	}
	// Until the cache has taken the change in.
	waitFromCache(t, c, "a/o99", time.Now().Add(10*time.Second), "the cache did not take in the create of a/o99")
	if _, err := c.List(ctx, "", storage.ListOptions{Limit: 5, Continue: second.Continue}); !storage.HasCode(err, storage.CodeGone) {
		t.Fatalf("third page after a change: %v, want 410 from etcd", err)
	}
}

// TestPagesFromMemoryEndAtCompaction: once the cache knows that etcd
// compacted a list's revision, a later page is no longer served from
// memory, even when nothing changed: it is etcd's 410 with kube's
// inconsistent continue token, which lists on from the same key.
func TestPagesFromMemoryEndAtCompaction(t *testing.T) {
	var compacted atomic.Int64
	e, s, c := newPairOn(t, Options{Compacted: compacted.Load})
	ctx := context.Background()
	for i := 0; i < 4; i++ {
		if _, err := s.Create(ctx, fmt.Sprintf("a/o%d", i), storagetest.CM("a", fmt.Sprintf("o%d", i), "x")); err != nil {
			t.Fatal(err)
		}
	}
	first, err := c.List(ctx, "", storage.ListOptions{Limit: 2})
	if err != nil || first.Continue == "" {
		t.Fatalf("first page: %v %v", first, err)
	}
	other, err := e.Client.Put(ctx, "/registry/other/x", "y")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Client.Compact(ctx, other.Header.Revision); err != nil {
		t.Fatal(err)
	}
	compacted.Store(other.Header.Revision)
	_, err = c.List(ctx, "", storage.ListOptions{Limit: 2, Continue: first.Continue})
	var se *storage.Error
	if !errors.As(err, &se) || se.Code != storage.CodeGone || se.Msg != etcd.ContinueTooOld || se.Continue == "" {
		t.Fatalf("a page of a compacted revision: %v, want 410 with a token", err)
	}
	rest, err := c.List(ctx, "", storage.ListOptions{Limit: 2, Continue: se.Continue})
	if err != nil || len(rest.Items) != 2 || rest.Items[0].(*corev1.ConfigMap).Name != "o2" || rest.ResourceVersion < other.Header.Revision {
		t.Fatalf("the inconsistent continue: %v %v", rest, err)
	}
}

// TestDeletedEventCarriesObject: a DELETED event carries the whole
// object as it was, at the deletion's revision, to copying and sharing
// watchers alike.
func TestDeletedEventCarriesObject(t *testing.T) {
	_, c := newPair(t, Options{})
	ctx := context.Background()
	created, err := c.Create(ctx, "a/x", storagetest.CM("a", "x", "v1"))
	if err != nil {
		t.Fatal(err)
	}
	var watchers []watch.Interface
	for _, shared := range []bool{false, true} {
		w, err := c.Watch(ctx, "a/", storage.WatchOptions{ResourceVersion: storagetest.RV(t, created), Shared: shared})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		watchers = append(watchers, w)
	}
	if _, err := c.Delete(ctx, "a/x", nil); err != nil {
		t.Fatal(err)
	}
	for _, w := range watchers {
		checkDeleted(t, w, storagetest.RV(t, created))
	}
}

func checkDeleted(t *testing.T, w watch.Interface, createdRV int64) {
	t.Helper()
	ev := storagetest.Next(t, w)
	m, ok := storage.Unwrap(ev.Object).(*corev1.ConfigMap)
	if ev.Type != watch.Deleted || !ok || m.Name != "x" || m.Labels["l"] != "v1" || storagetest.RV(t, m) <= createdRV {
		t.Fatalf("deleted event: %s %#v", ev.Type, ev.Object)
	}
}

// TestGetReadsEtcdWhenTheCacheLags: a consistent get does not wait for a
// cache that has not reached etcd's revision (here: frozen); it reads
// etcd, where a list would wait for the cache to catch up.
func TestGetReadsEtcdWhenTheCacheLags(t *testing.T) {
	s, c := newPair(t, Options{CatchUp: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.List(ctx, "", storage.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	freeze(c)
	if _, err := s.Create(ctx, "a/late", storagetest.CM("a", "late", "v1")); err != nil {
		t.Fatal(err)
	}
	got, err := c.Get(ctx, "a/late", storage.ReadOptions{Shared: true})
	if err != nil {
		t.Fatalf("get while the cache lags: %v", err)
	}
	if _, shared := got.(*storage.Cached); shared || got.(*corev1.ConfigMap).Name != "late" {
		t.Errorf("get while the cache lags: %T %v", got, got)
	}
}

// progressCounter is an etcd store that counts the progress requests
// made through it.
type progressCounter struct {
	*etcd.Store
	asked atomic.Int32
}

func (p *progressCounter) RequestProgress(ctx context.Context) error {
	p.asked.Add(1)
	return p.Store.RequestProgress(ctx)
}

// TestGetsCatchUpAfterOtherResourcesWrite: when etcd's revision moved
// because of another resource, a consistent get reads etcd, and asks for
// progress, so that the gets after it are served from the cache again
// (without it, every get would read etcd until this resource changed or
// etcd's periodic progress notification came).
func TestGetsCatchUpAfterOtherResourcesWrite(t *testing.T) {
	e, s, _ := newPairOn(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	backend := &progressCounter{Store: s}
	c := New(backend, Options{New: func() runtime.Object { return &corev1.ConfigMap{} }})
	t.Cleanup(c.Stop)
	if _, err := s.Create(ctx, "a/x", storagetest.CM("a", "x", "v1")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	waitFromCache(t, c, "a/x", deadline, "the cache never served a/x")
	// Another resource's write: the cache's watch sees nothing of it.
	if _, err := e.Client.Put(ctx, "/registry/secrets/a/other", "x"); err != nil {
		t.Fatal(err)
	}
	c.progressAsked.Store(0) // the asks before do not hold this one back
	asked := backend.asked.Load()
	// The get reads etcd (unless etcd's periodic progress notification
	// came in the meantime) and asks for progress.
	if !fromCache(t, c, "a/x") && backend.asked.Load() == asked {
		t.Error("a get that read etcd because the cache was behind did not ask for progress")
	}
	waitFromCache(t, c, "a/x", deadline, "after another resource's write, gets never came back to the cache")
}

// fromCache is whether a shared get of key is answered by the cache: one
// that finds the cache behind for more than a moment reads etcd, and its
// answer is then not the cache's shared object.
func fromCache(t *testing.T, c *Cacher, key string) bool {
	t.Helper()
	got, err := c.Get(context.Background(), key, storage.ReadOptions{Shared: true})
	if err != nil {
		t.Fatal(err)
	}
	_, ok := got.(*storage.Cached)
	return ok
}

// waitFromCache waits until the cache answers gets of key, failing with
// msg at deadline.
func waitFromCache(t *testing.T, c *Cacher, key string, deadline time.Time, msg string) {
	t.Helper()
	for !fromCache(t, c, key) {
		if time.Now().After(deadline) {
			t.Fatal(msg)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// pausingBackend holds the cache's watch after any event of the object
// named x, until the test lets it go on.
type pausingBackend struct {
	*etcd.Store
	pause chan struct{}
}

type pausedWatch struct {
	w   watch.Interface
	out chan watch.Event
}

func (p pausedWatch) Stop()                          { p.w.Stop() }
func (p pausedWatch) ResultChan() <-chan watch.Event { return p.out }

func (b pausingBackend) Watch(ctx context.Context, key string, opts storage.WatchOptions) (watch.Interface, error) {
	w, err := b.Store.Watch(ctx, key, opts)
	if err != nil {
		return nil, err
	}
	out := make(chan watch.Event)
	go func() {
		defer close(out)
		for ev := range w.ResultChan() {
			select {
			case out <- ev:
			case <-ctx.Done():
				return
			}
			if cm, ok := ev.Object.(*corev1.ConfigMap); ok && cm.Name == "x" {
				select {
				case <-b.pause:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return pausedWatch{w, out}, nil
}

// TestListHoldsWholeTransactions: a transaction that writes two objects
// of the resource is in a consistent list whole or not at all. A list at
// its revision that held one of them would be followed, in an informer,
// by a watch from that revision, which never brings the other (the RBAC
// bootstrap writes its roles so, and a role was missing for good).
func TestListHoldsWholeTransactions(t *testing.T) {
	_, s, _ := newPairOn(t, Options{})
	b := pausingBackend{s, make(chan struct{})}
	c := New(b, Options{New: func() runtime.Object { return &corev1.ConfigMap{} }})
	defer c.Stop()
	defer close(b.pause)
	ctx := context.Background()
	if _, err := c.List(ctx, "", storage.ListOptions{}); err != nil { // the cache is filled
		t.Fatal(err)
	}
	second := storagetest.CM("a", "y", "l")
	second.ResourceVersion = "0"
	charge, err := s.Charge("a/y", second)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, "a/x", storagetest.CM("a", "x", "l"), charge); err != nil {
		t.Fatal(err)
	}
	l, err := c.List(ctx, "", storage.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(l.Items); len(got) != 2 {
		t.Fatalf("a consistent list after the transaction holds %v", got)
	}
}

// TestWatchNext: a watch taken with Next, in the consumer's goroutine,
// gives what ResultChan gives: the initial events, then the changes, and
// when it falls behind the 410 that ends it, then nothing. TryNext takes
// what waits, and has nothing at once when only changes the watch leaves
// out wait; a ctx that ends returns at once and leaves the watch going.
func TestWatchNext(t *testing.T) {
	s, c := newPair(t, Options{WatcherBuffer: 5})
	ctx := context.Background()
	for i := range 3 {
		if _, err := s.Create(ctx, fmt.Sprintf("a/o%d", i), storagetest.CM("a", fmt.Sprintf("o%d", i), "x")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.List(ctx, "", storage.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	w, err := c.Watch(ctx, "a/", storage.WatchOptions{SendInitialEvents: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	p, ok := w.(storage.Puller)
	if !ok {
		t.Fatalf("the cache's watch %T is no storage.Puller", w)
	}
	next := func(want watch.EventType, name string) {
		t.Helper()
		tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		ev, ok := p.Next(tctx)
		if !ok {
			t.Fatalf("no event, want %s %s", want, name)
		}
		if got := ev.Object.(*corev1.ConfigMap); ev.Type != want || got.Name != name {
			t.Fatalf("got %s %s, want %s %s", ev.Type, got.Name, want, name)
		}
	}
	tryNext := func(want string) {
		t.Helper()
		ev, ok := p.TryNext()
		switch {
		case want == "" && ok:
			t.Fatalf("TryNext took %s %s, want none", ev.Type, ev.Object.(*corev1.ConfigMap).Name)
		case want != "" && (!ok || ev.Object.(*corev1.ConfigMap).Name != want):
			t.Fatalf("TryNext took %v (%v), want ADDED %s", ev.Object, ok, want)
		}
	}
	tryNext("o0")
	for i := 1; i < 3; i++ {
		next(watch.Added, fmt.Sprintf("o%d", i))
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if ev, ok := p.Next(short); ok {
		t.Fatalf("an event %s with nothing written", ev.Type)
	}
	if _, err := s.Create(ctx, "a/o3", storagetest.CM("a", "o3", "x")); err != nil {
		t.Fatal(err)
	}
	next(watch.Added, "o3")
	tryNext("")

	// Two writes wait until they are taken.
	for i := 4; i < 6; i++ {
		if _, err := s.Create(ctx, fmt.Sprintf("a/o%d", i), storagetest.CM("a", fmt.Sprintf("o%d", i), "x")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.List(ctx, "", storage.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	tryNext("o4")
	next(watch.Added, "o5")

	// A change the watch leaves out (another prefix) waits in its buffer,
	// yet TryNext has nothing: a consumer must not wait in Next with
	// what it wrote unflushed.
	if _, err := s.Create(ctx, "b/x", storagetest.CM("b", "x", "x")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.List(ctx, "", storage.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	tryNext("")

	// Behind by more than its buffer: the watch ends with a 410.
	for i := 6; i < 20; i++ {
		if _, err := s.Create(ctx, fmt.Sprintf("a/o%d", i), storagetest.CM("a", fmt.Sprintf("o%d", i), "x")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.List(ctx, "", storage.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	ev, ok := p.Next(ctx)
	if st, isStatus := ev.Object.(*metav1.Status); !ok || ev.Type != watch.Error || !isStatus || st.Code != 410 {
		t.Fatalf("got %s %v (%v), want the 410 that ends a watch behind its buffer", ev.Type, ev.Object, ok)
	}
	if ev, ok := p.Next(ctx); ok {
		t.Fatalf("an event %s after the watch ended", ev.Type)
	}
}

// TestWatchEndsWithItsContext: a watch whose context ends leaves the
// cache even when its consumer takes no events (no goroutine of the
// watcher's watches the context for it).
func TestWatchEndsWithItsContext(t *testing.T) {
	_, c := newPair(t, Options{})
	if _, err := c.List(context.Background(), "", storage.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w, err := c.Watch(ctx, "a/", storage.WatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	watching := func() bool {
		c.mu.RLock()
		defer c.mu.RUnlock()
		_, ok := c.watchers[w.(*cacheWatcher)]
		return ok
	}
	if !watching() {
		t.Fatal("the watch is not among the cache's watchers")
	}
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for watching() {
		if time.Now().After(deadline) {
			t.Fatal("the watch is still among the cache's watchers 5 s after its context ended")
		}
		time.Sleep(time.Millisecond)
	}
	if ev, ok := w.(storage.Puller).Next(context.Background()); ok {
		t.Fatalf("an event %s after the watch ended", ev.Type)
	}
}

// TestWatchProgress: a watch asked for progress sends a BOOKMARK at a
// revision no older than the one asked for, after every event before it,
// even when the revision moved because of another resource (the cache
// asks etcd for progress) and even when the watch did not ask for
// periodic BOOKMARKs.
func TestWatchProgress(t *testing.T) {
	e, s, c := newPairOn(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	x, err := s.Create(ctx, "a/x", storagetest.CM("a", "x", "v1"))
	if err != nil {
		t.Fatal(err)
	}
	w, err := c.Watch(ctx, "a/", storage.WatchOptions{ResourceVersion: storagetest.RV(t, x)})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	p, ok := w.(storage.ProgressReporter)
	if !ok {
		t.Fatalf("a watch cache's watch (%T) cannot report progress", w)
	}
	bookmarkAt := func(least int64) {
		t.Helper()
		ev := storagetest.Next(t, w)
		if ev.Type != watch.Bookmark {
			t.Fatalf("%s %v, want a BOOKMARK", ev.Type, ev.Object)
		}
		if rv := storagetest.RV(t, ev.Object); rv < least {
			t.Fatalf("a BOOKMARK at %d, asked for %d", rv, least)
		}
	}
	// Another resource's write: the cache's watch sees nothing of it.
	resp, err := e.Client.Put(ctx, "/registry/secrets/a/other", "x")
	if err != nil {
		t.Fatal(err)
	}
	if !p.Progress(ctx, resp.Header.Revision) {
		t.Fatal("Progress is false")
	}
	bookmarkAt(resp.Header.Revision)
	// A change, then at once progress up to it: the change comes first.
	y, err := s.Create(ctx, "a/y", storagetest.CM("a", "y", "v1"))
	if err != nil {
		t.Fatal(err)
	}
	if !p.Progress(ctx, storagetest.RV(t, y)) {
		t.Fatal("Progress is false")
	}
	if ev := storagetest.Next(t, w); ev.Type != watch.Added || storage.Unwrap(ev.Object).(*corev1.ConfigMap).Name != "y" {
		t.Fatalf("%s %v, want y ADDED", ev.Type, ev.Object)
	}
	bookmarkAt(storagetest.RV(t, y))
}
