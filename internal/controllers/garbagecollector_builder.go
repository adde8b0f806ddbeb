package controllers

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
)

type changeType int

const (
	addEvent changeType = iota
	updateEvent
	deleteEvent
	// kindGoneEvent: no resource of the kind is served any more
	kindGoneEvent
	// barrierEvent: closes done once every change queued before it is
	// applied
	barrierEvent
)

// graphChange is one informer event (or a virtual delete the workers
// ask for after the server answered that an object does not exist),
// queued on garbage_collector_graph_changes and applied to the graph in
// order by one goroutine, as kube's GraphBuilder does.
type graphChange struct {
	typ     changeType
	virtual bool
	gvk     schema.GroupVersionKind
	obj     metav1.Object
	old     metav1.Object // nil unless an update
	done    chan struct{} // a barrier's
}

// virtualObject is the metadata of an object the workers found absent.
func virtualDelete(id objectReference) *graphChange {
	gv, _ := schema.ParseGroupVersion(id.APIVersion)
	m := &metav1.ObjectMeta{Name: id.Name, Namespace: id.Namespace, UID: id.UID}
	return &graphChange{typ: deleteEvent, virtual: true, gvk: gv.WithKind(id.Kind), obj: m}
}

func identityOf(gvk schema.GroupVersionKind, m metav1.Object) objectReference {
	return objectReference{OwnerReference: metav1.OwnerReference{APIVersion: gvk.GroupVersion().String(), Kind: gvk.Kind,
		UID: m.GetUID(), Name: m.GetName()}, Namespace: m.GetNamespace()}
}

// processGraphChange applies one change to the graph and queues what it
// makes worth looking at: kube's processGraphChanges.
func (gc *GarbageCollector) processGraphChange(ev *graphChange) {
	g := gc.graph
	g.mu.Lock()
	defer g.mu.Unlock()
	if ev.typ == barrierEvent {
		close(ev.done)
		return
	}
	if ev.typ == kindGoneEvent {
		gc.processKindGone(ev.gvk.GroupKind())
		return
	}
	uid := ev.obj.GetUID()
	existing, found := g.nodes[uid]
	if found && !ev.virtual && existing.virtual {
		// The first sight of an object that dependents named: its
		// dependents that named it by other coordinates or from another
		// namespace may hold dangling references.
		observed := identityOf(ev.gvk, ev.obj)
		if observed != existing.identity {
			_, invalid := partitionDependents(dependentsOf(existing), observed)
			for _, d := range invalid {
				if observed.Namespace != "" && d.identity.Namespace != observed.Namespace {
					gc.reportInvalidNamespaceOwnerRef(d, observed.UID)
				}
				gc.attemptToDelete.Add(d)
			}
			existing = existing.clone()
			existing.identity = observed
			// a virtual node has no owners, and dependents name owners by
			// uid: the clone replaces it without relinking
			g.nodes[uid] = existing
		}
		existing.virtual = false
	}
	switch {
	case (ev.typ == addEvent || ev.typ == updateEvent) && !found:
		n := &node{identity: identityOf(ev.gvk, ev.obj), owners: ev.obj.GetOwnerReferences(),
			beingDeleted:       ev.obj.GetDeletionTimestamp() != nil,
			deletingDependents: ev.obj.GetDeletionTimestamp() != nil && hasFinalizer(ev.obj, metav1.FinalizerDeleteDependents)}
		g.nodes[uid] = n
		gc.addDependentToOwners(n, n.owners)
		gc.processTransitions(ev.old, ev.obj, n)
	case ev.typ == addEvent || ev.typ == updateEvent:
		// the identity may move to another version of the kind
		existing.identity = identityOf(ev.gvk, ev.obj)
		added, removed, changed := referencesDiffs(existing.owners, ev.obj.GetOwnerReferences())
		if len(added)+len(removed)+len(changed) > 0 {
			gc.addUnblockedOwnersToDeleteQueue(removed, changed)
			existing.owners = ev.obj.GetOwnerReferences()
			gc.addDependentToOwners(existing, added)
			gc.removeDependentFromOwners(existing, removed)
		}
		if ev.obj.GetDeletionTimestamp() != nil {
			existing.beingDeleted = true
		}
		gc.processTransitions(ev.old, ev.obj, existing)
	case ev.typ == deleteEvent:
		if !found {
			return
		}
		gc.processDelete(ev, existing)
	}
}

