// Package quota is kube-apiserver's ResourceQuota admission plugin: a
// write that would take a namespace's usage beyond a quota's hard limits
// is refused, and the usage it adds (or gives back) is charged to the
// quota's status.used in the same etcd transaction as the write, so that
// concurrent writers can never overshoot.
package quota

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	resourcehelper "k8s.io/component-helpers/resource"

	"kapi/internal/admission"
	"kapi/internal/registry"
	"kapi/internal/storage"
)

// ResourceQuota is the plugin.
type ResourceQuota struct {
	Catalogue *registry.Catalogue

	// noneUntil remembers, per namespace, until when a consistent read
	// found no quota there (kube's live lookup cache): the watch cache
	// may not have seen a quota created a moment ago, so when it shows
	// none the plugin reads etcd, at most once per liveLookupTTL.
	mu        sync.Mutex
	noneUntil map[string]time.Time
	now       func() time.Time // for tests
}

// liveLookupTTL is kube's: how long a live lookup that found no quota is
// believed.
const liveLookupTTL = 30 * time.Second

var quotasGVR = schema.GroupVersionResource{Version: "v1", Resource: "resourcequotas"}

// Validate checks a's usage against the quotas of its namespace and
// charges it to them.
func (p *ResourceQuota) Validate(ctx context.Context, a *admission.Attributes) error {
	if !handled(a) || !a.Resource.Namespaced || a.Namespace == "" || a.Operation == admission.Connect {
		return nil
	}
	st := p.Catalogue.Snapshot().Store(quotasGVR)
	if st == nil {
		return nil
	}
	// Most namespaces have no quota: the cache says so without a read of
	// etcd.
	shared, err := st.ListShared(ctx, a.Namespace, &metav1.ListOptions{ResourceVersion: "0"})
	if err != nil {
		return err
	}
	if len(shared.Items) == 0 {
		if none, err := p.noQuota(ctx, st, a.Namespace); err != nil || none {
			return err
		}
	}
	// A write that changes neither what its object uses nor which quotas
	// count it charges nothing: no read of the quotas.
	now, before := sideOf(a.Resource, a.Object), sideOf(a.Resource, a.OldObject)
	if !changes(now, before) {
		return nil
	}
	// The quotas as they are now: what is charged compares their revision.
	items, err := current(ctx, st, a.Namespace)
	if err != nil {
		return err
	}
	sort.Slice(items, func(i, j int) bool { return name(items[i]) < name(items[j]) })
	var charges []storage.Charge
	for _, it := range items {
		q := it.(*corev1.ResourceQuota).DeepCopy()
		if deletingItself(q, a) {
			continue
		}
		if now.countedBy(q) {
			if err := requiresResources(q, a); err != nil {
				return admission.Forbidden(a, err)
			}
		}
		// Each quota is charged its own change: a pod given an active
		// deadline leaves the NotTerminating quotas for the Terminating
		// ones, and a quota that counts it on both sides only the
		// change of its usage.
		d := charge(q, now, before)
		if resize(a) {
			// kube charges a resize what it adds, and gives nothing back
			// until the quota is recomputed (the kubelet may not have
			// shrunk the pod yet).
			d = additions(d)
		}
		var tracked []corev1.ResourceName
		for n := range d {
			if _, ok := q.Spec.Hard[n]; ok {
				tracked = append(tracked, n)
			}
		}
		if len(tracked) == 0 {
			continue
		}
		slices.Sort(tracked)
		if err := p.initialize(ctx, q, a, tracked); err != nil {
			return err
		}
		var requested, used, limited []string
		for _, n := range tracked {
			next := q.Status.Used[n].DeepCopy()
			next.Add(d[n])
			hard := q.Spec.Hard[n]
			dn := d[n]
			if enforced(a) && dn.Sign() > 0 && next.Cmp(hard) > 0 {
				cur := q.Status.Used[n]
				requested = append(requested, fmt.Sprintf("%s=%s", n, dn.String()))
				used = append(used, fmt.Sprintf("%s=%s", n, cur.String()))
				limited = append(limited, fmt.Sprintf("%s=%s", n, hard.String()))
			}
			if next.Sign() < 0 {
				next.Set(0)
			}
			q.Status.Used[n] = next
		}
		if len(requested) > 0 {
			return admission.Forbidden(a, fmt.Errorf("exceeded quota: %s, requested: %s, used: %s, limited: %s", q.Name,
				strings.Join(requested, ","), strings.Join(used, ","), strings.Join(limited, ",")))
		}
		c, err := st.Charge(q)
		if err != nil {
			return apierrors.NewInternalError(err)
		}
		charges = append(charges, c)
	}
	a.Charges = append(a.Charges, charges...)
	return nil
}

