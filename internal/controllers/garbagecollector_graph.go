package controllers

import (
	"fmt"
	"maps"
	"sort"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// objectReference names an object of the owner graph: an owner
// reference's coordinates (apiVersion, kind, name, uid) and the namespace
// the object lives in ("" for cluster-scoped objects). An owner reference
// has no namespace: a namespaced dependent's owner is looked up in the
// dependent's namespace.
type objectReference struct {
	metav1.OwnerReference
	Namespace string
}

// String is kube-controller-manager's, which the OwnerRefInvalidNamespace
// event's message quotes.
func (r objectReference) String() string {
	return fmt.Sprintf("[%s/%s, namespace: %s, name: %s, uid: %s]", r.APIVersion, r.Kind, r.Namespace, r.Name, r.UID)
}

// coordinates keeps what identifies an owner in a reference (its
// controller and blockOwnerDeletion flags say nothing about who it is).
func coordinates(ref metav1.OwnerReference) metav1.OwnerReference {
	return metav1.OwnerReference{APIVersion: ref.APIVersion, Kind: ref.Kind, Name: ref.Name, UID: ref.UID}
}

func sameCoordinates(a, b metav1.OwnerReference) bool {
	return a.UID == b.UID && a.Name == b.Name && a.Kind == b.Kind && a.APIVersion == b.APIVersion
}

// node is an object of the graph. A virtual node stands for an owner that
// dependents name but that no informer has reported (yet, or ever: a
// dangling reference); the first informer event about its uid makes it
// observed. Every field is guarded by the graph's lock; only the graph
// builder's goroutine changes them.
type node struct {
	identity objectReference
	// dependents are the nodes whose ownerReferences name this uid; nil
	// until it has one (most objects never do: a map each was a fifth of
	// the graph's memory).
	dependents map[*node]struct{}
	owners     []metav1.OwnerReference
	// beingDeleted: the object has a deletionTimestamp;
	// deletingDependents: and the foregroundDeletion finalizer, so it
	// waits for its blocking dependents to go.
	beingDeleted       bool
	deletingDependents bool
	virtual            bool
}

func (n *node) clone() *node {
	c := *n
	c.dependents = maps.Clone(n.dependents) // nil stays nil
	c.owners = append([]metav1.OwnerReference(nil), n.owners...)
	return &c
}

// graph is the owner graph by uid, behind one lock: the builder holds it
// while it applies an event, the workers while they read a node.
type graph struct {
	mu    sync.RWMutex
	nodes map[types.UID]*node
}

func newGraph() *graph { return &graph{nodes: map[types.UID]*node{}} }

func (g *graph) get(uid types.UID) (*node, bool) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	n, ok := g.nodes[uid]
	return n, ok
}

// view is a consistent copy of what the workers read of a node.
type nodeView struct {
	identity           objectReference
	observed           bool
	beingDeleted       bool
	deletingDependents bool
	dependents         []*node
}

func (g *graph) view(n *node) nodeView {
	g.mu.RLock()
	defer g.mu.RUnlock()
	v := nodeView{identity: n.identity, observed: !n.virtual, beingDeleted: n.beingDeleted, deletingDependents: n.deletingDependents}
	for d := range n.dependents {
		v.dependents = append(v.dependents, d)
	}
	sort.Slice(v.dependents, func(i, j int) bool { return v.dependents[i].identity.UID < v.dependents[j].identity.UID })
	return v
}

// blockingDependents are the dependents of n whose reference to n has
// blockOwnerDeletion: a foreground deletion of n waits for them.
func (g *graph) blockingDependents(n *node) []*node {
	g.mu.RLock()
	defer g.mu.RUnlock()
	var out []*node
	for d := range n.dependents {
		for _, ref := range d.owners {
			if ref.UID == n.identity.UID && ref.BlockOwnerDeletion != nil && *ref.BlockOwnerDeletion {
				out = append(out, d)
			}
		}
	}
	return out
}

func (g *graph) isDeletingDependents(n *node) bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return n.deletingDependents
}

func (g *graph) ownersOf(n *node) []metav1.OwnerReference {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return append([]metav1.OwnerReference(nil), n.owners...)
}

