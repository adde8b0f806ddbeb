package controllers

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"kapi/internal/registry"
	"kapi/internal/registry/builtin"
	"kapi/internal/storage"
)

// staleStorage is a watch cache that has not yet seen what etcd holds:
// lists at any version (resourceVersion=0) answer cached, consistent
// ones answer now.
type staleStorage struct {
	storage.Interface // nothing else is read
	cached, now       []runtime.Object
}

func (s staleStorage) List(_ context.Context, _ string, opts storage.ListOptions) (*storage.ListResult, error) {
	if opts.AnyVersion {
		return &storage.ListResult{Items: s.cached, ResourceVersion: 1}, nil
	}
	return &storage.ListResult{Items: s.now, ResourceVersion: 2}, nil
}

// TestNamespaceContentsReadConsistently: the namespace controller looks
// for what is left in a namespace as it is now, not as a lagging watch
// cache has it, as kube's reads it: an object created a moment before
// its namespace's deletion must be deleted (and waited for) before the
// namespace goes, or it outlives its namespace.
func TestNamespaceContentsReadConsistently(t *testing.T) {
	configMaps := builtin.Find("", "configmaps")
	if configMaps == nil {
		t.Fatal("no configmaps resource")
	}
	late := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "doomed", Name: "late", Finalizers: []string{"example.com/hold"}}}
	st := registry.NewStore(configMaps, staleStorage{now: []runtime.Object{late}})
	items, err := present(context.Background(), st, "doomed")
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 || items[0].GetName() != "late" {
		t.Fatalf("present found %d objects, want the one created a moment ago", len(items))
	}
}
