package controllers

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/record"

	"kapi/internal/registry"
)

var configMapGVK = schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}

func testCollector() (*GarbageCollector, *record.FakeRecorder) {
	rec := record.NewFakeRecorder(10)
	return &GarbageCollector{graph: newGraph(), absentOwners: newAbsentCache(10), recorder: rec,
		graphChanges:    NewQueue[*graphChange]("test_graph_changes"),
		attemptToDelete: NewQueue[*node]("test_attempt_to_delete"),
		attemptToOrphan: NewQueue[*node]("test_attempt_to_orphan")}, rec
}

func cm(ns, name, uid string, owners ...metav1.OwnerReference) *metav1.ObjectMeta {
	return &metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID(uid), OwnerReferences: owners}
}

func refTo(m *metav1.ObjectMeta, block bool) metav1.OwnerReference {
	return metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: m.Name, UID: m.UID, BlockOwnerDeletion: &block}
}

// queued drains q into the uids it held.
func queued(q workqueueOf[*node]) map[types.UID]bool {
	out := map[types.UID]bool{}
	for q.Len() > 0 {
		n, _ := q.Get()
		out[n.identity.UID] = true
		q.Done(n)
		q.Forget(n)
	}
	return out
}

func TestGCGraphVirtualOwnerThenObserved(t *testing.T) {
	gc, _ := testCollector()
	owner := cm("a", "owner", "u-owner")
	dep := cm("a", "dep", "u-dep", refTo(owner, true))
	gc.processGraphChange(&graphChange{typ: addEvent, gvk: configMapGVK, obj: dep})
	n, ok := gc.graph.get("u-owner")
	if !ok || !n.virtual || len(n.dependents) != 1 {
		t.Fatalf("the owner named by a dependent must be a virtual node with it as dependent: %+v", n)
	}
	if q := queued(gc.attemptToDelete); !q["u-owner"] || len(q) != 1 {
		t.Fatalf("the virtual owner must be queued to be verified, got %v", q)
	}
	gc.processGraphChange(&graphChange{typ: addEvent, gvk: configMapGVK, obj: owner})
	if n, _ := gc.graph.get("u-owner"); n.virtual {
		t.Fatal("an observed owner stays virtual")
	}
	// its deletion queues the dependent and remembers the owner absent
	gc.processGraphChange(&graphChange{typ: deleteEvent, gvk: configMapGVK, obj: owner})
	if _, ok := gc.graph.get("u-owner"); ok {
		t.Fatal("a deleted owner stays in the graph")
	}
	if q := queued(gc.attemptToDelete); !q["u-dep"] {
		t.Fatalf("the dependent of a deleted owner must be queued, got %v", q)
	}
	if !gc.absentOwners.has(identityOf(configMapGVK, owner)) {
		t.Fatal("the deleted owner is not remembered absent")
	}
}

func TestGCGraphInvalidNamespaceEvent(t *testing.T) {
	gc, rec := testCollector()
	owner := cm("a", "owner", "u-owner")
	gc.processGraphChange(&graphChange{typ: addEvent, gvk: configMapGVK, obj: owner})
	astray := cm("b", "astray", "u-astray", refTo(owner, false))
	gc.processGraphChange(&graphChange{typ: addEvent, gvk: configMapGVK, obj: astray})
	if q := queued(gc.attemptToDelete); !q["u-astray"] {
		t.Fatalf("a dependent naming an owner of another namespace must be queued, got %v", q)
	}
	select {
	case ev := <-rec.Events:
		want := `Warning OwnerRefInvalidNamespace ownerRef [v1/ConfigMap, namespace: b, name: owner, uid: u-owner] does not exist in namespace "b"`
		if ev != want {
			t.Fatalf("event %q, want %q", ev, want)
		}
	default:
		t.Fatal("no OwnerRefInvalidNamespace event")
	}
}