// referencesDiffs compares two lists of owner references by uid: added
// and removed references, and those whose other fields changed (as
// old/new pairs).
func referencesDiffs(old, cur []metav1.OwnerReference) (added, removed []metav1.OwnerReference, changed [][2]metav1.OwnerReference) {
	oldByUID := map[types.UID]metav1.OwnerReference{}
	for _, r := range old {
		oldByUID[r.UID] = r
	}
	for _, r := range cur {
		o, ok := oldByUID[r.UID]
		switch {
		case !ok:
			added = append(added, r)
		case !sameReference(o, r):
			changed = append(changed, [2]metav1.OwnerReference{o, r})
		}
		delete(oldByUID, r.UID)
	}
	for _, r := range old {
		if _, ok := oldByUID[r.UID]; ok {
			removed = append(removed, r)
		}
	}
	return added, removed, changed
}

func sameReference(a, b metav1.OwnerReference) bool {
	return sameCoordinates(a, b) && boolValue(a.Controller) == boolValue(b.Controller) && boolValue(a.BlockOwnerDeletion) == boolValue(b.BlockOwnerDeletion)
}

func boolValue(b *bool) bool { return b != nil && *b }

// partitionDependents splits deps into those whose reference to the
// owner's uid matches identity (its coordinates, and its namespace for a
// namespaced owner) and those that name it otherwise; a dependent can be
// in both.
func partitionDependents(deps []*node, identity objectReference) (matching, nonmatching []*node) {
	namespaced := identity.Namespace != ""
	for _, d := range deps {
		match, mismatch := false, false
		if namespaced && d.identity.Namespace != identity.Namespace {
			mismatch = true
		} else {
			for _, ref := range d.owners {
				if ref.UID != identity.UID {
					continue
				}
				if sameCoordinates(ref, identity.OwnerReference) {
					match = true
				} else {
					mismatch = true
				}
			}
		}
		if match {
			matching = append(matching, d)
		}
		if mismatch {
			nonmatching = append(nonmatching, d)
		}
	}
	return matching, nonmatching
}

// alternateOwnerIdentity returns another identity by which deps name the
// owner whose identity absent was verified not to exist (other
// coordinates, or another namespace): the first one after absent in
// referenceLess order, else the first one; nil when there is none.
// (Kube's getAlternateOwnerIdentity: the order makes the collector try
// each identity in turn.)
func alternateOwnerIdentity(deps []*node, absent objectReference) *objectReference {
	clusterScoped := absent.Namespace == ""
	seen := map[objectReference]bool{absent: true}
	var first, following *objectReference
	for _, d := range deps {
		for _, ref := range d.owners {
			if ref.UID != absent.UID {
				continue
			}
			if sameCoordinates(ref, absent.OwnerReference) && (clusterScoped || absent.Namespace == d.identity.Namespace) {
				continue // the absent identity itself
			}
			id := objectReference{OwnerReference: coordinates(ref), Namespace: d.identity.Namespace}
			if clusterScoped && id.APIVersion == absent.APIVersion && id.Kind == absent.Kind {
				id.Namespace = "" // that kind is known cluster-scoped
			}
			if seen[id] {
				continue
			}
			seen[id] = true
			if first == nil || referenceLess(id, *first) {
				c := id
				first = &c
			}
			if referenceLess(absent, id) && (following == nil || referenceLess(id, *following)) {
				c := id
				following = &c
			}
		}
	}
	if following != nil {
		return following
	}
	return first
}

// referenceLess orders identities by kind, apiVersion, namespace, name
// and uid.
func referenceLess(a, b objectReference) bool {
	switch {
	case a.Kind != b.Kind:
		return a.Kind < b.Kind
	case a.APIVersion != b.APIVersion:
		return a.APIVersion < b.APIVersion
	case a.Namespace != b.Namespace:
		return a.Namespace < b.Namespace
	case a.Name != b.Name:
		return a.Name < b.Name
	}
	return a.UID < b.UID
}

func hasFinalizer(m metav1.Object, f string) bool {
	for _, x := range m.GetFinalizers() {
		if x == f {
			return true
		}
	}
	return false
}

// deletionStartsWithFinalizer reports whether cur is being deleted with
// finalizer f while old (nil when none) was not.
func deletionStartsWithFinalizer(old, cur metav1.Object, f string) bool {
	if cur.GetDeletionTimestamp() == nil || !hasFinalizer(cur, f) {
		return false
	}
	return old == nil || old.GetDeletionTimestamp() == nil || !hasFinalizer(old, f)
}
