package endpoints

import (
	"net/http"
	"strings"

	"github.com/google/uuid"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"kapi/internal/admission"
	"kapi/internal/registry"
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
	return &admission.Request{Chain: h.admission, Resource: s.store.R, Subresource: s.info.Subresource, Kind: kind,
		Namespace: s.namespace(), Name: s.info.Name, Options: opts, DryRun: dry,
		User: request.UserFrom(r.Context()), UID: requestUID(w)}
}

// requestUID names a request in admission: its audit ID, which the audit
// filter gave the response.
func requestUID(w http.ResponseWriter) types.UID {
	uid := w.Header().Get("Audit-ID")
	if uid == "" {
		uid = uuid.NewString()
	}
	return types.UID(uid)
}

// admitConnect admits a request for a connection subresource as
// kube-apiserver's ConnectResource does before it connects: the options
// the request gives (its query, and a proxy's path) are a CONNECT's
// object, for the plugins that handle CONNECT (webhooks, policies);
// a dry run, then options that do not parse, are a 400. A subresource
// whose kind no Connecter takes (pods/log, kube's getter with options) is
// not admitted, as in kube.
func (h *Resources) admitConnect(w http.ResponseWriter, r *http.Request, st *registry.Store, sub *registry.Subresource, ns string) error {
	info := request.InfoFrom(r.Context())
	q := r.URL.Query()
	opts, err := registry.ConnectOptions(sub.Kind, q, connectPath(r, info.Parts))
	switch _, dry := q["dryRun"]; {
	case opts == nil && err == nil:
		return nil
	case dry:
		return apierrors.NewBadRequest("dryRun is not supported")
	case err != nil:
		return apierrors.NewBadRequest(err.Error())
	case h.admission == nil:
		return nil
	}
	return h.admission.Connect(r.Context(), &admission.Attributes{Resource: st.R, Subresource: sub.Name, Kind: sub.Kind,
		Namespace: ns, Name: info.Name, Object: opts, User: request.UserFrom(r.Context()), UID: requestUID(w)})
}

// connectPath is a proxy's path as its options give it: the request's
// segments below the subresource, with a leading slash, and a trailing
// one when the request's path has one (kube's getRequestOptions).
func connectPath(r *http.Request, parts []string) string {
	if len(parts) < 3 {
		return ""
	}
	p := strings.Join(parts[3:], "/")
	if p != "" && !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	if strings.HasSuffix(r.URL.Path, "/") && !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return p
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
