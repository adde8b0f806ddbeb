package quota

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"kapi/internal/registry"
)

// side is one side of a write, the object before it or after it: what
// the object uses, and the facts that decide which quotas count it. A
// missing object (before a create, after a delete) uses nothing and no
// quota counts it.
type side struct {
	exists bool
	usage  corev1.ResourceList
	facts  scopeFacts
}

func sideOf(r *registry.Resource, obj runtime.Object) side {
	if obj == nil {
		return side{}
	}
	return side{exists: true, usage: usage(r, obj), facts: factsOf(obj)}
}

// countedBy reports whether q counts this side's object.
func (s side) countedBy(q *corev1.ResourceQuota) bool { return s.exists && selects(q, s.facts) }

// changes reports whether a write from before to now can change any
// quota's usage: what the object uses changes, or which quotas count it
// (a pod given an active deadline, a claim given another volume
// attributes class). A write that cannot needs no read of the quotas.
func changes(now, before side) bool {
	return len(delta(now.usage, before.usage)) > 0 || !now.facts.equal(before.facts)
}

// charge is what a write adds to q's usage (negative: gives back): the
// new object's usage if q counts it, less the old object's if q counted
// it. kube's CheckRequest charges each quota that counts the new object
// its usage, less the old usage if the quota counted the old object
// too; a quota that counted only the old object keeps the usage until
// kube's controller recounts it. kapi gives that usage back in the
// write, as it gives back a delete's: both count what the objects are.
func charge(q *corev1.ResourceQuota, now, before side) corev1.ResourceList {
	var after, was corev1.ResourceList
	if now.countedBy(q) {
		after = now.usage
	}
	if before.countedBy(q) {
		was = before.usage
	}
	return delta(after, was)
}

// additions are d's positive parts.
func additions(d corev1.ResourceList) corev1.ResourceList {
	out := corev1.ResourceList{}
	for n, v := range d {
		if v.Sign() > 0 {
			out[n] = v
		}
	}
	return out
}