// processDelete removes a node on an informer's delete event, or on a
// virtual one when the server answered that the identity it was asked
// about does not exist; dependents and waiting owners are queued.
func (gc *GarbageCollector) processDelete(ev *graphChange, existing *node) {
	g := gc.graph
	deleted := identityOf(ev.gvk, ev.obj)
	remove := true
	if ev.virtual {
		switch {
		case existing.virtual:
			// Unsure of the owner's coordinates: dependents that name it
			// otherwise keep the node, under one of their identities.
			matching, nonmatching := partitionDependents(dependentsOf(existing), deleted)
			if len(nonmatching) > 0 {
				remove = false
				if len(matching) > 0 {
					gc.absentOwners.add(deleted)
					for _, d := range matching {
						gc.attemptToDelete.Add(d)
					}
				}
				if existing.identity == deleted {
					if alt := alternateOwnerIdentity(nonmatching, deleted); alt != nil {
						n := existing.clone()
						n.identity = *alt
						g.nodes[n.identity.UID] = n
						gc.attemptToDelete.AddRateLimited(n)
					}
				}
			}
		case existing.identity != deleted:
			// The object was observed under other coordinates: only the
			// dependents that named the absent ones are affected.
			remove = false
			matching, _ := partitionDependents(dependentsOf(existing), deleted)
			if len(matching) > 0 {
				gc.absentOwners.add(deleted)
				for _, d := range matching {
					gc.attemptToDelete.Add(d)
				}
			}
		}
	}
	if !remove {
		return
	}
	delete(g.nodes, existing.identity.UID)
	gc.removeDependentFromOwners(existing, existing.owners)
	if len(existing.dependents) > 0 {
		gc.absentOwners.add(deleted)
	}
	for d := range existing.dependents {
		gc.attemptToDelete.Add(d)
	}
	for _, ref := range existing.owners {
		if owner, ok := g.nodes[ref.UID]; ok && owner.deletingDependents {
			// it may have been the last dependent its owner waited for
			gc.attemptToDelete.Add(owner)
		}
	}
}

// processKindGone deletes from the graph the observed objects of a kind
// that is no longer served, as if their informer had reported it.
func (gc *GarbageCollector) processKindGone(gk schema.GroupKind) {
	var gone []*node
	for _, n := range gc.graph.nodes {
		gv, err := schema.ParseGroupVersion(n.identity.APIVersion)
		if err == nil && !n.virtual && gv.Group == gk.Group && n.identity.Kind == gk.Kind {
			gone = append(gone, n)
		}
	}
	for _, n := range gone {
		if gc.graph.nodes[n.identity.UID] != n {
			continue
		}
		gv, _ := schema.ParseGroupVersion(n.identity.APIVersion)
		m := &metav1.ObjectMeta{Name: n.identity.Name, Namespace: n.identity.Namespace, UID: n.identity.UID}
		gc.processDelete(&graphChange{typ: deleteEvent, gvk: gv.WithKind(n.identity.Kind), obj: m}, n)
	}
}

func dependentsOf(n *node) []*node {
	out := make([]*node, 0, len(n.dependents))
	for d := range n.dependents {
		out = append(out, d)
	}
	return out
}

