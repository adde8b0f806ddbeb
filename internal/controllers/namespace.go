// Package controllers holds the few control loops a lone API server needs.
package controllers

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/klog/v2"

	"kapi/internal/registry"
)

// Namespaces finishes the deletion of namespaces: once a namespace is
// Terminating, it deletes every object in it and, when none is left,
// removes the "kubernetes" finalizer through the finalize subresource, so
// that the namespace itself goes, as kube-controller-manager's namespace
// controller does.
type Namespaces struct {
	// Namespaces is the namespaces store.
	Namespaces *registry.Store
	// Catalogue has the stores of what a namespace holds: every
	// namespaced resource, custom resources included, as it is when the
	// namespace is emptied.
	Catalogue *registry.Catalogue
	// Resync is how often terminating namespaces are looked at again while
	// they still hold objects.
	Resync time.Duration
}

// Run works until ctx ends.
func (c *Namespaces) Run(ctx context.Context) {
	if c.Resync == 0 {
		c.Resync = time.Second
	}
	for ctx.Err() == nil {
		w, err := c.Namespaces.Watch(ctx, "", &metav1.ListOptions{})
		if err != nil {
			klog.ErrorS(err, "namespace controller: watching namespaces")
			sleep(ctx, c.Resync)
			continue
		}
		c.loop(ctx, w.ResultChan())
		w.Stop()
	}
}

func (c *Namespaces) loop(ctx context.Context, events <-chan watchEvent) {
	tick := time.NewTicker(c.Resync)
	defer tick.Stop()
	pending := map[string]bool{}
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			if ns, ok := ev.Object.(*corev1.Namespace); ok && ns.DeletionTimestamp != nil {
				pending[ns.Name] = true
			}
		case <-tick.C:
		}
		for name := range pending {
			done, err := c.finish(ctx, name)
			if err != nil {
				klog.ErrorS(err, "namespace controller: deleting the contents", "namespace", name)
			}
			if done {
				delete(pending, name)
			}
		}
	}
}

// finish deletes what is in the namespace; it reports done when the
// namespace is gone or its finalizer removed.
func (c *Namespaces) finish(ctx context.Context, name string) (bool, error) {
	obj, err := c.Namespaces.Get(ctx, "", name, nil)
	if apierrors.IsNotFound(err) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	ns := obj.(*corev1.Namespace)
	if ns.DeletionTimestamp == nil || !hasKubernetesFinalizer(ns) {
		return true, nil
	}
	// Whatever was there, deleted now or not, is looked for again on the
	// next pass before the finalizer goes.
	remaining := 0
	for _, st := range contents(c.Catalogue.Snapshot()) {
		listed, _, err := deleteAll(ctx, st, name)
		if err != nil {
			return false, err
		}
		remaining += listed
	}
	if remaining > 0 {
		return false, nil
	}
	_, _, err = c.Namespaces.Update(ctx, "", name, c.Namespaces.R.Sub("finalize"), func(_ context.Context, old runtime.Object) (runtime.Object, error) {
		ns := old.(*corev1.Namespace)
		var keep []corev1.FinalizerName
		for _, f := range ns.Spec.Finalizers {
			if f != corev1.FinalizerKubernetes {
				keep = append(keep, f)
			}
		}
		ns.Spec.Finalizers = keep
		return ns, nil
	}, nil, false)
	if apierrors.IsNotFound(err) {
		return true, nil
	}
	return err == nil, err
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

// deleteAll deletes every object of st in namespace ns (every namespace
// for "") that is not being deleted already. It reports how many it
// listed, and how many of those remain (being deleted, waiting for their
// finalizers).
func deleteAll(ctx context.Context, st *registry.Store, ns string) (listed, remaining int, err error) {
	list, err := st.List(ctx, ns, &metav1.ListOptions{})
	if err != nil {
		return 0, 0, err
	}
	items, err := meta.ExtractList(list)
	if err != nil {
		return 0, 0, err
	}
	for _, it := range items {
		m, err := meta.Accessor(it)
		if err != nil {
			continue
		}
		listed++
		if m.GetDeletionTimestamp() != nil {
			remaining++ // waiting for its own finalizers
			continue
		}
		_, deleted, err := st.Delete(ctx, m.GetNamespace(), m.GetName(), &metav1.DeleteOptions{}, nil, false)
		if err != nil && !apierrors.IsNotFound(err) {
			return 0, 0, err
		}
		if !deleted && err == nil {
			remaining++
		}
	}
	return listed, remaining, nil
}
