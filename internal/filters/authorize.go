package filters

import (
	"net/http"
	"time"

	"k8s.io/klog/v2"

	"kapi/internal/authz"
	"kapi/internal/request"
)

// Authorize asks az whether the request's user may do what the request
// asks; anything but Allow is 403 with kube-apiserver's message. annotate
// records the decision (audit annotations authorization.k8s.io/decision
// and authorization.k8s.io/reason). Every decision counts in
// authorization_attempts_total (recordAuthorization).
func Authorize(az authz.Authorizer, annotate func(r *http.Request, key, value string)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			a := Attributes(r)
			start := time.Now()
			d, reason, err := az.Authorize(r.Context(), a)
			recordAuthorization(d, err, time.Since(start))
			if err != nil {
				klog.FromContext(r.Context()).Error(err, "authorization error", "user", a.User.Name, "verb", a.Verb, "path", r.URL.Path)
			}
			if annotate != nil {
				decision := "forbid"
				if d == authz.Allow {
					decision = "allow"
				}
				annotate(r, "authorization.k8s.io/decision", decision)
				annotate(r, "authorization.k8s.io/reason", reason)
			}
			if d == authz.Allow {
				request.LogFrom(r.Context()).Add("authz", "allow")
				next.ServeHTTP(w, r)
				return
			}
			request.LogFrom(r.Context()).Add("authz", "forbid")
			writeError(w, r, authz.Forbidden(a, reason))
		})
	}
}

// Attributes are the authorization attributes of a request.
func Attributes(r *http.Request) authz.Attributes {
	a := authz.Attributes{User: request.UserFrom(r.Context())}
	if a.User == nil {
		a.User = &request.User{Name: request.Anonymous, Groups: []string{request.AllUnauthenticated}}
	}
	info := request.InfoFrom(r.Context())
	if info == nil {
		info = request.Parse(r)
	}
	a.Verb = info.Verb
	a.ResourceRequest = info.IsResourceRequest
	if info.IsResourceRequest {
		a.APIGroup, a.APIVersion, a.Resource, a.Subresource = info.APIGroup, info.APIVersion, info.Resource, info.Subresource
		a.Namespace, a.Name = info.Namespace, info.Name
		if a.Verb == "list" || a.Verb == "watch" || a.Verb == "deletecollection" {
			q := r.URL.Query()
			a.FieldSelector, a.LabelSelector = q.Get("fieldSelector"), q.Get("labelSelector")
		}
	} else {
		a.Path = r.URL.Path
	}
	return a
}
