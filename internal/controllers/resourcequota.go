package controllers

import (
	"context"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/workqueue"

	"kapi/internal/admission/quota"
	"kapi/internal/registry"
	"kapi/internal/storage"
)

// ResourceQuotas keeps each ResourceQuota's status as
// kube-controller-manager's resource quota controller does: status.hard
// is spec.hard, status.used what the namespace's objects use of each
// hard resource (zero when none), summed with the quota admission
// plugin's own measure (quota.Usage, quota.Selects) so that the two
// agree.
//
// The admission plugin charges each write to the quotas in the write's
// own transaction; this loop computes usage from scratch: for a new
// quota (or one whose spec.hard changed, or whose status someone else
// wrote), when a counted object is added, changed in what it uses or in
// which quotas select it, or deleted (which is where a write the plugin
// charged may fail to happen, or an object go without a charge: a
// namespace's deletion, terminal pods, pods stuck terminating past their
// grace period), when the catalogue gains a resource a quota names
// (count/widgets.example.com before its CRD), and on every ResyncPeriod. The informers it reads may
// lag the quota's charges by a moment; a count made before an informer
// saw an object is made again when that informer reports it.
type ResourceQuotas struct {
	// ctx is Run's: the informer handlers go with it.
	ctx context.Context

	// ResyncPeriod is how often every quota is computed again (kube's
	// --resource-quota-sync-period, 5m).
	ResyncPeriod time.Duration
	// Workers per queue (kube's --concurrent-resource-quota-syncs, 5).
	Workers int

	env    *Env
	client kubernetes.Interface
	// primary holds quotas to recompute; priority, quotas that lack a
	// usage (new ones), which go first as kube's missing usage queue.
	primary, priority workqueue.TypedRateLimitingInterface[string]
	quotas            *Informer

	mu        sync.Mutex
	monitored map[schema.GroupVersionResource]*Informer
}

// NewResourceQuotas returns the loop; it acts as
// kube-system/resourcequota-controller.
func NewResourceQuotas(env *Env) *ResourceQuotas {
	return &ResourceQuotas{ResyncPeriod: 5 * time.Minute, Workers: 5, env: env,
		client:    kubernetes.NewForConfigOrDie(env.ClientFor("resourcequota-controller")),
		primary:   NewQueue[string]("resourcequota_primary"),
		priority:  NewQueue[string]("resourcequota_priority"),
		monitored: map[schema.GroupVersionResource]*Informer{}}
}

var resourceQuotasGVR = schema.GroupVersionResource{Version: "v1", Resource: "resourcequotas"}

// Run works until ctx ends.
func (c *ResourceQuotas) Run(ctx context.Context) {
	c.ctx = ctx
	c.quotas = c.env.Informers.For(resourceQuotasGVR)
	if c.quotas == nil {
		return
	}
	c.quotas.Handle(ctx, func(ev Event) {
		q := ev.Object.(*corev1.ResourceQuota)
		switch {
		case ev.Type == watch.Deleted:
		case ev.Type == watch.Added || needsUsage(q):
			c.enqueue(q)
		case !quota.Equal(q.Spec.Hard, ev.Old.(*corev1.ResourceQuota).Spec.Hard):
			c.enqueue(q)
		case !quota.Equal(q.Status.Used, ev.Old.(*corev1.ResourceQuota).Status.Used):
			// An admission charge or this loop's own write. kube's loop
			// ignores status changes (a recount costs it queries) and
			// so may leave a count written from an informer that lagged
			// until the next resync: computed 0 while the charge said
			// 1, then 1 when the object arrived, compared against the
			// charge not yet replaced by its own 0, so nothing written.
			// Here a recount is a walk of the caches: count again.
			c.primary.Add(quotaKey(q))
		}
	})
	changed := c.env.Catalogue.SubscribeUntil(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	go func() {
		<-ctx.Done()
		c.primary.ShutDown()
		c.priority.ShutDown()
	}()
	if !waitSynced(ctx, c.quotas) {
		return
	}
	for _, q := range []workqueue.TypedRateLimitingInterface[string]{c.priority, c.primary} {
		for range max(c.Workers, 1) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				serve(ctx, q, "resource quota", func(k string) error { return c.sync(ctx, k) })
			}()
		}
	}
	period := c.ResyncPeriod
	if period <= 0 {
		period = 5 * time.Minute
	}
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			for _, o := range c.quotas.List("") {
				c.primary.Add(quotaKey(o.(*corev1.ResourceQuota)))
			}
		case <-changed:
			// A resource came (a CRD): quotas that could not count it
			// until now count it at once.
			for _, o := range c.quotas.List("") {
				if q := o.(*corev1.ResourceQuota); needsUsage(q) {
					c.enqueue(q)
				}
			}
		}
	}
}

