package endpoints

import (
	"context"
	"fmt"
	"net/http"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"

	"kapi/internal/registry"
)

// apply serves server-side apply (PATCH application/apply-patch+yaml):
// the applied configuration is merged into the stored object by
// structured-merge-diff, which records what fieldManager owns and reports
// a field another manager owns as a 409 conflict unless force=true. An
// object that does not exist is created.
func (h *Resources) apply(w http.ResponseWriter, r *http.Request, s *scope, opts *metav1.PatchOptions, dry bool) {
	if opts.FieldManager == "" {
		WriteError(w, r, apierrors.NewInvalid(metav1.SchemeGroupVersion.WithKind("PatchOptions").GroupKind(), "",
			field.ErrorList{field.Required(field.NewPath("fieldManager"), "is required for apply patch")}))
		return
	}
	if _, err := managerName(r, opts.FieldManager); err != nil {
		WriteError(w, r, err)
		return
	}
	fm := h.fieldManager(s)
	if fm == nil {
		WriteError(w, r, statusError(http.StatusUnsupportedMediaType, metav1.StatusReasonUnsupportedMediaType,
			fmt.Sprintf("apply patches are not supported for %s", s.store.R.Name)))
		return
	}
	body, err := readBody(r)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	// Through JSON, so that integers stay integers (int64) as in every
	// other unstructured object.
	patch := &unstructured.Unstructured{Object: map[string]interface{}{}}
	j, err := yaml.YAMLToJSON(body)
	if err == nil {
		err = utiljson.Unmarshal(j, &patch.Object)
	}
	if err != nil {
		WriteError(w, r, apierrors.NewBadRequest(fmt.Sprintf("error decoding YAML: %v", err)))
		return
	}
	want := s.store.R.GVK()
	if got := patch.GroupVersionKind(); got != want {
		WriteError(w, r, apierrors.NewBadRequest(fmt.Sprintf("the apply configuration is a %s, the URL names a %s", got, want)))
		return
	}
	if patch.GetName() != "" && patch.GetName() != s.info.Name {
		WriteError(w, r, apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", patch.GetName(), s.info.Name)))
		return
	}
	validation, err := fieldValidation(r)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	// Duplicate fields in the configuration: checked, as kube-apiserver
	// checks them, once the apply itself succeeded.
	var strictErr error
	if validation != metav1.FieldValidationIgnore {
		strictErr = yaml.UnmarshalStrict(body, &map[string]any{})
	}
	var warned sync.Once
	force := opts.Force != nil && *opts.Force
	applied := func(live runtime.Object) (runtime.Object, error) {
		out, err := fm.Apply(live, patch, opts.FieldManager, force)
		if err != nil {
			return nil, applyError(err)
		}
		if strictErr != nil {
			if validation == metav1.FieldValidationStrict {
				return nil, apierrors.NewBadRequest(fmt.Sprintf("error strict decoding patch: %v", strictErr))
			}
			warned.Do(func() { addStrictDecodingWarnings(w, []error{strictErr}) })
		}
		// The applied object is finished as a decoded one is (a custom
		// resource's defaults).
		if decoded := s.decoded(); decoded != nil {
			if _, err := decoded(out); err != nil {
				return nil, apierrors.NewBadRequest(err.Error())
			}
		}
		return out, nil
	}
	newObj := func(ctx context.Context, old runtime.Object) (runtime.Object, error) {
		if old == nil {
			return nil, apierrors.NewNotFound(s.store.GroupResource(), s.info.Name)
		}
		return applied(old)
	}
	adm := h.admit(w, r, s, updateOptions(opts), dry)
	out, _, err := s.store.Update(r.Context(), s.namespace(), s.info.Name, s.sub, newObj, adm, dry)
	if apierrors.IsNotFound(err) && s.sub == nil {
		h.applyCreate(w, r, s, applied, adm, dry)
		return
	}
	if err != nil {
		WriteError(w, r, err)
		return
	}
	respond(w, r, s, http.StatusOK, out)
}

// applyCreate creates the object an apply names when it does not exist:
// the configuration applied to an empty object.
func (h *Resources) applyCreate(w http.ResponseWriter, r *http.Request, s *scope, applied func(runtime.Object) (runtime.Object, error), adm registry.Admission, dry bool) {
	empty := s.store.New()
	empty.GetObjectKind().SetGroupVersionKind(s.store.R.GVK())
	obj, err := applied(empty)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	m, err := metaAccessor(obj)
	if err != nil {
		WriteError(w, r, apierrors.NewInternalError(err))
		return
	}
	m.SetName(s.info.Name)
	out, err := s.store.Create(r.Context(), s.namespace(), obj, adm, dry)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	respond(w, r, s, http.StatusCreated, out)
}
