package endpoints

import (
	"net/http"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// list serves GET of a collection.
func (h *Resources) list(w http.ResponseWriter, r *http.Request, s *scope) {
	var opts metav1.ListOptions
	if err := decodeOptions(r, &opts); err != nil {
		WriteError(w, r, err)
		return
	}
	// The list is only encoded: share the cache's objects, whose encodings
	// are kept with them.
	shared, err := s.store.ListShared(r.Context(), s.namespace(), &opts)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	if writeSharedList(w, r, s.out, shared) {
		return
	}
	list, err := shared.Typed()
	if err != nil {
		WriteError(w, r, err)
		return
	}
	// Items of a built-in list carry no apiVersion and kind, as
	// kube-apiserver's.
	if !shared.ItemKinds {
		meta.EachListItem(list, func(o runtimeObject) error {
			o.GetObjectKind().SetGroupVersionKind(schema.GroupVersionKind{})
			return nil
		})
	}
	obj, err := transform(r, s, list, true)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	WriteObject(w, r, http.StatusOK, s.out, obj)
}
