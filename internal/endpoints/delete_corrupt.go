package endpoints

import (
	"fmt"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/audit"
	"kapi/internal/authz"
	"kapi/internal/registry"
	"kapi/internal/request"
)

// unsafeDeleteVerb is the permission an unsafe deletion needs besides
// delete, as kube-apiserver's.
const unsafeDeleteVerb = "unsafe-delete-ignore-read-errors"

func unsafeDelete(opts *metav1.DeleteOptions) bool {
	return opts.IgnoreStoreReadErrorWithClusterBreakingPotential != nil && *opts.IgnoreStoreReadErrorWithClusterBreakingPotential
}

// deleteCorrupt serves a DELETE with ignoreStoreReadErrorWithClusterBreakingPotential,
// as kube-apiserver: for an object that does not decrypt or decode, which
// nothing else can read, change or delete. The options are checked, the
// audit event marked, the user must also be allowed the verb
// "unsafe-delete-ignore-read-errors" on the object; then the object is
// removed without admission, preconditions or finalizers, only if it is
// still corrupt (409 if it reads). The answer is kube's Status of
// success, naming the kind.
func (h *Resources) deleteCorrupt(w http.ResponseWriter, r *http.Request, s *scope, opts *metav1.DeleteOptions, dry bool) {
	if errs := registry.ValidateDeleteOptions(opts); len(errs) > 0 {
		WriteError(w, r, apierrors.NewInvalid(metav1.SchemeGroupVersion.WithKind("DeleteOptions").GroupKind(), "", errs))
		return
	}
	audit.AddAnnotation(r.Context(), "apiserver.k8s.io/unsafe-delete-ignore-read-error", "")
	gr := s.store.GroupResource()
	if s.info.Subresource != "" {
		WriteError(w, r, apierrors.NewForbidden(gr, s.info.Name,
			fmt.Errorf("ignoreStoreReadErrorWithClusterBreakingPotential delete option is not allowed on a subresource or non-resource request")))
		return
	}
	if h.Authorizer == nil {
		WriteError(w, r, apierrors.NewInternalError(fmt.Errorf("no authorizer provided, unable to authorize unsafe delete")))
		return
	}
	d, reason, err := h.Authorizer.Authorize(r.Context(), authz.Attributes{User: request.UserFrom(r.Context()), Verb: unsafeDeleteVerb,
		ResourceRequest: true, APIGroup: s.store.R.Group, APIVersion: s.store.R.Version, Resource: s.store.R.Name,
		Namespace: s.namespace(), Name: s.info.Name})
	switch {
	case err != nil:
		WriteError(w, r, apierrors.NewForbidden(gr, s.info.Name, fmt.Errorf("error while checking permission for %q, %w", unsafeDeleteVerb, err)))
		return
	case d != authz.Allow:
		WriteError(w, r, apierrors.NewForbidden(gr, s.info.Name, fmt.Errorf("not permitted to do %q, reason: %s", unsafeDeleteVerb, reason)))
		return
	}
	if err := s.store.DeleteCorrupt(r.Context(), s.namespace(), s.info.Name, dry); err != nil {
		WriteError(w, r, err)
		return
	}
	WriteSuccess(w, r, s.out, &metav1.StatusDetails{Name: s.info.Name, Kind: s.store.R.Kind})
}

// refuseUnsafeCollection is kube-apiserver's 422 for
// ignoreStoreReadErrorWithClusterBreakingPotential on a
// deletecollection, after the options' own checks.
func refuseUnsafeCollection(opts *metav1.DeleteOptions) error {
	errs := registry.ValidateDeleteOptions(opts)
	if len(errs) == 0 && unsafeDelete(opts) {
		errs = field.ErrorList{field.Invalid(field.NewPath("ignoreStoreReadErrorWithClusterBreakingPotential"), true,
			"is not allowed with DELETECOLLECTION, try again after removing the option")}
	}
	if len(errs) == 0 {
		return nil
	}
	return apierrors.NewInvalid(metav1.SchemeGroupVersion.WithKind("DeleteOptions").GroupKind(), "", errs)
}
