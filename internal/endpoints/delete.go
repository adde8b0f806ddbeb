package endpoints

import (
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"kapi/internal/registry"
	"kapi/internal/request"
)

// deleteOptions reads DeleteOptions from the query and, if there is one,
// the body (kubectl sends them as a body).
func deleteOptions(r *http.Request) (*metav1.DeleteOptions, bool, error) {
	opts := &metav1.DeleteOptions{}
	if err := decodeOptions(r, opts); err != nil {
		return nil, false, err
	}
	body, err := readBody(r)
	if err != nil {
		return nil, false, err
	}
	if len(body) > 0 {
		info, err := inputSerializer(r, nil)
		if err != nil {
			return nil, false, err
		}
		gvk := metav1.SchemeGroupVersion.WithKind("DeleteOptions")
		if _, _, err := info.Serializer.Decode(body, &gvk, opts); err != nil {
			return nil, false, apierrors.NewBadRequest(err.Error())
		}
	}
	dry, err := dryRun(opts.DryRun)
	if err != nil {
		return nil, false, err
	}
	// As kube-apiserver: a negative grace period means one second.
	if opts.GracePeriodSeconds != nil && *opts.GracePeriodSeconds < 0 {
		one := int64(1)
		opts.GracePeriodSeconds = &one
	}
	return opts, dry, nil
}

// warnOrphaning gives the row's OrphanWarning to a delete that names no
// propagation policy of a kind whose default orphans the dependents, as
// kube's Job storage does before it deletes.
func warnOrphaning(r *http.Request, s *scope, opts *metav1.DeleteOptions) {
	row := s.store.R
	if row.OrphanWarning != "" && row.GarbageCollection == registry.GCOrphan &&
		opts.PropagationPolicy == nil && opts.OrphanDependents == nil { //nolint:staticcheck // the legacy option
		request.AddWarning(r.Context(), row.OrphanWarning)
	}
}

// delete serves DELETE of one object. The answer is the object when the
// resource returns deleted objects or when the object stays (finalizers),
// else a Status of success.
func (h *Resources) delete(w http.ResponseWriter, r *http.Request, s *scope) {
	opts, dry, err := deleteOptions(r)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	if unsafeDelete(opts) {
		h.deleteCorrupt(w, r, s, opts, dry)
		return
	}
	warnOrphaning(r, s, opts)
	obj, deleted, err := s.store.Delete(r.Context(), s.namespace(), s.info.Name, opts, h.admit(w, r, s, opts, dry), dry)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	if deleted && !s.store.R.ReturnDeletedObject {
		details := &metav1.StatusDetails{Name: s.info.Name, Group: s.store.R.Group, Kind: s.store.R.Name}
		if m, err := meta.Accessor(obj); err == nil {
			details.UID = m.GetUID()
		}
		WriteSuccess(w, r, s.out, details)
		return
	}
	respond(w, r, s, http.StatusOK, obj)
}

// deleteCollection serves DELETE of a collection: every object the list
// options select is deleted; the answer lists them.
func (h *Resources) deleteCollection(w http.ResponseWriter, r *http.Request, s *scope) {
	var listOpts metav1.ListOptions
	if err := decodeOptions(r, &listOpts); err != nil {
		WriteError(w, r, err)
		return
	}
	opts, dry, err := deleteOptions(r)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	if err := refuseUnsafeCollection(opts); err != nil {
		WriteError(w, r, err)
		return
	}
	warnOrphaning(r, s, opts)
	list, err := s.store.List(r.Context(), s.namespace(), &listOpts)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	items, err := meta.ExtractList(list)
	if err != nil {
		WriteError(w, r, apierrors.NewInternalError(err))
		return
	}
	var deleted []runtime.Object
	for _, it := range items {
		m, err := meta.Accessor(it)
		if err != nil {
			continue
		}
		adm := h.admit(w, r, s, opts, dry)
		adm.Namespace, adm.Name = m.GetNamespace(), m.GetName()
		obj, _, err := s.store.Delete(r.Context(), m.GetNamespace(), m.GetName(), opts, adm, dry)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			WriteError(w, r, err)
			return
		}
		if !s.store.R.Type.KindInListItems {
			obj.GetObjectKind().SetGroupVersionKind(schema.GroupVersionKind{})
		}
		deleted = append(deleted, obj)
	}
	if err := meta.SetList(list, deleted); err != nil {
		WriteError(w, r, apierrors.NewInternalError(err))
		return
	}
	obj, err := transform(r, s, list, true)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	WriteObject(w, r, http.StatusOK, s.out, obj)
}
