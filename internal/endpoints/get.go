package endpoints

import (
	"net/http"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// get serves GET of one object (or its status, or its Scale).
func (h *Resources) get(w http.ResponseWriter, r *http.Request, s *scope) {
	var opts metav1.GetOptions
	if err := decodeOptions(r, &opts); err != nil {
		WriteError(w, r, err)
		return
	}
	get := s.store.GetShared // the answer is only encoded: share the cache's object
	if s.info.Subresource == "scale" {
		get = s.store.GetScale
	}
	obj, err := get(r.Context(), s.namespace(), s.info.Name, &opts)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	respond(w, r, s, http.StatusOK, obj)
}