// handled: the writes kube's evaluators measure. Every write of an
// object itself; of subresources, a pod's resize, and a persistent
// volume claim's status (kube's pvc evaluator handles a status write
// when RequiresQuotaReplenish, which in 1.37 holds for every one: it
// compares two fresh pointers to status.allocatedResources' storage; a
// status write that changes neither the claim's usage nor its volume
// attributes classes charges nothing here).
func handled(a *admission.Attributes) bool {
	switch a.Subresource {
	case "":
		return true
	case "status":
		return a.Operation == admission.Update && a.Resource.Group == "" && a.Resource.Name == "persistentvolumeclaims"
	}
	return resize(a)
}

// enforced: a write that would take a quota beyond its hard limits is
// refused, but for a status write, which kube's CheckRequest charges
// without a check (the controller that writes a claim's status reports
// what its volume is).
func enforced(a *admission.Attributes) bool { return a.Subresource != "status" }

// deletingItself reports whether a deletes q itself: a quota that counts
// resourcequotas would otherwise be charged the release of its own count
// in the transaction that deletes it, two writes of one key, which etcd
// refuses.
func deletingItself(q *corev1.ResourceQuota, a *admission.Attributes) bool {
	return a.Operation == admission.Delete && a.Resource.Group == "" && a.Resource.Name == quotasGVR.Resource && a.Name == q.Name
}

// noQuota reports whether ns has no quota, read from etcd when the cache
// shows none, as kube's live lookup does, and believed for liveLookupTTL.
func (p *ResourceQuota) noQuota(ctx context.Context, st *registry.Store, ns string) (bool, error) {
	now := time.Now
	if p.now != nil {
		now = p.now
	}
	p.mu.Lock()
	until, ok := p.noneUntil[ns]
	p.mu.Unlock()
	if ok && now().Before(until) {
		return true, nil
	}
	items, err := current(ctx, st, ns)
	if err != nil || len(items) > 0 {
		return false, err
	}
	p.mu.Lock()
	if p.noneUntil == nil {
		p.noneUntil = map[string]time.Time{}
	}
	p.noneUntil[ns] = now().Add(liveLookupTTL)
	p.mu.Unlock()
	return true, nil
}

func name(obj runtime.Object) string { return obj.(metav1.Object).GetName() }

