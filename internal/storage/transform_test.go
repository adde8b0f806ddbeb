package storage

import (
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
)

// TestTransformedRevision: a REVISION event's changes are each
// transformed, and one that fails makes the whole event an ERROR.
func TestTransformedRevision(t *testing.T) {
	cm := func(name string) *corev1.ConfigMap {
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}}
	}
	rename := func(obj runtime.Object) (runtime.Object, error) {
		c := obj.(*corev1.ConfigMap).DeepCopy()
		if c.Name == "bad" {
			return nil, errors.New("no")
		}
		c.Name += "-served"
		return c, nil
	}
	ev := Transformed(rename, watch.Event{Type: Revision, Object: &RevisionEvents{Events: []watch.Event{
		{Type: watch.Added, Object: cm("x")}, {Type: watch.Modified, Object: cm("y")}}}})
	r, ok := ev.Object.(*RevisionEvents)
	if ev.Type != Revision || !ok || len(r.Events) != 2 ||
		r.Events[0].Type != watch.Added || r.Events[0].Object.(*corev1.ConfigMap).Name != "x-served" ||
		r.Events[1].Type != watch.Modified || r.Events[1].Object.(*corev1.ConfigMap).Name != "y-served" {
		t.Fatalf("transformed: %s %#v", ev.Type, ev.Object)
	}
	ev = Transformed(rename, watch.Event{Type: Revision, Object: &RevisionEvents{Events: []watch.Event{
		{Type: watch.Added, Object: cm("x")}, {Type: watch.Added, Object: cm("bad")}}}})
	if ev.Type != watch.Error {
		t.Fatalf("a failed transform gave %s", ev.Type)
	}
}
