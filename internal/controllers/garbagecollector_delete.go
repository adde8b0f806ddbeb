package controllers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/util/retry"
	"k8s.io/klog/v2"
)

var (
	errVirtualDeleteQueued      = errors.New("enqueued virtual delete event")
	errNamespacedOwnerOfCluster = errors.New("cluster-scoped objects cannot refer to namespaced owners")
)

func (gc *GarbageCollector) processNextDelete(ctx context.Context) bool {
	n, quit := gc.attemptToDelete.Get()
	if quit {
		return false
	}
	defer gc.attemptToDelete.Done(n)
	if gc.attemptToDeleteWorker(ctx, n) {
		gc.attemptToDelete.AddRateLimited(n)
	} else {
		gc.attemptToDelete.Forget(n)
	}
	return true
}

// attemptToDeleteWorker handles one node of garbage_collector_attempt_to_delete
// and reports whether to look at it again later.
func (gc *GarbageCollector) attemptToDeleteWorker(ctx context.Context, n *node) (requeue bool) {
	v := gc.graph.view(n)
	if !v.observed {
		// a virtual node queued again after an error, and meanwhile
		// deleted or observed: nothing left to verify
		current, ok := gc.graph.get(v.identity.UID)
		if !ok || gc.graph.view(current).observed {
			return false
		}
	}
	err := gc.attemptToDeleteItem(ctx, n)
	switch {
	case errors.Is(err, errVirtualDeleteQueued), errors.Is(err, errNamespacedOwnerOfCluster):
		return false
	case err != nil:
		switch {
		case ctx.Err() != nil:
		case apierrors.IsConflict(err):
			klog.V(2).InfoS("garbage collector: the item changed meanwhile, will retry", "item", v.identity.String(), "err", err)
		default:
			klog.ErrorS(err, "garbage collector: error syncing item, will retry", "item", v.identity.String())
		}
		return true
	case !v.observed:
		// a virtual owner that exists but was not reported yet: its
		// informer may have missed it (added and removed between a list
		// and a watch); look again until it is
		return true
	}
	return false
}

// attemptToDeleteItem looks up the live object of n and deletes it when
// every owner it names is verified absent; an owner waiting for its
// dependents (foreground) makes it go in the foreground too, or, beside
// a live owner, drops the reference. It is kube's attemptToDeleteItem.
func (gc *GarbageCollector) attemptToDeleteItem(ctx context.Context, n *node) error {
	v := gc.graph.view(n)
	if v.beingDeleted && !v.deletingDependents {
		// a one-way trip: its dependents are looked at once it is gone
		return nil
	}
	latest, err := gc.getObject(ctx, v.identity)
	switch {
	case apierrors.IsNotFound(err):
		gc.graphChanges.Add(virtualDelete(v.identity))
		return errVirtualDeleteQueued
	case err != nil:
		return err
	}
	if latest.UID != v.identity.UID {
		gc.graphChanges.Add(virtualDelete(v.identity))
		return errVirtualDeleteQueued
	}
	switch deletingDependents, beingDeleted := liveDeletion(v, latest); {
	case deletingDependents:
		return gc.processDeletingDependentsItem(ctx, n, revisionOf(latest.ResourceVersion))
	case beingDeleted:
		return nil
	}
	refs := latest.OwnerReferences
	if len(refs) == 0 {
		return nil
	}
	solid, dangling, waiting, err := gc.classifyReferences(ctx, v.identity, refs)
	if err != nil {
		return err
	}
	switch {
	case len(solid) != 0:
		if len(dangling) == 0 && len(waiting) == 0 {
			return nil
		}
		// references to owners waiting for their dependents must go too,
		// or those owners would wait forever
		drop := map[types.UID]bool{}
		for _, r := range append(dangling, waiting...) {
			drop[r.UID] = true
		}
		_, err := gc.patchOwnerReferences(ctx, v.identity, func(refs []metav1.OwnerReference) []metav1.OwnerReference {
			var keep []metav1.OwnerReference
			for _, r := range refs {
				if !drop[r.UID] {
					keep = append(keep, r)
				}
			}
			return keep
		})
		return err
	case len(waiting) != 0 && len(v.dependents) != 0:
		for _, d := range v.dependents {
			if gc.graph.isDeletingDependents(d) {
				// Its owner and a dependent both wait for their
				// dependents: a possible cycle. Its references stop
				// blocking, then it goes in the foreground.
				patched, err := gc.patchOwnerReferences(ctx, v.identity, unblock)
				if err != nil {
					return err
				}
				if patched != nil {
					latest = patched // the delete's preconditions
				}
				break
			}
		}
		policy := metav1.DeletePropagationForeground
		return gc.deleteObject(ctx, v.identity, latest, &policy)
	default:
		// no live owner: collect it, keeping the propagation its own
		// finalizers ask for
		policy := metav1.DeletePropagationBackground
		switch {
		case hasFinalizer(latest, metav1.FinalizerOrphanDependents):
			policy = metav1.DeletePropagationOrphan
		case hasFinalizer(latest, metav1.FinalizerDeleteDependents):
			policy = metav1.DeletePropagationForeground
		}
		klog.V(2).InfoS("garbage collector: deleting an object whose owners are gone", "item", v.identity.String(), "propagationPolicy", policy)
		return gc.deleteObject(ctx, v.identity, latest, &policy)
	}
}

