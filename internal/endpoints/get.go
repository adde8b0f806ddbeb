package endpoints

import (
	"net/http"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"kapi/internal/storage"
)

// get serves GET of one object (or its status, or its Scale).
func (h *Resources) get(w http.ResponseWriter, r *http.Request, s *scope) {
	var opts metav1.GetOptions
	if err := decodeOptions(r, &opts); err != nil {
		WriteError(w, r, err)
		return
	}
	// The answer is only encoded: share the cache's object.
	obj, err := s.store.GetShared(r.Context(), s.namespace(), s.info.Name, &opts)
	if err == nil && s.sub != nil && s.sub.View != nil {
		obj, err = s.sub.View(s.store.R, storage.Unwrap(obj))
	}
	if err != nil {
		WriteError(w, r, err)
		return
	}
	respond(w, r, s, http.StatusOK, obj)
}
