// Package controllers holds the control loops a lone API server needs.
// Each loop is a small type with a Run(ctx): it reads the watch caches
// through informers and writes through the server's in-process client
// (Env.ClientFor), so that every write is audited, authorized and
// admitted as an HTTP request is.
package controllers

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"

	"kapi/internal/registry"
	"kapi/internal/storage"
)

// Namespaces finishes the deletion of namespaces, as
// kube-controller-manager's namespace controller: once a namespace is
// Terminating it deletes everything in it (every namespaced resource the
// catalogue has at that moment, custom resources included, with
// background propagation), reports its progress in the namespace's
// conditions, waits for the contents' own finalizers (foreground
// deletion's among them), and when nothing is left removes the
// "kubernetes" finalizer through the finalize subresource, so that the
// namespace itself goes.
type Namespaces struct {
	env     *Env
	typed   kubernetes.Interface
	dynamic dynamic.Interface
	queue   workqueue.TypedRateLimitingInterface[string]
}

// NewNamespaces returns the loop; it acts as kube-system/namespace-controller.
func NewNamespaces(env *Env) *Namespaces {
	cfg := env.ClientFor("namespace-controller")
	return &Namespaces{env: env, typed: kubernetes.NewForConfigOrDie(cfg), dynamic: dynamic.NewForConfigOrDie(cfg),
		// Waiting for contents: looked at again after 50 ms, doubling up
		// to 5 s, as long as something remains.
		queue: NewQueueWith[string]("namespace", workqueue.NewTypedItemExponentialFailureRateLimiter[string](50*time.Millisecond, 5*time.Second))}
}

var namespacesGVR = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}

// Run works until ctx ends.
func (c *Namespaces) Run(ctx context.Context) {
	defer c.queue.ShutDown()
	inf := c.env.Informers.For(namespacesGVR)
	inf.Handle(ctx, func(ev Event) {
		if ns, ok := ev.Object.(*corev1.Namespace); ok && ns.DeletionTimestamp != nil && ev.Type != "DELETED" {
			c.queue.Add(ns.Name)
		}
	})
	go func() {
		<-ctx.Done()
		c.queue.ShutDown()
	}()
	for {
		name, quit := c.queue.Get()
		if quit {
			return
		}
		done, err := c.sync(ctx, inf, name)
		switch {
		case err != nil && ctx.Err() == nil:
			klog.ErrorS(err, "namespace controller: deleting the contents", "namespace", name)
			c.queue.AddRateLimited(name)
		case !done:
			c.queue.AddRateLimited(name)
		default:
			c.queue.Forget(name)
		}
		c.queue.Done(name)
	}
}

// sync takes one step of a namespace's deletion; it reports done when the
// namespace is gone or its finalizer removed.
func (c *Namespaces) sync(ctx context.Context, inf *Informer, name string) (bool, error) {
	obj, ok := inf.Get("", name)
	if !ok {
		return true, nil
	}
	ns := obj.(*corev1.Namespace)
	if ns.DeletionTimestamp == nil || !hasKubernetesFinalizer(ns) {
		return true, nil
	}
	p := c.deleteContents(ctx, name)
	ns, err := c.setConditions(ctx, ns, p)
	if err != nil {
		return false, err
	}
	if p.failed() || p.remaining() {
		return false, nil
	}
	fin := ns.DeepCopy()
	fin.Spec.Finalizers = nil
	for _, f := range ns.Spec.Finalizers {
		if f != corev1.FinalizerKubernetes {
			fin.Spec.Finalizers = append(fin.Spec.Finalizers, f)
		}
	}
	_, err = c.typed.CoreV1().Namespaces().Finalize(ctx, fin, metav1.UpdateOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return true, nil
	case apierrors.IsConflict(err):
		return false, nil // changed meanwhile: the next pass reads it again
	}
	return err == nil, err
}

// progress is what one pass over a namespace's contents found.
type progress struct {
	discoveryErrs []string
	deleteErrs    []string
	// left counts the objects still there by resource; finalizers the
	// finalizers they still carry, each with how many objects carry it.
	left       map[string]int
	finalizers map[string]int
}

