// Package storagetest holds what the storage packages' tests share: the
// ConfigMaps they store and read back. Tests import it; kapi does not.
package storagetest

import (
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"

	"kapi/internal/metrics"
	"kapi/internal/storage"
)

// CM is ConfigMap ns/name with the label l=label.
func CM(ns, name, label string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"l": label}}}
}

// RV is the resourceVersion of obj, a ConfigMap, as a number; the test
// fails when it is not one.
func RV(t testing.TB, obj runtime.Object) int64 {
	t.Helper()
	n, err := strconv.ParseInt(obj.(*corev1.ConfigMap).ResourceVersion, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Write is an UpdateFunc that always writes what f makes of the current
// object.
func Write(f func(cur runtime.Object) (runtime.Object, error)) storage.UpdateFunc {
	return func(cur runtime.Object) (storage.Decision, error) {
		obj, err := f(cur)
		return storage.WriteObject(obj), err
	}
}

// Next is w's next event; the test fails when none comes within 10 s.
func Next(t testing.TB, w watch.Interface) watch.Event {
	t.Helper()
	select {
	case ev := <-w.ResultChan():
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no watch event within 10 s")
	}
	return watch.Event{}
}

// Metric is the value of the series of the metric name in kapi's registry
// whose labels are exactly labels (a histogram's: its count of
// observations), and whether the series exists.
func Metric(t testing.TB, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	v, ok, err := metrics.Find(metrics.Registry, name, labels)
	if err != nil {
		t.Fatal(err)
	}
	return v, ok
}