func TestGCGraphForegroundTransition(t *testing.T) {
	gc, _ := testCollector()
	owner := cm("a", "owner", "u-owner")
	gc.processGraphChange(&graphChange{typ: addEvent, gvk: configMapGVK, obj: owner})
	blocking := cm("a", "blocking", "u-b", refTo(owner, true))
	plain := cm("a", "plain", "u-p", refTo(owner, false))
	gc.processGraphChange(&graphChange{typ: addEvent, gvk: configMapGVK, obj: blocking})
	gc.processGraphChange(&graphChange{typ: addEvent, gvk: configMapGVK, obj: plain})
	queued(gc.attemptToDelete)

	deleting := owner.DeepCopy()
	now := metav1.Now()
	deleting.DeletionTimestamp = &now
	deleting.Finalizers = []string{metav1.FinalizerDeleteDependents}
	gc.processGraphChange(&graphChange{typ: updateEvent, gvk: configMapGVK, obj: deleting, old: owner})
	n, _ := gc.graph.get("u-owner")
	if !n.deletingDependents || !n.beingDeleted {
		t.Fatalf("the owner is not deleting its dependents: %+v", n)
	}
	if q := queued(gc.attemptToDelete); !q["u-owner"] || !q["u-b"] || !q["u-p"] {
		t.Fatalf("the owner and its dependents must be queued, got %v", q)
	}
	if b := gc.graph.blockingDependents(n); len(b) != 1 || b[0].identity.UID != "u-b" {
		t.Fatalf("blocking dependents: %v", b)
	}
	// the blocking dependent drops its blockOwnerDeletion: the owner is
	// looked at again
	unblocked := blocking.DeepCopy()
	unblocked.OwnerReferences = []metav1.OwnerReference{refTo(owner, false)}
	gc.processGraphChange(&graphChange{typ: updateEvent, gvk: configMapGVK, obj: unblocked, old: blocking})
	if q := queued(gc.attemptToDelete); !q["u-owner"] {
		t.Fatalf("the unblocked owner must be queued, got %v", q)
	}
	if b := gc.graph.blockingDependents(n); len(b) != 0 {
		t.Fatalf("blocking dependents after the change: %v", b)
	}
}

func TestGCGraphOrphanTransition(t *testing.T) {
	gc, _ := testCollector()
	owner := cm("a", "owner", "u-owner")
	gc.processGraphChange(&graphChange{typ: addEvent, gvk: configMapGVK, obj: owner})
	deleting := owner.DeepCopy()
	now := metav1.Now()
	deleting.DeletionTimestamp = &now
	deleting.Finalizers = []string{metav1.FinalizerOrphanDependents}
	gc.processGraphChange(&graphChange{typ: updateEvent, gvk: configMapGVK, obj: deleting, old: owner})
	if q := queued(gc.attemptToOrphan); !q["u-owner"] {
		t.Fatalf("the owner must be queued to orphan its dependents, got %v", q)
	}
	// an update that changes nothing of the deletion starts nothing again
	again := deleting.DeepCopy()
	again.Labels = map[string]string{"x": "y"}
	gc.processGraphChange(&graphChange{typ: updateEvent, gvk: configMapGVK, obj: again, old: deleting})
	if gc.attemptToOrphan.Len() != 0 {
		t.Fatal("an orphaning was queued twice")
	}
}

func TestGCReferencesDiffs(t *testing.T) {
	yes, no := true, false
	a := metav1.OwnerReference{UID: "a", Name: "a", BlockOwnerDeletion: &yes}
	b := metav1.OwnerReference{UID: "b", Name: "b"}
	a2 := a
	a2.BlockOwnerDeletion = &no
	c := metav1.OwnerReference{UID: "c", Name: "c"}
	added, removed, changed := referencesDiffs([]metav1.OwnerReference{a, b}, []metav1.OwnerReference{a2, c})
	if len(added) != 1 || added[0].UID != "c" || len(removed) != 1 || removed[0].UID != "b" || len(changed) != 1 || changed[0][0].UID != "a" {
		t.Fatalf("added %v removed %v changed %v", added, removed, changed)
	}
	if added, removed, changed := referencesDiffs([]metav1.OwnerReference{a}, []metav1.OwnerReference{a}); len(added)+len(removed)+len(changed) != 0 {
		t.Fatal("equal lists differ")
	}
}

func TestGCAlternateOwnerIdentity(t *testing.T) {
	absent := objectReference{OwnerReference: metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: "o", UID: "u"}, Namespace: "a"}
	same := &node{identity: objectReference{Namespace: "a"}, owners: []metav1.OwnerReference{absent.OwnerReference}}
	other := &node{identity: objectReference{Namespace: "b"}, owners: []metav1.OwnerReference{absent.OwnerReference}}
	if alt := alternateOwnerIdentity([]*node{same}, absent); alt != nil {
		t.Fatalf("no alternate expected, got %v", alt)
	}
	alt := alternateOwnerIdentity([]*node{same, other}, absent)
	if alt == nil || alt.Namespace != "b" || !strings.Contains(alt.String(), "namespace: b") {
		t.Fatalf("alternate %v, want the owner in namespace b", alt)
	}
}

