package storage

import (
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
)

// Revision is the Type of an event that carries every change one revision
// made to a watch's keys, when there were several (a transaction that
// wrote several objects of the resource, as the RBAC bootstrap does) and
// the watch asked for them together (WatchOptions.WholeRevisions), or
// every revision's changes when it asked for them stamped
// (WatchOptions.Stamped). Its Object is a *RevisionEvents.
const Revision watch.EventType = "REVISION"

// RevisionEvents are the changes of one revision, in order.
type RevisionEvents struct {
	Events []watch.Event
	// Decoded is when the watch had decoded them (WatchOptions.Stamped);
	// zero when not asked for.
	Decoded time.Time
}

// GetObjectKind: it has none.
func (*RevisionEvents) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }

// DeepCopyObject copies every event's object.
func (r *RevisionEvents) DeepCopyObject() runtime.Object {
	out := &RevisionEvents{Events: make([]watch.Event, len(r.Events)), Decoded: r.Decoded}
	for i, e := range r.Events {
		out.Events[i] = watch.Event{Type: e.Type, Object: e.Object.DeepCopyObject()}
	}
	return out
}
