package endpoints

import (
	"context"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
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
	if s.store.R.Compute != nil {
		h.compute(w, r, s, obj, &opts, dry)
		return
	}
	manager, err := managerName(r, opts.FieldManager)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	obj = h.trackUpdate(s, nil, obj, manager)
	out, err := s.store.Create(r.Context(), ns, obj, h.admit(w, r, s, &opts, dry), dry)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	respond(w, r, s, http.StatusCreated, out)
}

// compute answers a create of a resource that is never stored (an access
// review): 201 with the computed object. Admission sees it as a create,
// as in kube-apiserver: the mutating phase here, the validating phase
// when the row's own checks have passed (Compute calls it).
func (h *Resources) compute(w http.ResponseWriter, r *http.Request, s *scope, obj runtime.Object, opts *metav1.CreateOptions, dry bool) {
	if m, err := metaAccessor(obj); err == nil && s.store.R.Namespaced {
		m.SetNamespace(s.namespace())
	}
	adm := h.admit(w, r, s, opts, dry)
	obj, err := adm.Mutate(r.Context(), obj, nil)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	// Nothing is stored, so what validation charges (a quota's count) is
	// not written.
	validate := func(ctx context.Context, obj runtime.Object) error {
		_, err := adm.Validate(ctx, obj, nil)
		return err
	}
	out, err := s.store.R.Compute(r.Context(), obj, opts, validate)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	if writeStatusAnswer(w, r, out) {
		return
	}
	out.GetObjectKind().SetGroupVersionKind(s.store.R.GVK())
	respond(w, r, s, http.StatusCreated, out)
}

// action serves a POST to a subresource that computes something for an
// existing object (serviceaccounts/token): 201 with the answer. The body
// passes both phases of admission first, as a create of the subresource
// (kube's NodeRestriction checks a node's TokenRequest there).
func (h *Resources) action(w http.ResponseWriter, r *http.Request, s *scope) {
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
	adm := h.admit(w, r, s, &opts, dry)
	if obj, err = adm.Mutate(r.Context(), obj, nil); err != nil {
		WriteError(w, r, err)
		return
	}
	validate := func(ctx context.Context, obj runtime.Object) error {
		_, err := adm.Validate(ctx, obj, nil)
		return err
	}
	out, err := s.sub.Action(r.Context(), s.namespace(), s.info.Name, obj, &opts, validate)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	if writeStatusAnswer(w, r, out) {
		return
	}
	out.GetObjectKind().SetGroupVersionKind(s.sub.Kind)
	WriteObject(w, r, http.StatusCreated, s.out, out)
}

// writeStatusAnswer sends out if it is a Status, with its code (201 for
// none), as kube sends a binding's or an eviction's answer.
func writeStatusAnswer(w http.ResponseWriter, r *http.Request, out runtime.Object) bool {
	st, ok := out.(*metav1.Status)
	if !ok {
		return false
	}
	if st.Code == 0 {
		st.Code = http.StatusCreated
	}
	writeStatus(w, r, &apierrors.StatusError{ErrStatus: *st})
	return true
}
