package controllers

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"

	"kapi/internal/registry"
)

func crole(name string, labels map[string]string, rules ...rbacv1.PolicyRule) *rbacv1.ClusterRole {
	return &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}, Rules: rules}
}

func verbOn(verb, resource string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{Verbs: []string{verb}, APIGroups: []string{""}, Resources: []string{resource}}
}

func aggregating(name string, selectors ...map[string]string) *rbacv1.ClusterRole {
	r := crole(name, nil)
	r.AggregationRule = &rbacv1.AggregationRule{}
	for _, s := range selectors {
		r.AggregationRule.ClusterRoleSelectors = append(r.AggregationRule.ClusterRoleSelectors, metav1.LabelSelector{MatchLabels: s})
	}
	return r
}

func TestAggregatedRules(t *testing.T) {
	x := map[string]string{"x": "true"}
	y := map[string]string{"y": "true"}
	agg := aggregating("agg", y, x)
	agg.Labels = x // matching itself does not count
	agg.Rules = []rbacv1.PolicyRule{verbOn("own", "rule")}
	all := []*rbacv1.ClusterRole{
		agg,
		crole("b", x, verbOn("get", "b"), verbOn("get", "shared")),
		crole("a", x, verbOn("get", "a"), verbOn("get", "shared")),
		crole("z", y, verbOn("get", "z")),
		crole("none", nil, verbOn("get", "none")),
	}
	got, err := AggregatedRules(agg, all)
	if err != nil {
		t.Fatal(err)
	}
	// Selector by selector; matched roles by name; each rule once.
	want := []rbacv1.PolicyRule{verbOn("get", "z"), verbOn("get", "a"), verbOn("get", "shared"), verbOn("get", "b")}
	if !equality.Semantic.DeepEqual(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
	if _, err := AggregatedRules(aggregating("bad", map[string]string{"-": "!"}), all); err == nil {
		t.Error("a bad selector is an error")
	}
}

// memStore is a ClusterRoles store in memory, with watches.
type memStore struct {
	mu       sync.Mutex
	objs     map[string]*rbacv1.ClusterRole
	rv       int
	watchers []*watch.FakeWatcher
	writes   int
}

func newMemStore(roles ...*rbacv1.ClusterRole) *memStore {
	m := &memStore{objs: map[string]*rbacv1.ClusterRole{}}
	for _, r := range roles {
		m.put(r)
	}
	return m
}

func (m *memStore) put(r *rbacv1.ClusterRole) watch.EventType {
	m.rv++
	r = r.DeepCopy()
	r.ResourceVersion = strconv.Itoa(m.rv)
	t := watch.Modified
	if _, ok := m.objs[r.Name]; !ok {
		t = watch.Added
	}
	m.objs[r.Name] = r
	for _, w := range m.watchers {
		w.Action(t, r.DeepCopy())
	}
	return t
}

func (m *memStore) set(r *rbacv1.ClusterRole) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.put(r)
}

func (m *memStore) remove(name string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rv++
	old := m.objs[name]
	delete(m.objs, name)
	for _, w := range m.watchers {
		w.Delete(old.DeepCopy())
	}
}

func (m *memStore) get(name string) *rbacv1.ClusterRole {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.objs[name].DeepCopy()
}

func (m *memStore) ListShared(context.Context, string, *metav1.ListOptions) (*registry.SharedList, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l := &registry.SharedList{List: &rbacv1.ClusterRoleList{ListMeta: metav1.ListMeta{ResourceVersion: strconv.Itoa(m.rv)}}}
	for _, r := range m.objs {
		l.Items = append(l.Items, r.DeepCopy())
	}
	return l, nil
}

func (m *memStore) WatchShared(context.Context, string, *metav1.ListOptions) (watch.Interface, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	w := watch.NewFakeWithChanSize(100, false)
	m.watchers = append(m.watchers, w)
	return w, nil
}

func (m *memStore) Update(ctx context.Context, _, name string, _ *registry.Subresource, f registry.UpdatedObject, _ registry.Admission, _ bool) (runtime.Object, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var old runtime.Object
	if r, ok := m.objs[name]; ok {
		old = r.DeepCopy()
	}
	obj, err := f(ctx, old)
	if err != nil {
		return nil, false, err
	}
	m.writes++
	m.put(obj.(*rbacv1.ClusterRole))
	return obj, false, nil
}

func TestClusterRoleAggregation(t *testing.T) {
	x := map[string]string{"x": "true"}
	store := newMemStore(aggregating("agg", x), crole("a", x, verbOn("get", "a")), crole("c", nil, verbOn("get", "c")))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	inf := NewInformer(store)
	agg := NewClusterRoleAggregation(inf, StoreRules(store))
	go inf.Run(ctx)
	go agg.Run(ctx)
	if err := agg.WaitSettled(ctx, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	waitRules := func(want ...rbacv1.PolicyRule) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			got := store.get("agg").Rules
			if equality.Semantic.DeepEqual(got, want) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("agg has %v, want %v", got, want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitRules(verbOn("get", "a"))
	// A role gains the label: its rules join.
	store.set(crole("c", x, verbOn("get", "c")))
	waitRules(verbOn("get", "a"), verbOn("get", "c"))
	// A role's rules change.
	store.set(crole("a", x, verbOn("list", "a")))
	waitRules(verbOn("list", "a"), verbOn("get", "c"))
	// A role goes: its rules go.
	store.remove("a")
	waitRules(verbOn("get", "c"))
	// Someone edits the aggregated rules by hand: they are put back.
	hand := store.get("agg")
	hand.Rules = append(hand.Rules, verbOn("delete", "everything"))
	store.set(hand)
	waitRules(verbOn("get", "c"))
	if err := agg.WaitSettled(ctx, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	store.mu.Lock()
	writes := store.writes
	store.mu.Unlock()
	if writes > 10 {
		t.Errorf("%d writes for 5 changes", writes)
	}
}

func TestInformerRelists(t *testing.T) {
	store := newMemStore(crole("a", nil))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	inf := NewInformer(store)
	changed := inf.Changed(ctx)
	go inf.Run(ctx)
	<-inf.Synced()
	if _, ok := inf.Get("", "a"); !ok {
		t.Fatal("a is not there after the list")
	}
	store.set(crole("b", nil))
	waitFor(t, func() bool { _, ok := inf.Get("", "b"); return ok })
	select {
	case <-changed:
	default:
		t.Error("no change signalled")
	}
	// The watch fails (compacted): the informer lists again and sees what
	// happened meanwhile, including a deletion it never saw.
	store.mu.Lock()
	w := store.watchers[0]
	store.watchers = nil
	delete(store.objs, "a")
	store.mu.Unlock()
	w.Error(&metav1.Status{Message: "too old resource version", Code: 410})
	waitFor(t, func() bool { _, ok := inf.Get("", "a"); return !ok })
	if got := len(inf.List("")); got != 1 {
		t.Errorf("%d objects after the relist, want 1", got)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