func quotaKey(q *corev1.ResourceQuota) string { return q.Namespace + "/" + q.Name }

// enqueue puts q on the priority queue when it lacks a usage, on the
// primary one otherwise.
func (c *ResourceQuotas) enqueue(q *corev1.ResourceQuota) {
	if needsUsage(q) {
		c.priority.Add(quotaKey(q))
		return
	}
	c.primary.Add(quotaKey(q))
}

// needsUsage: status.hard is not spec.hard, or a hard resource has no
// used value.
func needsUsage(q *corev1.ResourceQuota) bool {
	if q.Status.Hard == nil || q.Status.Used == nil || !quota.Equal(q.Spec.Hard, q.Status.Hard) {
		return true
	}
	for n := range q.Spec.Hard {
		if _, ok := q.Status.Used[n]; !ok {
			return true
		}
	}
	return false
}

// sync writes the quota's status when what it computes differs.
func (c *ResourceQuotas) sync(ctx context.Context, k string) error {
	ns, name, _ := strings.Cut(k, "/")
	obj, ok := c.quotas.Get(ns, name)
	if !ok {
		return nil
	}
	q := obj.(*corev1.ResourceQuota)
	used, err := c.usage(ctx, q)
	if err != nil {
		return err
	}
	status := corev1.ResourceQuotaStatus{Hard: q.Spec.Hard.DeepCopy(), Used: corev1.ResourceList{}}
	if status.Hard == nil {
		status.Hard = corev1.ResourceList{}
	}
	// A resource no evaluator knows keeps the usage it had, as kube's
	// controller keeps it.
	for n := range q.Spec.Hard {
		if u, ok := used[n]; ok {
			status.Used[n] = u
		} else if u, ok := q.Status.Used[n]; ok {
			status.Used[n] = u.DeepCopy()
		}
	}
	if q.Status.Hard != nil && q.Status.Used != nil && quota.Equal(status.Hard, q.Status.Hard) &&
		quota.Equal(status.Used, q.Status.Used) {
		return nil
	}
	up := q.DeepCopy()
	up.Status = status
	_, err = c.client.CoreV1().ResourceQuotas(ns).UpdateStatus(ctx, up, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// usage sums what the objects of q's namespace that q selects use of
// its hard resources; resources that name nothing countable are left
// out.
func (c *ResourceQuotas) usage(ctx context.Context, q *corev1.ResourceQuota) (corev1.ResourceList, error) {
	snap := c.env.Catalogue.Snapshot()
	byStore := map[*registry.Store][]corev1.ResourceName{}
	for n := range q.Spec.Hard {
		if st := countedBy(snap, n); st != nil {
			byStore[st] = append(byStore[st], n)
		}
	}
	used := corev1.ResourceList{}
	for st, names := range byStore {
		if c.monitor(st.R.GVR()) == nil {
			continue
		}
		// The informers say when to count; the count itself is a
		// consistent read of the watch cache, at a revision past every
		// charge the quota shows. Counted from an informer that lagged
		// behind a charge, the usage would be written too low, and
		// admission would let in more than hard.
		list, err := st.ListShared(ctx, q.Namespace, &metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		sums := corev1.ResourceList{}
		for _, o := range list.Items {
			o = storage.Unwrap(o)
			if !quota.Selects(q, o) {
				continue
			}
			for n, u := range quota.Usage(st.R, o) {
				s := sums[n]
				s.Add(u)
				sums[n] = s
			}
		}
		for _, n := range names {
			if s, ok := sums[n]; ok {
				used[n] = s
			} else {
				used[n] = *resource.NewQuantity(0, resource.DecimalSI)
			}
		}
	}
	return used, nil
}

// legacyCounts are the quota names of core kinds kube counts apart from
// count/<resource>, and the resource whose objects they measure.
var legacyCounts = map[corev1.ResourceName]string{
	corev1.ResourcePods: "pods", corev1.ResourceServices: "services",
	corev1.ResourceServicesLoadBalancers: "services", corev1.ResourceServicesNodePorts: "services",
	corev1.ResourceConfigMaps: "configmaps", corev1.ResourceSecrets: "secrets",
	corev1.ResourcePersistentVolumeClaims: "persistentvolumeclaims", corev1.ResourceRequestsStorage: "persistentvolumeclaims",
	corev1.ResourceReplicationControllers: "replicationcontrollers", corev1.ResourceQuotas: "resourcequotas",
}

// countedBy is the store whose objects a quota's resource name measures:
// count/<resource>.<group> (count/<resource> for the core group), the
// legacy names, a storage class's claims, a device class's devices
// (<class>.deviceclass.resource.k8s.io/devices, which resource claims
// ask for), and the compute resources of pods (cpu, memory, requests.*,
// limits.*, hugepages-*). nil for a name that measures nothing kapi
// serves.
func countedBy(snap *registry.Snapshot, n corev1.ResourceName) *registry.Store {
	core := func(r string) *registry.Store {
		return snap.Store(schema.GroupVersionResource{Version: "v1", Resource: r})
	}
	s := string(n)
	switch {
	case strings.HasPrefix(s, "count/"):
		r, g, _ := strings.Cut(strings.TrimPrefix(s, "count/"), ".")
		return servedStore(snap, g, r)
	case legacyCounts[n] != "":
		return core(legacyCounts[n])
	case strings.Contains(s, ".storageclass.storage.k8s.io/"):
		return core("persistentvolumeclaims")
	case strings.HasSuffix(s, corev1.ResourceClaimsPerClass):
		return servedStore(snap, "resource.k8s.io", "resourceclaims")
	case n == corev1.ResourceCPU || n == corev1.ResourceMemory || n == corev1.ResourceEphemeralStorage,
		strings.HasPrefix(s, "requests."), strings.HasPrefix(s, "limits."),
		strings.HasPrefix(s, corev1.ResourceHugePagesPrefix):
		return core("pods")
	}
	return nil
}

// servedStore is a namespaced resource's store in one of its versions
// (all read the same objects): the first by version name, for a stable
// choice.
func servedStore(snap *registry.Snapshot, group, name string) *registry.Store {
	var found []*registry.Store
	for _, st := range snap.Stores() {
		if st.R.Group == group && st.R.Name == name && st.R.Namespaced && st.Storage != nil {
			found = append(found, st)
		}
	}
	if len(found) == 0 {
		return nil
	}
	sort.Slice(found, func(i, j int) bool { return found[i].R.Version < found[j].R.Version })
	return found[0]
}

// monitor returns the informer of gvr, and has its changes recompute the
// quotas of the namespace they happen in (once per informer: a custom
// resource's informer is a new one after its CRD comes back).
func (c *ResourceQuotas) monitor(gvr schema.GroupVersionResource) *Informer {
	inf := c.env.Informers.For(gvr)
	if inf == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.monitored[gvr] == inf {
		return inf
	}
	c.monitored[gvr] = inf
	var replayed atomic.Bool
	inf.Handle(c.ctx, func(ev Event) {
		if p, ok := ev.Object.(*corev1.Pod); ok && ev.Type != watch.Deleted {
			// A pod stuck terminating stops counting at a time of its
			// own, which no event marks: count again then.
			if end, ok := quota.StuckAfter(p); ok {
				c.enqueueNamespaceAfter(p.Namespace, time.Until(end)+time.Second)
			}
		}
		if !replayed.Load() && ev.Type == watch.Added {
			// The objects known when the monitor starts are counted by the
			// sync that started it.
			return
		}
		if ev.Type == watch.Modified && !countsChanged(c.env.Catalogue, gvr, ev.Old, ev.Object) {
			return
		}
		c.enqueueNamespace(ev.Object)
	})
	replayed.Store(true)
	return inf
}

// countsChanged: old and obj use different amounts of something, or
// different quotas count them (a pod given an active deadline moves
// from NotTerminating quotas to Terminating ones; a claim's status
// names another volume attributes class).
func countsChanged(cat *registry.Catalogue, gvr schema.GroupVersionResource, old, obj runtime.Object) bool {
	st := cat.Snapshot().Store(gvr)
	if st == nil || old == nil {
		return true
	}
	return quota.Differ(st.R, old, obj)
}

// enqueueNamespaceAfter queues every quota of ns after d, with a timer
// of its own rather than the queue's AddAfter: the queue keeps one
// waiting time per key, the earliest, so a conflict's retry (or another
// pod's earlier time) would swallow this later one, and a pod stuck
// terminating would count until the next resync. (A timer that fires
// after Run ended adds to a queue shut down: nothing.)
func (c *ResourceQuotas) enqueueNamespaceAfter(ns string, d time.Duration) {
	time.AfterFunc(d, func() {
		for _, o := range c.quotas.List(ns) {
			c.primary.Add(quotaKey(o.(*corev1.ResourceQuota)))
		}
	})
}

// enqueueNamespace queues every quota of obj's namespace.
func (c *ResourceQuotas) enqueueNamespace(obj runtime.Object) {
	m, err := apimeta.Accessor(obj)
	if err != nil || m.GetNamespace() == "" {
		return
	}
	for _, o := range c.quotas.List(m.GetNamespace()) {
		c.primary.Add(quotaKey(o.(*corev1.ResourceQuota)))
	}
}
