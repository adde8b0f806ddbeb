package endpoints

import (
	"net/http"

	"github.com/google/uuid"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"kapi/internal/admission"
	"kapi/internal/request"
)

// admit is the admission of the writes of request r: who sends it, what
// it writes, with which options (CreateOptions, UpdateOptions,
// DeleteOptions). Its uid is the request's audit ID, which the audit
// filter gave the response.
func (h *Resources) admit(w http.ResponseWriter, r *http.Request, s *scope, opts runtime.Object, dry bool) *admission.Request {
	kind := s.store.R.GVK()
	if s.subKind() {
		kind = s.sub.Kind
	}
	if opts != nil {
		opts.GetObjectKind().SetGroupVersionKind(metav1.SchemeGroupVersion.WithKind(kindOf(opts)))
	}
	uid := w.Header().Get("Audit-ID")
	if uid == "" {
		uid = uuid.NewString()
	}
	return &admission.Request{Chain: h.admission, Resource: s.store.R, Subresource: s.info.Subresource, Kind: kind,
		Namespace: s.namespace(), Name: s.info.Name, Options: opts, DryRun: dry,
		User: request.UserFrom(r.Context()), UID: types.UID(uid)}
}

// kindOf names the kind of write options.
func kindOf(opts runtime.Object) string {
	switch opts.(type) {
	case *metav1.CreateOptions:
		return "CreateOptions"
	case *metav1.UpdateOptions:
		return "UpdateOptions"
	case *metav1.DeleteOptions:
		return "DeleteOptions"
	}
	return ""
}

// updateOptions are a patch's options as admission sees them: a patch is
// an update (kube-apiserver gives admission UpdateOptions).
func updateOptions(p *metav1.PatchOptions) *metav1.UpdateOptions {
	return &metav1.UpdateOptions{DryRun: p.DryRun, FieldManager: p.FieldManager, FieldValidation: p.FieldValidation}
}