// liveDeletion is whether an object is being deleted, and whether in the
// foreground (waiting for its dependents), by the graph's view of it or
// by the object as just read, whichever is further along. The graph can
// lag the read: the collector's own foreground delete of a dependent
// whose owner waits, queued again before the graph saw that delete, would
// otherwise be taken for an object that is not being deleted, and when
// one of its own dependents already waits for its dependents, for a part
// of a cycle: its references would be unblocked, and its owner would go
// before it. kube's collector, which reads only the graph here, has this
// race ("the circle detection can fail in a race condition").
func liveDeletion(v nodeView, latest *metav1.PartialObjectMetadata) (deletingDependents, beingDeleted bool) {
	deleting := latest.DeletionTimestamp != nil
	return v.deletingDependents || deleting && hasFinalizer(latest, metav1.FinalizerDeleteDependents), v.beingDeleted || deleting
}

// unblock sets blockOwnerDeletion false on every reference.
func unblock(refs []metav1.OwnerReference) []metav1.OwnerReference {
	out := make([]metav1.OwnerReference, len(refs))
	for i, r := range refs {
		f := false
		r.BlockOwnerDeletion = &f
		out[i] = r
	}
	return out
}

// processDeletingDependentsItem removes the foregroundDeletion finalizer
// of an owner no dependent blocks any more, else queues its blocking
// dependents. rev is the revision of the owner as read just now.
//
// The graph knows the dependents its informers reported; a dependent
// written just before its owner's deletion may not have reached it yet
// (another resource, another informer). kube's collector removes the
// finalizer then, and the owner goes before its dependent. Here, before
// it removes the finalizer (which cannot be undone), the collector waits
// until every informer it follows has reached rev and the graph holds
// what they reported (graphCurrent), and looks again.
func (gc *GarbageCollector) processDeletingDependentsItem(ctx context.Context, n *node, rev int64) error {
	blocking := gc.graph.blockingDependents(n)
	if len(blocking) == 0 {
		gc.graphCurrent(ctx, gc.graph.view(n).identity, rev)
		blocking = gc.graph.blockingDependents(n)
	}
	if len(blocking) == 0 {
		klog.V(2).InfoS("garbage collector: removing the foregroundDeletion finalizer", "item", gc.graph.view(n).identity.String())
		return gc.removeFinalizer(ctx, n, metav1.FinalizerDeleteDependents)
	}
	for _, d := range blocking {
		if !gc.graph.isDeletingDependents(d) {
			gc.attemptToDelete.Add(d)
		}
	}
	return nil
}

// classifyReferences sorts refs into owners that exist (solid), owners
// verified absent (dangling), and owners being deleted in the foreground
// (waiting for their dependents).
func (gc *GarbageCollector) classifyReferences(ctx context.Context, item objectReference, refs []metav1.OwnerReference) (solid, dangling, waiting []metav1.OwnerReference, err error) {
	for _, ref := range refs {
		absent, owner, err := gc.isDangling(ctx, ref, item)
		if err != nil {
			return nil, nil, nil, err
		}
		switch {
		case absent:
			dangling = append(dangling, ref)
		case owner.DeletionTimestamp != nil && hasFinalizer(owner, metav1.FinalizerDeleteDependents):
			waiting = append(waiting, ref)
		default:
			solid = append(solid, ref)
		}
	}
	return solid, dangling, waiting, nil
}

