package endpoints

import (
	"context"
	"net/http"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"kapi/internal/registry"
)

// update serves PUT of an object or its status: the body replaces the
// stored object if its resourceVersion (when given) is still current.
func (h *Resources) update(w http.ResponseWriter, r *http.Request, s *scope) {
	var opts metav1.UpdateOptions
	dry, err := writeOptions(r, &opts, &opts.DryRun)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	obj, err := readObject(w, r, s)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	manager, err := managerName(r, opts.FieldManager)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	newObj := func(ctx context.Context, old runtime.Object) (runtime.Object, error) {
		return h.trackUpdate(s, old, obj.DeepCopyObject(), manager), nil
	}
	h.finishUpdate(w, r, s, newObj, h.admit(w, r, s, &opts, dry), dry)
}

// finishUpdate runs the update and writes 200 OK, or 201 Created when it
// created the object.
func (h *Resources) finishUpdate(w http.ResponseWriter, r *http.Request, s *scope, newObj registry.UpdatedObject, adm registry.Admission, dry bool) {
	out, created, err := s.store.Update(r.Context(), s.namespace(), s.info.Name, s.sub, newObj, adm, dry)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	code := http.StatusOK
	if created {
		code = http.StatusCreated
	}
	respond(w, r, s, code, out)
}
