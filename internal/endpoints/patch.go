package endpoints

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"sync"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/mergepatch"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/apimachinery/pkg/util/validation/field"
	kjson "sigs.k8s.io/json"

	"kapi/internal/registry"
)

// patchers apply a patch of one content type to the JSON of an object.
var patchers = map[string]func(s *scope, original, patch []byte) ([]byte, error){
	string(jsonPatchType): func(_ *scope, original, patch []byte) ([]byte, error) {
		p, err := jsonpatch.DecodePatch(patch)
		if err != nil {
			return nil, apierrors.NewBadRequest(err.Error())
		}
		// json-patch v4 (kube's) dereferences the value of an add,
		// replace or test that has none: refused here instead, as
		// json-patch v5 does (FuzzPatch found the panic).
		for i, op := range p {
			if k := op.Kind(); (k == "add" || k == "replace" || k == "test") && op["value"] == nil {
				return nil, apierrors.NewBadRequest(fmt.Sprintf("the %s operation at index %d has no value", k, i))
			}
		}
		out, err := p.Apply(original)
		if err != nil {
			return nil, notApplied(err)
		}
		return out, nil
	},
	string(mergePatchType): func(_ *scope, original, patch []byte) ([]byte, error) {
		out, err := jsonpatch.MergePatch(original, patch)
		switch {
		case errors.Is(err, jsonpatch.ErrBadJSONPatch):
			return nil, apierrors.NewBadRequest(err.Error())
		case err != nil:
			return nil, unexpected(err)
		}
		return out, nil
	},
	string(strategicPatchType): func(s *scope, original, patch []byte) ([]byte, error) {
		out, err := strategicpatch.StrategicMergePatch(original, patch, s.newBody())
		switch {
		case err == nil:
			return out, nil
		case errors.Is(err, mergepatch.ErrNoListOfLists), errors.Is(err, mergepatch.ErrPatchContentNotMatchRetainKeys):
			return nil, notApplied(err)
		case errors.Is(err, mergepatch.ErrBadJSONDoc), errors.Is(err, mergepatch.ErrBadPatchFormatForPrimitiveList),
			errors.Is(err, mergepatch.ErrBadPatchFormatForRetainKeys), errors.Is(err, mergepatch.ErrBadPatchFormatForSetElementOrderList),
			errors.Is(err, mergepatch.ErrUnsupportedStrategicMergePatchFormat):
			return nil, apierrors.NewBadRequest(err.Error())
		}
		// kube passes any other error of the merge on as it is (an
		// unknown $patch directive): a 500 in its words.
		return nil, unexpected(err)
	},
}

// notApplied is kube's answer to a JSON patch that does not apply (a
// failed test, a path that is not there) and to a strategic merge patch
// of lists of lists: 422 in general words, the reason in its cause.
func notApplied(err error) error {
	return apierrors.NewGenericServerResponse(http.StatusUnprocessableEntity, "", schema.GroupResource{}, "", err.Error(), 0, false)
}

// unexpected is kube's answer to an error it has no status for: 500, no
// reason, the error's words.
func unexpected(err error) error {
	return &apierrors.StatusError{ErrStatus: metav1.Status{Status: metav1.StatusFailure, Code: http.StatusInternalServerError, Message: err.Error()}}
}

const (
	applyPatchType     = "application/apply-patch+yaml"
	jsonPatchType      = "application/json-patch+json"
	mergePatchType     = "application/merge-patch+json"
	strategicPatchType = "application/strategic-merge-patch+json"
)