// current are the objects of st in ns as they are now (a consistent
// read).
func current(ctx context.Context, st *registry.Store, ns string) ([]runtime.Object, error) {
	list, err := st.List(ctx, ns, &metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	items, err := meta.ExtractList(list)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	return items, nil
}

// initialize gives a quota that no write charged yet (no controller has
// computed its usage) its status: hard as in its spec, and the usage of
// the tracked resources counted from the namespace's objects as they are.
func (p *ResourceQuota) initialize(ctx context.Context, q *corev1.ResourceQuota, a *admission.Attributes, tracked []corev1.ResourceName) error {
	if q.Status.Used == nil {
		q.Status.Used = corev1.ResourceList{}
	}
	if !Equal(q.Status.Hard, q.Spec.Hard) {
		q.Status.Hard = q.Spec.Hard.DeepCopy()
	}
	var missing bool
	for _, n := range tracked {
		if _, ok := q.Status.Used[n]; !ok {
			missing = true
		}
	}
	if !missing {
		return nil
	}
	st := p.Catalogue.Snapshot().Store(a.Resource.GVR())
	if st == nil {
		return nil
	}
	items, err := current(ctx, st, a.Namespace)
	if err != nil {
		return err
	}
	sums := corev1.ResourceList{}
	for _, it := range items {
		if selects(q, factsOf(it)) {
			for n, u := range usage(a.Resource, it) {
				sum := sums[n].DeepCopy()
				sum.Add(u)
				sums[n] = sum
			}
		}
	}
	for _, n := range tracked {
		if _, ok := q.Status.Used[n]; !ok {
			q.Status.Used[n] = sums[n].DeepCopy()
		}
	}
	return nil
}

// Equal reports whether a and b name the same resources in the same
// quantities (1000m is 1).
func Equal(a, b corev1.ResourceList) bool {
	if len(a) != len(b) {
		return false
	}
	for n, q := range a {
		if o, ok := b[n]; !ok || o.Cmp(q) != 0 {
			return false
		}
	}
	return true
}

// requiresResources: a quota on compute resources that counts a pod
// requires every container of it to state them, as kube's pod evaluator
// requires it (Constraints) of the pod writes it handles: a create, a
// resize, and an update that moves the pod into or out of the
// Terminating scope (Handles).
func requiresResources(q *corev1.ResourceQuota, a *admission.Attributes) error {
	pod, ok := a.Object.(*corev1.Pod)
	if !ok || (a.Operation != admission.Create && !resize(a) && !movesTerminating(a)) {
		return nil
	}
	// Pod-level resources make the containers' own unneeded (kube 1.34's
	// PodLevelResources).
	if resourcehelper.IsPodLevelResourcesSet(pod) {
		return nil
	}
	var missing []string
	for _, n := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceLimitsCPU, corev1.ResourceLimitsMemory,
		corev1.ResourceMemory, corev1.ResourceRequestsCPU, corev1.ResourceRequestsMemory} { // (sorted, as kube lists them)
		if _, ok := q.Spec.Hard[n]; !ok {
			continue
		}
		base, limit := corev1.ResourceName(strings.TrimPrefix(strings.TrimPrefix(string(n), "limits."), "requests.")), strings.HasPrefix(string(n), "limits.")
		// Regular and init containers, named in order (kube's sets).
		var lacking []string
		for _, c := range slices.Concat(pod.Spec.Containers, pod.Spec.InitContainers) {
			l := c.Resources.Requests
			if limit {
				l = c.Resources.Limits
			}
			if _, ok := l[base]; !ok {
				lacking = append(lacking, c.Name)
			}
		}
		if len(lacking) > 0 {
			slices.Sort(lacking)
			missing = append(missing, fmt.Sprintf("%s for: %s", n, strings.Join(lacking, ",")))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("failed quota: %s: must specify %s", q.Name, strings.Join(missing, "; "))
	}
	return nil
}

// movesTerminating: a is an update of a pod that sets or clears its
// active deadline, which kube's pod evaluator handles as it handles a
// create ("when scope changed").
func movesTerminating(a *admission.Attributes) bool {
	pod, ok := a.Object.(*corev1.Pod)
	old, wasPod := a.OldObject.(*corev1.Pod)
	return ok && wasPod && a.Operation == admission.Update && a.Subresource == "" && terminating(pod) != terminating(old)
}

// resize: a is an in-place resize of a pod (pods/resize), which kube's
// pod evaluator charges as it charges a new pod's usage.
func resize(a *admission.Attributes) bool {
	return a.Subresource == "resize" && a.Operation == admission.Update && a.Resource.Group == "" && a.Resource.Name == "pods"
}