func (p *progress) failed() bool    { return len(p.deleteErrs) > 0 || len(p.discoveryErrs) > 0 }
func (p *progress) remaining() bool { return len(p.left) > 0 }

// deleteContents deletes every object of every namespaced resource in ns
// (one deletecollection per resource when it has the verb, else one
// delete per object), then counts what is left. Pods go first, and
// nothing else is deleted while one remains (kube's OrderedNamespaceDeletion,
// GA in 1.34), so that no pod outlives the secrets, config maps and
// policies it runs with. kube's controller then reports the content
// conditions as if nothing remained; this one says that the pods do.
func (c *Namespaces) deleteContents(ctx context.Context, ns string) *progress {
	p := &progress{left: map[string]int{}, finalizers: map[string]int{}}
	stores := contents(c.env.Catalogue.Snapshot())
	for _, st := range stores {
		if st.R.GVR() == podsGVR {
			if c.deleteAll(ctx, st, ns, p); p.remaining() {
				return p
			}
		}
	}
	for _, st := range stores {
		if st.R.GVR() != podsGVR {
			c.deleteAll(ctx, st, ns, p)
		}
	}
	return p
}

// deleteAll deletes every object of st's resource in ns and adds what
// is left, and what failed, to p.
func (c *Namespaces) deleteAll(ctx context.Context, st *registry.Store, ns string, p *progress) {
	if !st.R.Supports("list") || !st.R.Supports("delete") {
		return
	}
	gvr := st.R.GVR()
	items, err := present(ctx, st, ns)
	if err != nil {
		p.discoveryErrs = append(p.discoveryErrs, err.Error())
		return
	}
	if len(items) == 0 {
		return
	}
	background := metav1.DeletePropagationBackground
	opts := metav1.DeleteOptions{PropagationPolicy: &background}
	res := c.dynamic.Resource(gvr).Namespace(ns)
	if st.R.Supports("deletecollection") {
		err = res.DeleteCollection(ctx, opts, metav1.ListOptions{})
	} else {
		for _, m := range items {
			if m.GetDeletionTimestamp() == nil {
				if e := res.Delete(ctx, m.GetName(), opts); e != nil && !apierrors.IsNotFound(e) {
					err = e
				}
			}
		}
	}
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsMethodNotSupported(err) {
		p.deleteErrs = append(p.deleteErrs, fmt.Sprintf("%s: %v", gvr, err))
	}
	if items, err = present(ctx, st, ns); err == nil && len(items) > 0 {
		p.left[gvr.Resource+"."+gvr.Group] = len(items)
		for _, m := range items {
			for _, f := range m.GetFinalizers() {
				p.finalizers[f]++
			}
		}
	}
}

