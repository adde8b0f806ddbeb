package registry

import (
	"context"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	"kapi/internal/storage"
)

// ListSharedSelected is ListShared for a caller inside kapi that holds
// its label selector already parsed and selects by labels alone: the
// services proxy asks for a Service's EndpointSlices
// (kubernetes.io/service-name=web) on every proxied request, and parsing
// the selector's text and building each object's field set were a
// good part of that request's cost. resourceVersion is a list's: "0"
// any (the watch cache as it is), "" a consistent read, N not older
// than N. The items may be the watch cache's own: read them, never
// change them.
func (st *Store) ListSharedSelected(ctx context.Context, ns, resourceVersion string, sel labels.Selector) (*SharedList, error) {
	lo := storage.ListOptions{ReadOptions: storage.ReadOptions{Shared: true}}
	if resourceVersion != "" {
		rv, err := parseRV(resourceVersion)
		if err != nil {
			return nil, err
		}
		lo.ResourceVersion = rv
		lo.AnyVersion = resourceVersion == "0"
	}
	if sel != nil && !sel.Empty() {
		lo.Predicate = storage.Predicate{Label: sel, Attrs: labelsOnly}
	}
	return st.listWith(ctx, ns, lo)
}

// labelsOnly is a predicate's Attrs for a label selector alone: no
// field set is built.
func labelsOnly(obj runtime.Object) (labels.Set, fields.Set, error) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, nil, err
	}
	return labels.Set(m.GetLabels()), nil, nil
}
