package etcd

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

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
	"kapi/internal/storage/storagetest"
)

// newTestStore runs a real embedded etcd for the test and returns a Store
// of ConfigMaps on it.
func newTestStore(t *testing.T) *Store {
	t.Helper()
	e, err := embedded.Start(context.Background(), t.TempDir()+"/etcd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	gvk := corev1.SchemeGroupVersion.WithKind("ConfigMap")
	return New(e.Client, "/registry/configmaps/", Codec{
		Serializer: protobuf.NewSerializer(scheme.Scheme, scheme.Scheme), GVK: gvk,
		New: func() runtime.Object { return &corev1.ConfigMap{} },
	})
}

func TestCreateGetUpdateDelete(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	out, err := s.Create(ctx, "a/one", storagetest.CM("a", "one", "x"))
	if err != nil {
		t.Fatal(err)
	}
	first := storagetest.RV(t, out)
	if _, err := s.Create(ctx, "a/one", storagetest.CM("a", "one", "x")); !storage.HasCode(err, storage.CodeAlreadyExists) {
		t.Fatalf("second create: %v", err)
	}
	// The key layout is kube-apiserver's, and the resourceVersion is not
	// stored in the value.
	resp, err := s.client.Get(ctx, "/registry/configmaps/a/one")
	if err != nil || len(resp.Kvs) != 1 || resp.Kvs[0].ModRevision != first {
		t.Fatalf("raw key: %v %v", err, resp)
	}
	got, err := s.Get(ctx, "a/one", storage.ReadOptions{})
	if err != nil || storagetest.RV(t, got) != first {
		t.Fatalf("get: %v %v", err, got)
	}
	// Unchanged update: no write.
	same, err := s.Update(ctx, "a/one", false, storagetest.Write(func(cur runtime.Object) (runtime.Object, error) { return cur, nil }))
	if err != nil || storagetest.RV(t, same) != first {
		t.Fatalf("no-op update wrote: %v", err)
	}
	// Concurrent updates: none lost.
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, err := s.Update(ctx, "a/one", false, storagetest.Write(func(cur runtime.Object) (runtime.Object, error) {
				c := cur.(*corev1.ConfigMap)
				if c.Data == nil {
					c.Data = map[string]string{}
				}
				c.Data[fmt.Sprint(i)] = "x"
				return c, nil
			}))
			if err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	got, _ = s.Get(ctx, "a/one", storage.ReadOptions{})
	if n := len(got.(*corev1.ConfigMap).Data); n != 10 {
		t.Fatalf("concurrent updates: %d of 10 kept", n)
	}
	if _, err := s.Update(ctx, "a/none", false, storagetest.Write(func(cur runtime.Object) (runtime.Object, error) { return cur, nil })); !storage.HasCode(err, storage.CodeNotFound) {
		t.Fatalf("update of a missing key: %v", err)
	}
	if _, err := s.Delete(ctx, "a/one", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "a/one", storage.ReadOptions{}); !storage.HasCode(err, storage.CodeNotFound) {
		t.Fatalf("get after delete: %v", err)
	}
	// Read the past exactly.
	old, err := s.Get(ctx, "a/one", storage.ReadOptions{ResourceVersion: first, Exact: true})
	if err != nil || storagetest.RV(t, old) != first {
		t.Fatalf("exact read of the past: %v", err)
	}
}

func TestListPagingAndPredicate(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	for i := 0; i < 10; i++ {
		ns := "a"
		if i >= 6 {
			ns = "b"
		}
		label := "odd"
		if i%2 == 0 {
			label = "even"
		}
		if _, err := s.Create(ctx, fmt.Sprintf("%s/o%d", ns, i), storagetest.CM(ns, fmt.Sprintf("o%d", i), label)); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.List(ctx, "", storage.ListOptions{})
	if err != nil || len(all.Items) != 10 {
		t.Fatalf("list: %v %d", err, len(all.Items))
	}
	// A whole list in round trips of three keys, each read ahead, is the
	// same list.
	s.fullBatch = 3
	for _, prefix := range []string{"", "a/"} {
		paged, err := s.List(ctx, prefix, storage.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want, _ := s.List(ctx, prefix, storage.ListOptions{Limit: 100})
		keys := func(items []runtime.Object) (out []string) {
			for _, it := range items {
				out = append(out, it.(*corev1.ConfigMap).Namespace+"/"+it.(*corev1.ConfigMap).Name)
			}
			return out
		}
		got, wantNames := keys(paged.Items), keys(want.Items)
		if fmt.Sprint(got) != fmt.Sprint(wantNames) || paged.ResourceVersion != want.ResourceVersion || len(got) == 0 {
			t.Errorf("%q in round trips of 3: %v at %d; in one: %v at %d", prefix, got, paged.ResourceVersion, wantNames, want.ResourceVersion)
		}
	}
	s.fullBatch = 2000
	inA, err := s.List(ctx, "a/", storage.ListOptions{})
	if err != nil || len(inA.Items) != 6 {
		t.Fatalf("namespace list: %v %d", err, len(inA.Items))
	}
	even := storage.Predicate{Label: labels.SelectorFromSet(labels.Set{"l": "even"}), Field: fields.Everything(),
		Attrs: func(o runtime.Object) (labels.Set, fields.Set, error) {
			return o.(*corev1.ConfigMap).Labels, nil, nil
		}}
	s.pagingBatch = 3 // several round trips per page
	var got []string
	opts := storage.ListOptions{Limit: 2, Predicate: even}
	for {
		page, err := s.List(ctx, "", opts)
		if err != nil {
			t.Fatal(err)
		}
		if page.ResourceVersion != all.ResourceVersion {
			t.Fatalf("page at %d, list at %d", page.ResourceVersion, all.ResourceVersion)
		}
		for _, it := range page.Items {
			got = append(got, it.(*corev1.ConfigMap).Name)
		}
		if page.Continue == "" {
			break
		}
		opts.Continue = page.Continue
	}
	if fmt.Sprint(got) != "[o0 o2 o4 o6 o8]" {
		t.Fatalf("filtered pages %v", got)
	}
}

func TestWatchTransitions(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	start, err := s.Create(ctx, "a/x", storagetest.CM("a", "x", "no"))
	if err != nil {
		t.Fatal(err)
	}
	pred := storage.Predicate{Label: labels.SelectorFromSet(labels.Set{"l": "yes"}),
		Attrs: func(o runtime.Object) (labels.Set, fields.Set, error) { return o.(*corev1.ConfigMap).Labels, nil, nil }}
	w, err := s.Watch(ctx, "a/", storage.WatchOptions{ResourceVersion: storagetest.RV(t, start), Predicate: pred})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	set := func(label string) {
		if _, err := s.Update(ctx, "a/x", false, storagetest.Write(func(cur runtime.Object) (runtime.Object, error) {
			c := cur.(*corev1.ConfigMap)
			c.Labels = map[string]string{"l": label}
			return c, nil
		})); err != nil {
			t.Fatal(err)
		}
	}
	set("yes")
	set("yes-still") // leaves the selection
	set("yes")
	if _, err := s.Delete(ctx, "a/x", nil); err != nil {
		t.Fatal(err)
	}
	for _, want := range []watch.EventType{watch.Added, watch.Deleted, watch.Added, watch.Deleted} {
		if ev := storagetest.Next(t, w); ev.Type != want {
			t.Fatalf("got %s, want %s", ev.Type, want)
		}
	}
}

// TestUpdateDecisions: an update carries out its decision, and a decision
// that writes nothing, taken on a cached copy, is believed after one read
// shows the copy current: the decision is not taken twice. Only a stale
// copy makes the update decide again, on the current object.
func TestUpdateDecisions(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	hint, err := s.Create(ctx, "a/x", storagetest.CM("a", "x", "one"))
	if err != nil {
		t.Fatal(err)
	}
	refused := fmt.Errorf("refused")
	calls := 0
	decide := func(d storage.Decision, err error) storage.UpdateFunc {
		return func(cur runtime.Object) (storage.Decision, error) {
			calls++
			return d, err
		}
	}
	dry := storagetest.CM("a", "x", "dry")
	for _, c := range []struct {
		name string
		f    storage.UpdateFunc
		err  error
	}{
		{"no write", decide(storage.Decision{Action: storage.NoWrite, Object: dry}, nil), nil},
		{"refused", decide(storage.Decision{}, refused), refused},
		{"unchanged", storagetest.Write(func(cur runtime.Object) (runtime.Object, error) { calls++; return cur, nil }), nil},
	} {
		calls = 0
		out, err := s.UpdateFrom(ctx, "a/x", false, c.f, hint)
		if err != c.err || calls != 1 {
			t.Fatalf("%s: err %v (want %v), decided %d times (want 1)", c.name, err, c.err, calls)
		}
		if c.name == "no write" && out != dry {
			t.Fatalf("no write answered %v, not the decision's object", out)
		}
	}
	// Written behind the hint's back: the refusal is taken again, on the
	// current object.
	if _, err := s.Update(ctx, "a/x", false, storagetest.Write(func(cur runtime.Object) (runtime.Object, error) {
		cur.(*corev1.ConfigMap).Labels["l"] = "two"
		return cur, nil
	})); err != nil {
		t.Fatal(err)
	}
	var seen []string
	_, err = s.UpdateFrom(ctx, "a/x", false, func(cur runtime.Object) (storage.Decision, error) {
		seen = append(seen, cur.(*corev1.ConfigMap).Labels["l"])
		return storage.Decision{}, refused
	}, hint)
	if err != refused || fmt.Sprint(seen) != "[one two]" {
		t.Fatalf("stale hint: err %v, decided on %v, want [one two]", err, seen)
	}
	// Remove from a stale hint: the transaction fails, the update decides
	// again on the current object and removes it.
	seen = nil
	out, err := s.UpdateFrom(ctx, "a/x", false, func(cur runtime.Object) (storage.Decision, error) {
		seen = append(seen, cur.(*corev1.ConfigMap).Labels["l"])
		return storage.Decision{Action: storage.Remove}, nil
	}, hint)
	if err != nil || fmt.Sprint(seen) != "[one two]" || out.(*corev1.ConfigMap).Labels["l"] != "two" {
		t.Fatalf("remove: err %v, decided on %v, answered %v", err, seen, out)
	}
	if _, err := s.Get(ctx, "a/x", storage.ReadOptions{}); !storage.HasCode(err, storage.CodeNotFound) {
		t.Fatalf("get after remove: %v", err)
	}
	if _, err := s.Update(ctx, "a/x", false, decide(storage.Decision{Action: storage.Remove}, nil)); !storage.HasCode(err, storage.CodeNotFound) {
		t.Fatalf("remove of a missing object: %v", err)
	}
}

// TestCharges: what a write charges to another object is written in the
// same transaction, only if that object did not change since it was
// read; otherwise nothing is written and the create says so
// (CodeStaleCharge), or the update decides again.
func TestCharges(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	quota, err := s.Create(ctx, "a/quota", storagetest.CM("a", "quota", "0"))
	if err != nil {
		t.Fatal(err)
	}
	charge := func(used string, at runtime.Object) storage.Charge {
		q := at.DeepCopyObject().(*corev1.ConfigMap)
		q.Labels["l"] = used
		c, err := s.Charge("a/quota", q)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	used := func() string {
		q, err := s.Get(ctx, "a/quota", storage.ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		quota = q
		return q.(*corev1.ConfigMap).Labels["l"]
	}
	if _, err := s.Create(ctx, "a/one", storagetest.CM("a", "one", "x"), charge("1", quota)); err != nil || used() != "1" {
		t.Fatalf("create with a charge: %v, used %s", err, used())
	}
	stale := charge("5", quota)
	stale.Rev = 1 // a revision the quota is not at
	if _, err := s.Create(ctx, "a/two", storagetest.CM("a", "two", "x"), stale); !storage.HasCode(err, storage.CodeStaleCharge) {
		t.Fatalf("create with a stale charge: %v", err)
	}
	if _, err := s.Get(ctx, "a/two", storage.ReadOptions{}); !storage.HasCode(err, storage.CodeNotFound) || used() != "1" {
		t.Fatalf("a stale charge wrote: %v, used %s", err, used())
	}
	if _, err := s.Create(ctx, "a/one", storagetest.CM("a", "one", "x"), charge("2", quota)); !storage.HasCode(err, storage.CodeAlreadyExists) || used() != "1" {
		t.Fatalf("create of an existing object with a charge: %v, used %s", err, used())
	}
	// An update whose first charge is stale decides again.
	tries := 0
	if _, err := s.Update(ctx, "a/one", false, func(cur runtime.Object) (storage.Decision, error) {
		tries++
		o := cur.(*corev1.ConfigMap)
		o.Labels["l"] = "y"
		c := charge("3", quota)
		if tries == 1 {
			c.Rev = 1
		}
		return storage.Decision{Action: storage.Write, Object: o, Charges: []storage.Charge{c}}, nil
	}); err != nil || tries != 2 || used() != "3" {
		t.Fatalf("update with a stale, then a current charge: %v, %d tries, used %s", err, tries, used())
	}
	if _, err := s.Update(ctx, "a/one", false, func(cur runtime.Object) (storage.Decision, error) {
		return storage.Decision{Action: storage.Remove, Charges: []storage.Charge{charge("0", quota)}}, nil
	}); err != nil || used() != "0" {
		t.Fatalf("remove with a charge: %v, used %s", err, used())
	}
}

// TestWatchWholeRevisions: a transaction that writes two objects of the
// resource is one REVISION event for a watch that asks for whole
// revisions, two events for the others; single changes are plain events
// either way.
func TestWatchWholeRevisions(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	whole, err := s.Watch(ctx, "", storage.WatchOptions{WholeRevisions: true})
	if err != nil {
		t.Fatal(err)
	}
	defer whole.Stop()
	plain, err := s.Watch(ctx, "", storage.WatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Stop()
	second := storagetest.CM("a", "y", "l")
	second.ResourceVersion = "0" // created by the charge
	charge, err := s.Charge("a/y", second)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, "a/x", storagetest.CM("a", "x", "l"), charge); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, "a/z", storagetest.CM("a", "z", "l")); err != nil {
		t.Fatal(err)
	}
	ev := storagetest.Next(t, whole)
	r, ok := ev.Object.(*storage.RevisionEvents)
	if ev.Type != storage.Revision || !ok || len(r.Events) != 2 {
		t.Fatalf("the transaction came as %s %T", ev.Type, ev.Object)
	}
	rv := r.Events[0].Object.(*corev1.ConfigMap).ResourceVersion
	for i, name := range []string{"x", "y"} {
		cm := r.Events[i].Object.(*corev1.ConfigMap)
		if r.Events[i].Type != watch.Added || cm.Name != name || cm.ResourceVersion != rv {
			t.Errorf("event %d: %s %s@%s", i, r.Events[i].Type, cm.Name, cm.ResourceVersion)
		}
	}
	if ev := storagetest.Next(t, whole); ev.Type != watch.Added || ev.Object.(*corev1.ConfigMap).Name != "z" {
		t.Errorf("a lone create came as %s %T", ev.Type, ev.Object)
	}
	for _, name := range []string{"x", "y", "z"} {
		if ev := storagetest.Next(t, plain); ev.Type != watch.Added || ev.Object.(*corev1.ConfigMap).Name != name {
			t.Errorf("without whole revisions: %s %T, want ADDED %s", ev.Type, ev.Object, name)
		}
	}
}

// TestWatchDeletionWithoutPrevKV: a deletion etcd sends after the
// revision before it was compacted comes without its previous value;
// the watch fails (kube-apiserver's message), rather than leave the
// deletion out, which made a watch cache keep a deleted object for good
// (the space-quota fault test, which compacts to the newest revision
// under load, found it).
func TestWatchDeletionWithoutPrevKV(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	created, err := s.Create(ctx, "a/x", storagetest.CM("a", "x", "l"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Delete(ctx, "a/x", nil); err != nil {
		t.Fatal(err)
	}
	resp, err := s.client.Get(ctx, "/registry/configmaps/a/x")
	if err != nil {
		t.Fatal(err)
	}
	deleted := resp.Header.Revision
	if deleted != storagetest.RV(t, created)+1 {
		t.Fatalf("the deletion is at %d, the creation at %d", deleted, storagetest.RV(t, created))
	}
	// Compacted up to the deletion: a watch from just before it may
	// start, but the value before the deletion is gone.
	if _, err := s.client.Compact(ctx, deleted); err != nil {
		t.Fatal(err)
	}
	w, err := s.Watch(ctx, "", storage.WatchOptions{ResourceVersion: deleted - 1})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	ev := storagetest.Next(t, w)
	st, ok := ev.Object.(*metav1.Status)
	if ev.Type != watch.Error || !ok || st.Code != 500 || !strings.Contains(st.Message, "etcd event received with PrevKv=nil") {
		t.Fatalf("%s %v, want a 500 ERROR", ev.Type, ev.Object)
	}
}
