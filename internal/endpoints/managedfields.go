package endpoints

import (
	"fmt"
	"net/http"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/klog/v2"

	"kapi/internal/registry"
)

// FieldManagers hands out the managed-fields machinery (server-side apply,
// metadata.managedFields) of a resource, or of its subresource sub.
type FieldManagers interface {
	For(r *registry.Resource, sub *registry.Subresource) (*managedfields.FieldManager, error)
}

// maxManagerLength is kube-apiserver's limit on a field manager's name.
const maxManagerLength = 128

// managerName is the ?fieldManager= of a write or, as kube-apiserver
// names a manager that gave none, the first segment of the User-Agent
// ("kubectl", "kube-controller-manager").
func managerName(r *http.Request, given string) (string, error) {
	if given != "" {
		if len(given) > maxManagerLength {
			return "", apierrors.NewInvalid(metav1.SchemeGroupVersion.WithKind("PatchOptions").GroupKind(), "",
				field.ErrorList{field.TooLong(field.NewPath("fieldManager"), "", maxManagerLength)})
		}
		return given, nil
	}
	ua := r.UserAgent()
	if i := strings.Index(ua, "/"); i >= 0 {
		ua = ua[:i]
	}
	if len(ua) > maxManagerLength {
		ua = ua[:maxManagerLength]
	}
	return ua, nil
}

// fieldManager returns the FieldManager of the request's resource and
// subresource, or nil when there is none (a subresource whose fields are
// not tracked).
func (h *Resources) fieldManager(s *scope) *managedfields.FieldManager {
	if h.Fields == nil {
		return nil
	}
	if s.sub != nil && !s.sub.TrackFields {
		return nil
	}
	fm, err := h.Fields.For(s.store.R, s.sub)
	if err != nil {
		klog.ErrorS(err, "no field manager", "resource", s.store.R.GVR())
		return nil
	}
	return fm
}

// trackUpdate records in obj's managedFields that manager wrote it over
// old (nil for a create), as every non-apply write does.
func (h *Resources) trackUpdate(s *scope, old, obj runtime.Object, manager string) runtime.Object {
	fm := h.fieldManager(s)
	if fm == nil {
		return obj
	}
	if old == nil {
		old = s.store.New()
		old.GetObjectKind().SetGroupVersionKind(s.store.R.GVK())
	}
	return fm.UpdateNoErrors(old, obj, manager)
}

// applyError words a failure of the apply machinery: conflicts come as
// 409 Status errors already; a patch the schema cannot type is the
// client's fault (400).
func applyError(err error) error {
	if _, ok := err.(apierrors.APIStatus); ok {
		return err
	}
	return apierrors.NewBadRequest(fmt.Sprintf("%v", err))
}