// addDependentToOwners adds n to the dependents of the owners refs name,
// making virtual nodes for owners not seen yet (queued, so that the
// workers ask the server whether they exist), and queues n when a
// reference does not match what was observed of its owner.
func (gc *GarbageCollector) addDependentToOwners(n *node, refs []metav1.OwnerReference) {
	g := gc.graph
	suspect := false
	for _, ref := range refs {
		owner, ok := g.nodes[ref.UID]
		if !ok {
			owner = &node{identity: objectReference{OwnerReference: coordinates(ref), Namespace: n.identity.Namespace},
				virtual: true}
			g.nodes[ref.UID] = owner
		}
		if owner.dependents == nil {
			owner.dependents = map[*node]struct{}{}
		}
		owner.dependents[n] = struct{}{}
		switch {
		case !ok:
			gc.attemptToDelete.Add(owner)
		case suspect:
		case owner.identity.Namespace != "" && owner.identity.Namespace != n.identity.Namespace:
			if !owner.virtual {
				// an observed namespaced owner elsewhere: certainly wrong
				gc.reportInvalidNamespaceOwnerRef(n, ref.UID)
			}
			suspect = true
		case !sameCoordinates(ref, owner.identity.OwnerReference):
			suspect = true
		case owner.identity.Namespace == "" && n.identity.Namespace != "" && owner.virtual:
			// a virtual owner taken as cluster-scoped: have it verified
			gc.attemptToDelete.Add(owner)
		}
	}
	if suspect {
		gc.attemptToDelete.Add(n)
	}
}

// removeDependentFromOwners removes n from the dependents of the owners
// refs name.
func (gc *GarbageCollector) removeDependentFromOwners(n *node, refs []metav1.OwnerReference) {
	for _, ref := range refs {
		if owner, ok := gc.graph.nodes[ref.UID]; ok {
			delete(owner.dependents, n)
		}
	}
}

// addUnblockedOwnersToDeleteQueue queues the owners that a dependent no
// longer blocks (its reference was removed, or lost blockOwnerDeletion):
// one waiting for its dependents (foreground) may now go.
func (gc *GarbageCollector) addUnblockedOwnersToDeleteQueue(removed []metav1.OwnerReference, changed [][2]metav1.OwnerReference) {
	queue := func(uid types.UID) {
		if owner, ok := gc.graph.nodes[uid]; ok {
			gc.attemptToDelete.Add(owner)
		}
	}
	for _, ref := range removed {
		if boolValue(ref.BlockOwnerDeletion) {
			queue(ref.UID)
		}
	}
	for _, c := range changed {
		if boolValue(c[0].BlockOwnerDeletion) && !boolValue(c[1].BlockOwnerDeletion) {
			queue(c[1].UID)
		}
	}
}

// processTransitions starts an orphaning, or a foreground deletion, when
// the object just began being deleted with the finalizer that asks it.
func (gc *GarbageCollector) processTransitions(old, cur metav1.Object, n *node) {
	if deletionStartsWithFinalizer(old, cur, metav1.FinalizerOrphanDependents) {
		gc.attemptToOrphan.Add(n)
		return
	}
	if deletionStartsWithFinalizer(old, cur, metav1.FinalizerDeleteDependents) {
		n.deletingDependents = true
		for d := range n.dependents {
			gc.attemptToDelete.Add(d)
		}
		gc.attemptToDelete.Add(n)
	}
}

// reportInvalidNamespaceOwnerRef records kube's warning event on n, whose
// reference to uid names an owner that lives in another namespace (or a
// namespaced owner of a cluster-scoped object).
func (gc *GarbageCollector) reportInvalidNamespaceOwnerRef(n *node, uid types.UID) {
	for _, ref := range n.owners {
		if ref.UID != uid {
			continue
		}
		invalid := objectReference{OwnerReference: coordinates(ref), Namespace: n.identity.Namespace}
		klog.V(2).InfoS("garbage collector: an object references an owner but does not match namespaces", "item", n.identity.String(), "owner", invalid.String())
		obj := &corev1.ObjectReference{Kind: n.identity.Kind, APIVersion: n.identity.APIVersion, Namespace: n.identity.Namespace,
			Name: n.identity.Name, UID: n.identity.UID}
		gc.recorder.Eventf(obj, corev1.EventTypeWarning, "OwnerRefInvalidNamespace", "ownerRef %s does not exist in namespace %q", invalid, n.identity.Namespace)
		return
	}
}
