package endpoints

import (
	"context"
	"net/http"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/validation/path"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"kapi/internal/admission"
	"kapi/internal/registry"
	"kapi/internal/request"
)

// Resources serves every resource request (/api/v1/..., /apis/g/v/...)
// from the stores of the catalogue, by the verb the requestinfo filter
// found.
type Resources struct {
	stores    map[schema.GroupVersionResource]*registry.Store
	admission admission.Interface
	// stopping ends watches when the server shuts down.
	stopping <-chan struct{}
	// MinRequestTimeout is --min-request-timeout: a watch without
	// timeoutSeconds lasts between one and two times this.
	MinRequestTimeout time.Duration
	// Fields tracks managedFields and serves server-side apply; nil
	// tracks nothing.
	Fields FieldManagers
}

// NewResources returns the handler for stores, with admission run on
// every write; watches end when stopping closes.
func NewResources(stores []*registry.Store, adm admission.Interface, stopping <-chan struct{}) *Resources {
	h := &Resources{stores: map[schema.GroupVersionResource]*registry.Store{}, admission: adm, stopping: stopping,
		MinRequestTimeout: 1800 * time.Second}
	for _, s := range stores {
		h.stores[s.R.GVR()] = s
	}
	return h
}

// Store returns the store of a group-version-resource, or nil.
func (h *Resources) Store(gvr schema.GroupVersionResource) *registry.Store {
	return h.stores[gvr]
}

// verbHandlers are the handlers by verb, for requests naming no
// subresource or one the store serves generically.
var verbHandlers = map[string]func(h *Resources, w http.ResponseWriter, r *http.Request, rq *scope){
	"get":              (*Resources).get,
	"list":             (*Resources).list,
	"watch":            (*Resources).watch,
	"create":           (*Resources).create,
	"update":           (*Resources).update,
	"patch":            (*Resources).patch,
	"delete":           (*Resources).delete,
	"deletecollection": (*Resources).deleteCollection,
}

// scope is what a verb handler needs to know about its request.
type scope struct {
	info  *request.Info
	store *registry.Store
	out   Output
}

func (s *scope) ctx(r *http.Request) context.Context { return r.Context() }

func (h *Resources) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	info := request.InfoFrom(r.Context())
	if info == nil || !info.IsResourceRequest {
		WriteError(w, r, notFound())
		return
	}
	st := h.stores[schema.GroupVersionResource{Group: info.APIGroup, Version: info.APIVersion, Resource: info.Resource}]
	if st == nil || !scopeMatches(st.R, info) || (info.Subresource != "" && !st.R.Serves(info.Subresource)) {
		WriteError(w, r, notFound())
		return
	}
	if len(info.Parts) > 3 {
		WriteError(w, r, notFound())
		return
	}
	if info.Name != "" {
		if errs := path.IsValidPathSegmentName(info.Name); len(errs) > 0 {
			WriteError(w, r, apierrors.NewBadRequest("invalid resource name \""+info.Name+"\": "+errs[0]))
			return
		}
	}
	handle, ok := verbHandlers[info.Verb]
	verb := info.Verb
	if action := st.R.Actions[info.Subresource]; action != nil {
		handle, ok = (*Resources).action, verb == "create"
	} else if info.Subresource != "" && verb != "get" && verb != "update" && verb != "patch" {
		ok = false
	} else if verb == "create" && info.Name != "" {
		ok = false // POST goes to a collection
	}
	if !ok || (info.Subresource == "" && !st.R.Supports(verb)) {
		WriteError(w, r, apierrors.NewMethodNotSupported(st.GroupResource(), verb))
		return
	}
	if st.R.Deprecation != "" {
		AddWarning(w, st.R.Deprecation)
	}
	out, err := NegotiateOutput(r)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	handle(h, w, r, &scope{info: info, store: st, out: out})
}

// scopeMatches rejects a namespaced resource addressed by name without a
// namespace, and a cluster-scoped one addressed inside a namespace.
func scopeMatches(res *registry.Resource, info *request.Info) bool {
	if res.Group == "" && res.Name == "namespaces" {
		return true
	}
	if res.Namespaced {
		return info.Namespace != "" || info.Name == ""
	}
	return info.Namespace == ""
}

func notFound() error {
	return statusError(http.StatusNotFound, metav1.StatusReasonNotFound, "the server could not find the requested resource")
}

// namespace is the request's namespace for a namespaced resource, and ""
// otherwise (a namespace object's "namespace" is its own name).
func (s *scope) namespace() string {
	if s.store.R.Namespaced {
		return s.info.Namespace
	}
	return ""
}
