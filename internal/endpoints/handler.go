package endpoints

import (
	"context"
	"net/http"
	"slices"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/validation/path"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"kapi/internal/admission"
	"kapi/internal/authz"
	"kapi/internal/registry"
	"kapi/internal/request"
)

// Resources serves every resource request (/api/v1/..., /apis/g/v/...)
// from the stores of the catalogue, by the verb the requestinfo filter
// found. Each request reads the catalogue as it is when the request
// comes: a resource published a moment ago is served, one removed is not.
type Resources struct {
	cat       *registry.Catalogue
	admission *admission.Chain
	// watches are the watches being served, which EndWatches ends.
	watches watchSet
	// MinRequestTimeout is --min-request-timeout: a watch without
	// timeoutSeconds lasts between one and two times this.
	MinRequestTimeout time.Duration
	// Fields tracks managedFields and serves server-side apply; nil
	// tracks nothing.
	Fields FieldManagers
	// Authorizer decides what a handler checks beyond the request's own
	// verb (an unsafe deletion's "unsafe-delete-ignore-read-errors").
	Authorizer authz.Authorizer
	// DeleteCollectionWorkers is --delete-collection-workers: how many
	// deletes of one deletecollection run at once (fewer than 1 is 1).
	DeleteCollectionWorkers int
}

// NewResources returns the handler for the catalogue's stores, with
// admission run on every write.
func NewResources(cat *registry.Catalogue, adm *admission.Chain) *Resources {
	return &Resources{cat: cat, admission: adm, MinRequestTimeout: 1800 * time.Second}
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
	// sub is the subresource the request addresses, or nil.
	sub *registry.Subresource
	// serializers are the media types of what the request reads and
	// writes (the row's; every one for a subresource of a built-in kind,
	// a Scale).
	serializers []runtime.SerializerInfo
	out         Output
}

func (s *scope) ctx(r *http.Request) context.Context { return r.Context() }

func (h *Resources) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	info := request.InfoFrom(r.Context())
	if info == nil || !info.IsResourceRequest {
		WriteError(w, r, NotFound())
		return
	}
	st := h.cat.Snapshot().Store(schema.GroupVersionResource{Group: info.APIGroup, Version: info.APIVersion, Resource: info.Resource})
	if st == nil || !scopeMatches(st.R, info) {
		WriteError(w, r, NotFound())
		return
	}
	var sub *registry.Subresource
	if info.Subresource != "" {
		if sub = st.R.Sub(info.Subresource); sub == nil {
			WriteError(w, r, NotFound())
			return
		}
	}
	if sub != nil && sub.Connect != nil {
		h.connect(w, r, st, sub)
		return
	}
	if len(info.Parts) > 3 {
		WriteError(w, r, NotFound())
		return
	}
	if info.Name != "" {
		if errs := path.IsValidPathSegmentName(info.Name); len(errs) > 0 {
			WriteError(w, r, apierrors.NewBadRequest("invalid resource name \""+info.Name+"\": "+errs[0]))
			return
		}
	}
	verb := info.Verb
	handle, ok := verbHandlers[verb]
	switch {
	case sub != nil && sub.Action != nil:
		handle, ok = (*Resources).action, verb == "create"
	case sub != nil:
		ok = ok && slices.Contains(sub.Verbs, verb)
	case verb == "create" && info.Name != "":
		ok = false // POST goes to a collection
	default:
		ok = ok && st.R.Supports(verb)
	}
	if !ok {
		WriteError(w, r, apierrors.NewMethodNotSupported(st.GroupResource(), verb))
		return
	}
	if st.R.Deprecation != "" {
		AddWarning(w, st.R.Deprecation)
		// apiserver_requested_deprecated_apis; no deprecated version
		// kapi serves has a planned removal.
		request.Deprecated(r.Context(), "")
	}
	if verb != "get" && verb != "list" && verb != "watch" {
		// Admission's warnings go into the response's headers.
		r = r.WithContext(request.WithWarnings(r.Context(), func(text string) { AddWarning(w, text) }))
	}
	s := &scope{info: info, store: st, sub: sub, serializers: st.R.Type.Serializers}
	if s.subKind() {
		s.serializers = registry.Codecs.SupportedMediaTypes()
	}
	out, err := NegotiateOutput(r, s.serializers, s.tableResource().HasTable())
	if err != nil {
		WriteError(w, r, err)
		return
	}
	s.out = out
	handle(h, w, r, s)
}

// scopeMatches rejects a namespaced resource addressed by name without a
// namespace, and a cluster-scoped one addressed inside a namespace.
func scopeMatches(res *registry.Resource, info *request.Info) bool {
	if res.Group == "" && res.Name == "namespaces" {
		return true
	}
	if res.Namespaced {
		// A list across namespaces may select one name (its
		// fieldSelector names it in info): only a name in the path
		// needs a namespace.
		return info.Namespace != "" || len(info.Parts) < 2
	}
	return info.Namespace == ""
}

// NotFound is kube-apiserver's answer to a path it serves nothing at
// (go-restful's, made by NewGenericServerResponse): its details are
// present and empty, and clients read them (kubectl debug reads
// details.name of the 404 of a missing subresource, and panics without
// them).
func NotFound() error {
	return apierrors.NewGenericServerResponse(http.StatusNotFound, "", schema.GroupResource{}, "", "", 0, false)
}

// namespace is the request's namespace for a namespaced resource, and ""
// otherwise (a namespace object's "namespace" is its own name).
func (s *scope) namespace() string {
	if s.store.R.Namespaced {
		return s.info.Namespace
	}
	return ""
}
