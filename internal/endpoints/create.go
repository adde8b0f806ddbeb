package endpoints

import (
	"net/http"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"kapi/internal/admission"
)

// create serves POST to a collection: decode, admit, store; 201 Created
// with the stored object.
func (h *Resources) create(w http.ResponseWriter, r *http.Request, s *scope) {
	var opts metav1.CreateOptions
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
	ns := s.namespace()
	if m, err := metaAccessor(obj); err == nil && s.store.R.Namespaced && m.GetNamespace() != "" && m.GetNamespace() != ns {
		WriteError(w, r, badNamespace())
		return
	}
	name := ""
	if m, err := metaAccessor(obj); err == nil {
		name = m.GetName()
	}
	if err := h.admission.Admit(r.Context(), &admission.Attributes{Operation: admission.Create, Resource: s.store.R,
		Namespace: ns, Name: name, Object: obj, DryRun: dry}); err != nil {
		WriteError(w, r, err)
		return
	}
	out, err := s.store.Create(r.Context(), ns, obj, dry)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	if out, err = transform(r, s, out, false); err != nil {
		WriteError(w, r, err)
		return
	}
	WriteObject(w, r, http.StatusCreated, s.out, out)
}