func TestGCGraphKindGone(t *testing.T) {
	gc, _ := testCollector()
	widgetGVK := schema.GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Widget"}
	w := cm("a", "w", "u-w")
	gc.processGraphChange(&graphChange{typ: addEvent, gvk: widgetGVK, obj: w})
	dep := cm("a", "dep", "u-dep", metav1.OwnerReference{APIVersion: "example.com/v1", Kind: "Widget", Name: "w", UID: "u-w"})
	gc.processGraphChange(&graphChange{typ: addEvent, gvk: configMapGVK, obj: dep})
	queued(gc.attemptToDelete)
	// another kind of the group stays
	other := cm("a", "g", "u-g")
	gc.processGraphChange(&graphChange{typ: addEvent, gvk: schema.GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Gadget"}, obj: other})

	gc.processGraphChange(&graphChange{typ: kindGoneEvent, gvk: widgetGVK, obj: &metav1.ObjectMeta{}})
	if _, ok := gc.graph.get("u-w"); ok {
		t.Fatal("an object of a kind no longer served stays in the graph")
	}
	if _, ok := gc.graph.get("u-g"); !ok {
		t.Fatal("an object of another kind left the graph")
	}
	if q := queued(gc.attemptToDelete); !q["u-dep"] {
		t.Fatalf("the dependent of an object whose kind went must be queued, got %v", q)
	}
}

// TestGCRunStops: Run returns when its context ends and leaves no
// goroutine behind (the informers' own end with theirs).
func TestGCRunStops(t *testing.T) {
	before := runtime.NumGoroutine()
	infCtx, stopInformers := context.WithCancel(context.Background())
	cat := registry.NewCatalogue()
	env := &Env{Catalogue: cat, Informers: NewInformers(infCtx, cat),
		ClientFor: func(string) *rest.Config { return &rest.Config{Host: "http://127.0.0.1:1"} }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		NewGarbageCollector(env).Run(ctx)
		close(done)
	}()
	cancel()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	stopInformers()
	deadline := time.Now().Add(30 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines after Run, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}

// TestGCGraphInvalidNamespaceDependentFirst: the dependent is seen before
// its owner (informers of different resources report in any order); the
// owner's first sight in another namespace reports the dependent.
func TestGCGraphInvalidNamespaceDependentFirst(t *testing.T) {
	gc, rec := testCollector()
	owner := cm("a", "owner", "u-owner")
	astray := cm("b", "astray", "u-astray", refTo(owner, false))
	gc.processGraphChange(&graphChange{typ: addEvent, gvk: configMapGVK, obj: astray})
	queued(gc.attemptToDelete)
	gc.processGraphChange(&graphChange{typ: addEvent, gvk: configMapGVK, obj: owner})
	n, _ := gc.graph.get("u-owner")
	if n.virtual || n.identity.Namespace != "a" {
		t.Fatalf("the owner's node after its first sight: %+v", n.identity)
	}
	if q := queued(gc.attemptToDelete); !q["u-astray"] {
		t.Fatalf("the dependent must be queued, got %v", q)
	}
	select {
	case ev := <-rec.Events:
		if !strings.Contains(ev, "OwnerRefInvalidNamespace") || !strings.Contains(ev, `does not exist in namespace "b"`) {
			t.Fatalf("event %q", ev)
		}
	default:
		t.Fatal("no OwnerRefInvalidNamespace event")
	}
}

// TestGCAlternateOwnerIdentityOrder: the identities are tried in turn,
// the next one after the one verified absent, wrapping around.
func TestGCAlternateOwnerIdentityOrder(t *testing.T) {
	ref := metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: "o", UID: "u"}
	in := func(ns string) *node {
		return &node{identity: objectReference{Namespace: ns}, owners: []metav1.OwnerReference{ref}}
	}
	deps := []*node{in("a"), in("b"), in("c")}
	for absent, want := range map[string]string{"a": "b", "b": "c", "c": "a"} {
		alt := alternateOwnerIdentity(deps, objectReference{OwnerReference: ref, Namespace: absent})
		if alt == nil || alt.Namespace != want {
			t.Errorf("after %s verified absent: %v, want namespace %s", absent, alt, want)
		}
	}
}

// TestGCForegroundWaitsForLaggingInformers: an owner being deleted in
// the foreground, whose blocking dependent was written before its
// deletion but has not reached the graph (its informer lags): the
// collector does not remove the owner's finalizer, which cannot be
// undone, but asks the informers for their progress up to the owner's
// revision, finds the dependent, and queues it.
func TestGCForegroundWaitsForLaggingInformers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	gc, _ := testCollector()
	gc.ctx = ctx
	go func() {
		for gc.processNextGraphChange() {
		}
	}()
	defer gc.graphChanges.ShutDown()
	gvk := rbacv1.SchemeGroupVersion.WithKind("ClusterRole")
	store := laggingStore{newMemStore()}
	inf := NewInformer(store)
	go inf.Run(ctx)
	<-inf.Synced()
	gc.watched = map[schema.GroupVersionResource]watchedResource{rbacv1.SchemeGroupVersion.WithResource("clusterroles"): {inf: inf, gvk: gvk}}
	inf.Handle(ctx, func(ev Event) { gc.observe(gvk, ev) })

	owner := crole("owner", nil)
	owner.UID = "u-owner"
	now := metav1.Now()
	owner.DeletionTimestamp = &now
	owner.Finalizers = []string{metav1.FinalizerDeleteDependents}
	gc.processGraphChange(&graphChange{typ: addEvent, gvk: gvk, obj: owner})
	queued(gc.attemptToDelete)
	block := true
	dependent := crole("dependent", nil)
	dependent.UID = "u-dependent"
	dependent.OwnerReferences = []metav1.OwnerReference{{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole",
		Name: "owner", UID: "u-owner", BlockOwnerDeletion: &block}}
	store.set(dependent) // revision 1, held by the informer's watch
	store.set(owner)     // revision 2: the owner as the collector reads it

	n, _ := gc.graph.get("u-owner")
	func() {
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("the collector went on to remove the owner's finalizer (%v)", r)
			}
		}()
		if err := gc.processDeletingDependentsItem(ctx, n, 2); err != nil {
			t.Fatal(err)
		}
	}()
	if q := queued(gc.attemptToDelete); !q["u-dependent"] {
		t.Fatalf("the blocking dependent must be queued, got %v", q)
	}
}