// isDangling reports whether ref names an owner that does not exist,
// asking the server (an informer may lag), in item's namespace when the
// owner's kind is namespaced. A cluster-scoped item naming a namespaced
// kind is an error that no retry mends.
func (gc *GarbageCollector) isDangling(ctx context.Context, ref metav1.OwnerReference, item objectReference) (bool, *metav1.PartialObjectMetadata, error) {
	key := objectReference{OwnerReference: coordinates(ref)}
	if gc.absentOwners.has(key) {
		return true, nil, nil
	}
	key.Namespace = item.Namespace
	if gc.absentOwners.has(key) {
		return true, nil, nil
	}
	gvr, namespaced, err := gc.resourceFor(ref.APIVersion, ref.Kind)
	if err != nil {
		return false, nil, err
	}
	if !namespaced {
		key.Namespace = ""
	}
	if item.Namespace == "" && namespaced {
		klog.V(2).InfoS("garbage collector: a cluster-scoped object refers to a namespaced owner", "item", item.String(), "owner", ref.Name)
		return false, nil, errNamespacedOwnerOfCluster
	}
	ns := ""
	if namespaced {
		ns = item.Namespace
	}
	owner, err := gc.meta.Resource(gvr).Namespace(ns).Get(ctx, ref.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		gc.absentOwners.add(key)
		return true, nil, nil
	case err != nil:
		return false, nil, err
	}
	if owner.UID != ref.UID {
		gc.absentOwners.add(key)
		return true, nil, nil
	}
	return false, owner, nil
}

// resource is the metadata client of id's resource, in its namespace
// when the resource is namespaced.
func (gc *GarbageCollector) resource(id objectReference) (metadata.ResourceInterface, error) {
	gvr, namespaced, err := gc.resourceFor(id.APIVersion, id.Kind)
	if err != nil {
		return nil, err
	}
	if !namespaced {
		return gc.meta.Resource(gvr), nil
	}
	if id.Namespace == "" {
		// a virtual owner named by a cluster-scoped dependent: there is
		// nowhere to look for it, and nothing to retry (kube's getObject)
		return nil, errNamespacedOwnerOfCluster
	}
	return gc.meta.Resource(gvr).Namespace(id.Namespace), nil
}

func (gc *GarbageCollector) getObject(ctx context.Context, id objectReference) (*metav1.PartialObjectMetadata, error) {
	r, err := gc.resource(id)
	if err != nil {
		return nil, err
	}
	return r.Get(ctx, id.Name, metav1.GetOptions{})
}

// deleteObject deletes id with policy, on the condition that it is still
// the object latest (its uid and resourceVersion); when only a change
// that left its owner references alone came between, it deletes again
// on its uid alone, so that frequent updates do not starve it.
func (gc *GarbageCollector) deleteObject(ctx context.Context, id objectReference, latest *metav1.PartialObjectMetadata, policy *metav1.DeletionPropagation) error {
	r, err := gc.resource(id)
	if err != nil {
		return err
	}
	uid, rv := id.UID, latest.ResourceVersion
	pre := metav1.Preconditions{UID: &uid, ResourceVersion: &rv}
	opts := metav1.DeleteOptions{Preconditions: &pre, PropagationPolicy: policy}
	err = r.Delete(ctx, id.Name, opts)
	if apierrors.IsConflict(err) {
		live, lerr := r.Get(ctx, id.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(lerr):
			return nil
		case lerr == nil && live.UID == id.UID && live.ResourceVersion != rv && reflect.DeepEqual(live.OwnerReferences, latest.OwnerReferences):
			pre.ResourceVersion = nil
			err = r.Delete(ctx, id.Name, opts)
		}
	}
	if apierrors.IsNotFound(err) {
		gc.graphChanges.Add(virtualDelete(id))
		return errVirtualDeleteQueued
	}
	return err
}

// metadataPatch is a JSON merge patch of the metadata, on the condition
// of the resourceVersion it was computed from.
type metadataPatch struct {
	Metadata struct {
		ResourceVersion string                  `json:"resourceVersion"`
		OwnerReferences []metav1.OwnerReference `json:"ownerReferences,omitempty"`
	} `json:"metadata"`
}