// present lists what st has in ns now, without copies: a consistent
// read, served by the watch cache once it has caught up with etcd, as
// kube's controller lists. At resourceVersion 0, an object created a
// moment before its namespace's deletion could be missing from a
// lagging cache, and the namespace would go before it.
func present(ctx context.Context, st *registry.Store, ns string) ([]metav1.Object, error) {
	l, err := st.ListShared(ctx, ns, &metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := make([]metav1.Object, 0, len(l.Items))
	for _, it := range l.Items {
		if m, err := meta.Accessor(storage.Unwrap(it)); err == nil {
			out = append(out, m)
		}
	}
	return out, nil
}

// setConditions writes the conditions kube-controller-manager sets on a
// terminating namespace, when they changed, and returns the namespace as
// it now is.
func (c *Namespaces) setConditions(ctx context.Context, ns *corev1.Namespace, p *progress) (*corev1.Namespace, error) {
	want := []corev1.NamespaceCondition{
		condition(corev1.NamespaceDeletionDiscoveryFailure, p.discoveryErrs,
			"DiscoveryFailed", "Discovery failed for some groups, %d failing: %v", "ResourcesDiscovered", "All resources successfully discovered"),
		condition(corev1.NamespaceDeletionGVParsingFailure, nil,
			"GroupVersionParsingFailed", "", "ParsedGroupVersions", "All legacy kube types successfully parsed"),
		condition(corev1.NamespaceDeletionContentFailure, p.deleteErrs,
			"ContentDeletionFailed", "Failed to delete all resource types, %d remaining: %v", "ContentDeleted", "All content successfully deleted, may be waiting on finalization"),
		remainingCondition(corev1.NamespaceContentRemaining, p.left, "%s has %d resource instances",
			"SomeResourcesRemain", "Some resources are remaining: ", "ContentRemoved", "All content successfully removed"),
		remainingCondition(corev1.NamespaceFinalizersRemaining, p.finalizers, "%s in %d resource instances",
			"SomeFinalizersRemain", "Some content in the namespace has finalizers remaining: ", "ContentHasNoFinalizers", "All content-preserving finalizers finished"),
	}
	changed := false
	next := ns.DeepCopy()
	for _, w := range want {
		i := conditionIndex(next.Status.Conditions, w.Type)
		switch {
		case i < 0:
			w.LastTransitionTime = metav1.Now()
			next.Status.Conditions = append(next.Status.Conditions, w)
			changed = true
		case next.Status.Conditions[i].Status != w.Status || next.Status.Conditions[i].Reason != w.Reason || next.Status.Conditions[i].Message != w.Message:
			if next.Status.Conditions[i].Status != w.Status {
				w.LastTransitionTime = metav1.Now()
			} else {
				w.LastTransitionTime = next.Status.Conditions[i].LastTransitionTime
			}
			next.Status.Conditions[i] = w
			changed = true
		}
	}
	if !changed {
		return ns, nil
	}
	out, err := c.typed.CoreV1().Namespaces().UpdateStatus(ctx, next, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return ns, nil // gone, or changed meanwhile: the finalize fails and the next pass reads it again
	}
	return out, err
}

func conditionIndex(cs []corev1.NamespaceCondition, t corev1.NamespaceConditionType) int {
	for i, c := range cs {
		if c.Type == t {
			return i
		}
	}
	return -1
}

// condition is True with the errors when there are some, else False.
func condition(t corev1.NamespaceConditionType, errs []string, badReason, badFormat, okReason, okMessage string) corev1.NamespaceCondition {
	if len(errs) == 0 {
		return corev1.NamespaceCondition{Type: t, Status: corev1.ConditionFalse, Reason: okReason, Message: okMessage}
	}
	return corev1.NamespaceCondition{Type: t, Status: corev1.ConditionTrue, Reason: badReason, Message: fmt.Sprintf(badFormat, len(errs), errs)}
}

// remainingCondition is True with what remains (sorted) when something
// does, else False.
func remainingCondition(t corev1.NamespaceConditionType, counts map[string]int, item, badReason, badPrefix, okReason, okMessage string) corev1.NamespaceCondition {
	if len(counts) == 0 {
		return corev1.NamespaceCondition{Type: t, Status: corev1.ConditionFalse, Reason: okReason, Message: okMessage}
	}
	var parts []string
	for k, n := range counts {
		parts = append(parts, fmt.Sprintf(item, k, n))
	}
	sort.Strings(parts)
	return corev1.NamespaceCondition{Type: t, Status: corev1.ConditionTrue, Reason: badReason, Message: badPrefix + strings.Join(parts, ", ")}
}

// contents are the stores of the namespaced resources, one per stored
// resource (the rows of two versions of a resource share a store).
func contents(snap *registry.Snapshot) []*registry.Store {
	var out []*registry.Store
	seen := map[any]bool{}
	for _, st := range snap.Stores() {
		if st.R.Namespaced && st.Storage != nil && !seen[st.Storage] {
			seen[st.Storage] = true
			out = append(out, st)
		}
	}
	return out
}

func hasKubernetesFinalizer(ns *corev1.Namespace) bool {
	for _, f := range ns.Spec.Finalizers {
		if f == corev1.FinalizerKubernetes {
			return true
		}
	}
	return false
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
