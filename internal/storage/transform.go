package storage

import (
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
)

// Transformed is ev as a WatchOptions.Transform makes it: the same event
// without one or for an ERROR, the transformed object, or an ERROR event
// carrying the transform's error as an internal error.
func Transformed(transform func(runtime.Object) (runtime.Object, error), ev watch.Event) watch.Event {
	if transform == nil || ev.Type == watch.Error {
		return ev
	}
	if r, ok := ev.Object.(*RevisionEvents); ok && ev.Type == Revision {
		out := &RevisionEvents{Events: make([]watch.Event, len(r.Events)), Decoded: r.Decoded}
		for i, e := range r.Events {
			if out.Events[i] = Transformed(transform, e); out.Events[i].Type == watch.Error {
				return out.Events[i]
			}
		}
		return watch.Event{Type: Revision, Object: out}
	}
	obj, err := transform(ev.Object)
	if err != nil {
		return watch.Event{Type: watch.Error, Object: &apierrors.NewInternalError(err).ErrStatus}
	}
	ev.Object = obj
	return ev
}