// TestGCLiveDeletion: an object the graph still shows alive, read from
// the server being deleted in the foreground, is handled as waiting for
// its dependents (not as a live object whose owner waits, which the
// cycle check could unblock); one read being deleted otherwise is left
// to its deletion; the graph's view counts when it is further along.
func TestGCLiveDeletion(t *testing.T) {
	now := metav1.Now()
	live := &metav1.PartialObjectMetadata{}
	foreground := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{DeletionTimestamp: &now,
		Finalizers: []string{"example.com/hold", metav1.FinalizerDeleteDependents}}}
	background := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{DeletionTimestamp: &now,
		Finalizers: []string{"example.com/hold"}}}
	for _, c := range []struct {
		name                         string
		view                         nodeView
		latest                       *metav1.PartialObjectMetadata
		deletingDependents, deleting bool
	}{
		{"alive", nodeView{}, live, false, false},
		{"the graph lags a foreground deletion", nodeView{}, foreground, true, true},
		{"the graph lags a deletion", nodeView{}, background, false, true},
		{"the graph knows", nodeView{beingDeleted: true, deletingDependents: true}, foreground, true, true},
		{"the read lags the graph", nodeView{beingDeleted: true, deletingDependents: true}, live, true, true},
	} {
		dd, bd := liveDeletion(c.view, c.latest)
		if dd != c.deletingDependents || bd != c.deleting {
			t.Errorf("%s: deletingDependents %v, being deleted %v; want %v, %v", c.name, dd, bd, c.deletingDependents, c.deleting)
		}
	}
}

// BenchmarkGCGraphMemory: the graph's memory per object, with what a
// cluster mostly holds (objects without owners, as the 100,000-objects
// run's) and objects owned by one owner each; the objects themselves are
// the informers' and are not counted.
func BenchmarkGCGraphMemory(b *testing.B) {
	const n = 20000
	for _, owned := range []bool{false, true} {
		name := "unowned"
		if owned {
			name = "owned"
		}
		b.Run(name, func(b *testing.B) {
			objs := make([]*metav1.ObjectMeta, n)
			for i := range objs {
				objs[i] = cm("ns", fmt.Sprintf("o-%d", i), fmt.Sprintf("uid-%d", i))
				if owned && i >= 100 {
					objs[i].OwnerReferences = []metav1.OwnerReference{refTo(objs[i%100], false)}
				}
			}
			var perObject float64
			for b.Loop() {
				gc, _ := testCollector()
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				for _, o := range objs {
					gc.processGraphChange(&graphChange{typ: addEvent, gvk: configMapGVK, obj: o})
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				perObject = float64(after.HeapAlloc-before.HeapAlloc) / n
				runtime.KeepAlive(gc)
			}
			b.ReportMetric(perObject, "B/object")
		})
	}
}