// patch serves PATCH of an object or its status: the patch is applied to
// the stored object (again after a conflict) and the result is written as
// an update.
func (h *Resources) patch(w http.ResponseWriter, r *http.Request, s *scope) {
	var opts metav1.PatchOptions
	dry, err := writeOptions(r, &opts, &opts.DryRun)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == applyPatchType {
		h.apply(w, r, s, &opts, dry)
		return
	}
	if opts.Force != nil {
		WriteError(w, r, apierrors.NewInvalid(metav1.SchemeGroupVersion.WithKind("PatchOptions").GroupKind(), "",
			field.ErrorList{field.Forbidden(field.NewPath("force"), "may not be specified for non-apply patch")}))
		return
	}
	apply, ok := patchers[ct]
	if ct == strategicPatchType && !s.strategicMerge() {
		ok = false
	}
	if !ok {
		accepted := []string{jsonPatchType, mergePatchType, strategicPatchType, applyPatchType}
		if !s.strategicMerge() {
			accepted = []string{jsonPatchType, mergePatchType, applyPatchType}
		}
		WriteError(w, r, statusError(http.StatusUnsupportedMediaType, metav1.StatusReasonUnsupportedMediaType,
			"the body of the request was in an unknown format - accepted media types include: "+strings.Join(accepted, ", ")))
		return
	}
	manager, err := managerName(r, opts.FieldManager)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	validation, err := fieldValidation(r)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	patch, err := readBody(r)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	if !json.Valid(patch) {
		WriteError(w, r, apierrors.NewBadRequest("the patch is not valid JSON"))
		return
	}
	// Duplicate fields in the patch itself count as the result's unknown
	// fields do, as kube-apiserver counts them.
	var patchStrict []error
	if validation != metav1.FieldValidationIgnore && (ct == jsonPatchType || ct == mergePatchType) {
		var ops []map[string]any
		var fields map[string]any
		var into any = &fields
		if ct == jsonPatchType {
			into = &ops
		}
		strict, err := kjson.UnmarshalStrict(patch, into)
		if err != nil {
			WriteError(w, r, apierrors.NewBadRequest(fmt.Sprintf("error decoding patch: %v", err)))
			return
		}
		for _, e := range strict {
			if ct == jsonPatchType {
				e = fmt.Errorf("json patch %v", e)
			}
			patchStrict = append(patchStrict, e)
		}
	}
	jsonInfo, _ := SerializerFor("application", "json")
	var warned sync.Once
	newObj := func(ctx context.Context, old runtime.Object) (runtime.Object, error) {
		if old == nil {
			return nil, apierrors.NewNotFound(s.store.GroupResource(), s.info.Name)
		}
		var buf strings.Builder
		if err := jsonInfo.Serializer.Encode(old, &buf); err != nil {
			return nil, err
		}
		patched, err := apply(s, []byte(buf.String()), patch)
		if err != nil {
			return nil, patchError(err, patch)
		}
		obj, got, strict, err := decodeStrict(jsonInfo, validation, patched, s.bodyKind(), s.newBody(), s.decoded())
		if err != nil {
			// kube-apiserver's answer to a patch whose result does not
			// decode: 422 on the patch.
			return nil, apierrors.NewInvalid(schemaGroupKind, "", field.ErrorList{field.Invalid(field.NewPath("patch"), string(patched), err.Error())})
		}
		if strict = append(append([]error(nil), patchStrict...), strict...); len(strict) > 0 {
			if validation == metav1.FieldValidationStrict {
				return nil, apierrors.NewInvalid(schemaGroupKind, "", field.ErrorList{
					field.Invalid(field.NewPath("patch"), string(patched), runtime.NewStrictDecodingError(strict).Error())})
			}
			warned.Do(func() { addStrictDecodingWarnings(w, strict) })
		}
		if err := checkKind(got, s.bodyKind()); err != nil {
			return nil, err
		}
		obj.GetObjectKind().SetGroupVersionKind(s.bodyKind())
		return h.trackUpdate(s, old, obj, manager), nil
	}
	h.finishUpdate(w, r, s, registry.UpdatedObject(newObj), h.admit(w, r, s, updateOptions(&opts), dry), dry)
}

// strategicMerge reports whether the body of a patch takes strategic
// merge patches: the row's kind does (built-in kinds), or the
// subresource's own (a Scale).
func (s *scope) strategicMerge() bool {
	return s.subKind() || s.store.R.Type.StrategicMerge
}

// patchError words a failed patch as kube-apiserver: a malformed patch is
// 400, a patch that does not apply (a failed test, a missing path) 422.
func patchError(err error, patch []byte) error {
	var se apierrors.APIStatus
	switch {
	case errors.As(err, &se):
		return err
	case errors.Is(err, mergepatch.ErrBadJSONDoc), errors.Is(err, mergepatch.ErrBadPatchFormatForPrimitiveList),
		errors.Is(err, mergepatch.ErrBadPatchFormatForRetainKeys), errors.Is(err, mergepatch.ErrBadPatchFormatForSetElementOrderList),
		errors.Is(err, mergepatch.ErrUnsupportedStrategicMergePatchFormat), errors.Is(err, jsonpatch.ErrBadJSONPatch),
		errors.Is(err, jsonpatch.ErrBadJSONDoc):
		return apierrors.NewBadRequest(err.Error())
	}
	return apierrors.NewInvalid(schemaGroupKind, "", field.ErrorList{field.Invalid(field.NewPath("patch"), string(patch), err.Error())})
}
