package registry_test

import (
	"context"
	"testing"

	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	"kapi/internal/registry"
	"kapi/internal/registry/builtin"
	"kapi/internal/storage"
)

// sliceStorage serves a list of cached EndpointSlices as the watch cache
// does (the predicate applied, the cached objects themselves to a
// shared reader) and records the options it was asked with.
type sliceStorage struct {
	storage.Interface
	items []*storage.Cached
	asked []storage.ListOptions
}

func (s *sliceStorage) List(_ context.Context, prefix string, opts storage.ListOptions) (*storage.ListResult, error) {
	s.asked = append(s.asked, opts)
	res := &storage.ListResult{ResourceVersion: 7}
	for _, c := range s.items {
		ok, err := opts.Predicate.Matches(c.Object())
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		if opts.Shared {
			res.Items = append(res.Items, c)
		} else {
			res.Items = append(res.Items, c.DeepCopyObject())
		}
	}
	return res, nil
}

func slice(name string, lbls map[string]string) *storage.Cached {
	es := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, Labels: lbls}}
	es.SetGroupVersionKind(discoveryv1.SchemeGroupVersion.WithKind("EndpointSlice"))
	return storage.NewCached(es)
}

// TestListSharedSelected: the objects whose labels match a parsed
// selector, the cache's own (not copies), read at the resourceVersion
// asked for; a bad resourceVersion is kube's 400.
func TestListSharedSelected(t *testing.T) {
	row := builtin.Find(discoveryv1.GroupName, "endpointslices")
	if row == nil {
		t.Fatal("no endpointslices row")
	}
	web := slice("web-1", map[string]string{discoveryv1.LabelServiceName: "web"})
	st := &sliceStorage{items: []*storage.Cached{
		web,
		slice("other-1", map[string]string{discoveryv1.LabelServiceName: "other"}),
		slice("bare", nil),
	}}
	store := registry.NewStore(row, st)
	sel := labels.SelectorFromSet(labels.Set{discoveryv1.LabelServiceName: "web"})

	l, err := store.ListSharedSelected(context.Background(), "ns", "0", sel)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Items) != 1 || l.Items[0] != runtime.Object(web) {
		t.Fatalf("items %v, want web-1's cached object itself", l.Items)
	}
	if got := st.asked[0]; !got.Shared || !got.AnyVersion || got.ResourceVersion != 0 {
		t.Errorf("resourceVersion 0 asked the storage %+v, want a shared read of any version", got.ReadOptions)
	}
	if rv := l.List.(*discoveryv1.EndpointSliceList).ResourceVersion; rv != "7" {
		t.Errorf("list resourceVersion %q, want 7", rv)
	}

	if _, err := store.ListSharedSelected(context.Background(), "ns", "", sel); err != nil {
		t.Fatal(err)
	}
	if got := st.asked[1]; got.AnyVersion || got.ResourceVersion != 0 {
		t.Errorf(`resourceVersion "" asked the storage %+v, want a consistent read`, got.ReadOptions)
	}

	l, err = store.ListSharedSelected(context.Background(), "ns", "0", labels.Everything())
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Items) != 3 {
		t.Errorf("everything: %d items, want 3", len(l.Items))
	}

	if _, err := store.ListSharedSelected(context.Background(), "ns", "x", sel); !apierrors.IsBadRequest(err) {
		t.Errorf("resourceVersion x: %v, want a BadRequest", err)
	}
}
