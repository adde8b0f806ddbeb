package endpoints

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"kapi/internal/registry"
	"kapi/internal/request"
)

// connect hands a request for a connection subresource (pods/proxy,
// services/proxy, pods/exec, ...) to the handler the row's Connect
// returns for the object: everything below the subresource's segment is
// the target's business, so nothing here negotiates a content type or
// reads a body. The verb is the method's (get, create, update, patch,
// delete, as authorization saw it); one discovery does not list is 405,
// as kube-apiserver's. The request is admitted first (admitConnect).
func (h *Resources) connect(w http.ResponseWriter, r *http.Request, st *registry.Store, sub *registry.Subresource) {
	info := request.InfoFrom(r.Context())
	if !slices.Contains(sub.Verbs, info.Verb) && !(info.Verb == "head" || info.Verb == "options") || !connectMethodAllowed(sub, r.Method) {
		WriteError(w, r, apierrors.NewMethodNotSupported(schema.GroupResource{Group: st.R.Group, Resource: st.R.Name + "/" + sub.Name}, r.Method))
		return
	}
	ns := ""
	if st.R.Namespaced {
		ns = info.Namespace
	}
	rest, ok := connectRest(r, info.Parts)
	if !ok {
		WriteError(w, r, apierrors.NewBadRequest("invalid path "+strconv.Quote(r.URL.EscapedPath())))
		return
	}
	if err := h.admitConnect(w, r, st, sub, ns); err != nil {
		WriteError(w, r, err)
		return
	}
	handler, err := sub.Connect(r.Context(), ns, info.Name, rest)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	handler.ServeHTTP(w, r)
}

// connectMethodAllowed: HEAD and OPTIONS reach a proxy (kube proxies
// them), not a log or an exec.
func connectMethodAllowed(sub *registry.Subresource, method string) bool {
	if method == http.MethodHead || method == http.MethodOptions {
		return slices.Equal(sub.Verbs, registry.ProxyVerbs)
	}
	return true
}

// connectRest is the escaped path below the subresource segment: for
// /api/v1/namespaces/ns/services/web:80/proxy/a%2Fb/ it is "/a%2Fb/", so
// that an encoded slash reaches the target as the client sent it. The
// segments up to the subresource are those the request info parsed from
// the decoded path (all of it but the parts below the subresource); ok
// is false when they are not the same segments escaped (an encoded
// slash in a namespace or name).
//
// It walks the paths in place, as every proxied request passes here: no
// slice of segments is built and the rest is a piece of the escaped path.
func connectRest(r *http.Request, parts []string) (rest string, ok bool) {
	escapedPath := r.URL.EscapedPath()
	escaped := strings.TrimPrefix(escapedPath, "/")
	decoded := strings.TrimPrefix(r.URL.Path, "/")
	nDecoded := strings.Count(decoded, "/") + 1
	if strings.HasSuffix(r.URL.Path, "/") {
		nDecoded--
	}
	n := nDecoded - (len(parts) - 3)
	if n < 0 || n > strings.Count(escaped, "/")+1 {
		return "", false
	}
	if n == 0 {
		if len(escaped) < len(escapedPath) {
			return escapedPath, true
		}
		return "/" + escaped, true
	}
	tail, dtail, more := escaped, decoded, false
	for i := 0; i < n; i++ {
		var e, d string
		e, tail, more = strings.Cut(tail, "/")
		d, dtail, _ = strings.Cut(dtail, "/")
		if seg, err := url.PathUnescape(e); err != nil || seg != d {
			return "", false
		}
	}
	if !more {
		return "", true
	}
	// tail follows a '/' in escaped: the rest is tail with that slash.
	return escaped[len(escaped)-len(tail)-1:], true
}