// patchOwnerReferences replaces the owner references of id by what edit
// makes of the live ones (nothing when it changes none), retrying on
// conflict; an object that is gone (or another of the same name) needs
// nothing. It returns the object patched, nil when there was no patch.
func (gc *GarbageCollector) patchOwnerReferences(ctx context.Context, id objectReference, edit func([]metav1.OwnerReference) []metav1.OwnerReference) (*metav1.PartialObjectMetadata, error) {
	r, err := gc.resource(id)
	if err != nil {
		return nil, err
	}
	var patched *metav1.PartialObjectMetadata
	err = retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		live, err := r.Get(ctx, id.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		if live.UID != id.UID {
			return nil
		}
		refs := edit(append([]metav1.OwnerReference(nil), live.OwnerReferences...))
		if reflect.DeepEqual(refs, live.OwnerReferences) || (len(refs) == 0 && len(live.OwnerReferences) == 0) {
			return nil
		}
		var body []byte
		if len(refs) == 0 {
			body, err = json.Marshal(map[string]any{"metadata": map[string]any{"resourceVersion": live.ResourceVersion, "ownerReferences": nil}})
		} else {
			var p metadataPatch
			p.Metadata.ResourceVersion, p.Metadata.OwnerReferences = live.ResourceVersion, refs
			body, err = json.Marshal(p)
		}
		if err != nil {
			return err
		}
		patched, err = r.Patch(ctx, id.Name, types.MergePatchType, body, metav1.PatchOptions{})
		if apierrors.IsNotFound(err) {
			patched = nil
			return nil
		}
		return err
	})
	return patched, err
}

// removeFinalizer removes finalizer f from the live object of n.
func (gc *GarbageCollector) removeFinalizer(ctx context.Context, n *node, f string) error {
	id := gc.graph.view(n).identity
	r, err := gc.resource(id)
	if err != nil {
		return err
	}
	err = retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		live, err := r.Get(ctx, id.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("cannot finalize owner %s, because cannot get it: %w", id, err)
		}
		if live.UID != id.UID || !hasFinalizer(live, f) {
			return nil
		}
		var keep []string
		for _, x := range live.Finalizers {
			if x != f {
				keep = append(keep, x)
			}
		}
		patch := map[string]any{"metadata": map[string]any{"resourceVersion": live.ResourceVersion, "finalizers": keep}}
		if len(keep) == 0 {
			patch["metadata"].(map[string]any)["finalizers"] = nil
		}
		body, err := json.Marshal(patch)
		if err != nil {
			return err
		}
		_, err = r.Patch(ctx, id.Name, types.MergePatchType, body, metav1.PatchOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	})
	return err
}

func (gc *GarbageCollector) processNextOrphan(ctx context.Context) bool {
	n, quit := gc.attemptToOrphan.Get()
	if quit {
		return false
	}
	defer gc.attemptToOrphan.Done(n)
	if err := gc.attemptToOrphanItem(ctx, n); err != nil {
		if ctx.Err() == nil {
			klog.V(2).InfoS("garbage collector: orphaning failed, will retry", "owner", gc.graph.view(n).identity.String(), "err", err)
		}
		gc.attemptToOrphan.AddRateLimited(n)
	} else {
		gc.attemptToOrphan.Forget(n)
	}
	return true
}

// attemptToOrphanItem removes the references to owner n from its
// dependents, then the orphan finalizer from n. As before a foreground
// owner's finalizer goes (processDeletingDependentsItem), the graph is
// first made current up to the owner's revision: a dependent it did not
// hold yet would keep its reference, lose its owner, and be collected
// rather than orphaned.
func (gc *GarbageCollector) attemptToOrphanItem(ctx context.Context, n *node) error {
	id := gc.graph.view(n).identity
	owner, err := gc.getObject(ctx, id)
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return err
	case owner.UID != id.UID:
		return nil
	}
	gc.graphCurrent(ctx, id, revisionOf(owner.ResourceVersion))
	v := gc.graph.view(n)
	var errs []error
	for _, d := range v.dependents {
		did := gc.graph.view(d).identity
		_, err := gc.patchOwnerReferences(ctx, did, func(refs []metav1.OwnerReference) []metav1.OwnerReference {
			var keep []metav1.OwnerReference
			for _, r := range refs {
				if r.UID != v.identity.UID {
					keep = append(keep, r)
				}
			}
			return keep
		})
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("orphaning %s failed: %w", did, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("failed to orphan dependents of owner %s: %w", v.identity, utilerrors.NewAggregate(errs))
	}
	return gc.removeFinalizer(ctx, n, metav1.FinalizerOrphanDependents)
}
