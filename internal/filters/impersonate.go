package filters

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"kapi/internal/authn"
	"kapi/internal/authz"
	"kapi/internal/request"
)

// Impersonate lets a user act as another (Impersonate-User,
// Impersonate-Group, Impersonate-Uid, Impersonate-Extra-<key>), each
// identity checked against the impersonate verb: users (or
// serviceaccounts, for system:serviceaccount:<ns>:<name>), groups,
// authentication.k8s.io uids and userextras/<key>. The request goes on as
// the impersonated user; audit records both (onImpersonate).
func Impersonate(az authz.Authorizer, onImpersonate func(r *http.Request, u *request.User)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			name := r.Header.Get("Impersonate-User")
			groups := r.Header.Values("Impersonate-Group")
			uid := r.Header.Get("Impersonate-Uid")
			extra := map[string][]string{}
			for k, v := range r.Header {
				if key, ok := strings.CutPrefix(http.CanonicalHeaderKey(k), "Impersonate-Extra-"); ok {
					if unescaped, err := url.PathUnescape(key); err == nil {
						key = unescaped
					}
					extra[strings.ToLower(key)] = v
				}
			}
			if name == "" && len(groups) == 0 && uid == "" && len(extra) == 0 {
				next.ServeHTTP(w, r)
				return
			}
			if name == "" {
				writeStatus(w, r, http.StatusBadRequest, "BadRequest", "requested impersonation of groups, uid or extra without impersonating a user")
				return
			}
			requestor := request.UserFrom(r.Context())
			checks := []authz.Attributes{impersonated(name)}
			for _, g := range groups {
				checks = append(checks, authz.Attributes{Resource: "groups", Name: g})
			}
			if uid != "" {
				checks = append(checks, authz.Attributes{APIGroup: "authentication.k8s.io", Resource: "uids", Name: uid})
			}
			for k, vs := range extra {
				for _, v := range vs {
					checks = append(checks, authz.Attributes{APIGroup: "authentication.k8s.io", Resource: "userextras", Subresource: k, Name: v})
				}
			}
			for _, a := range checks {
				a.User, a.Verb, a.ResourceRequest = requestor, "impersonate", true
				d, reason, err := az.Authorize(r.Context(), a)
				if err != nil || d != authz.Allow {
					request.LogFrom(r.Context()).Add("impersonate", "denied")
					filterOutcomes.WithLabelValues("impersonate", "denied").Inc()
					writeError(w, r, authz.Forbidden(a, reason))
					return
				}
			}
			u := &request.User{Name: name, UID: uid, Groups: groups}
			if len(extra) > 0 {
				u.Extra = extra
			}
			if ns, _, ok := authn.SplitServiceAccountUser(name); ok && len(groups) == 0 {
				u.Groups = authn.ServiceAccountGroups(ns)
			}
			switch {
			case name == request.Anonymous:
				if !u.InGroup(request.AllUnauthenticated) {
					u.Groups = append(u.Groups, request.AllUnauthenticated)
				}
			case !u.InGroup(request.AllAuthenticated):
				u.Groups = append(u.Groups, request.AllAuthenticated)
			}
			for k := range r.Header {
				if strings.HasPrefix(http.CanonicalHeaderKey(k), "Impersonate-") {
					r.Header.Del(k)
				}
			}
			request.LogFrom(r.Context()).Add("impersonate", fmt.Sprintf("%s as %s", requestor.Name, name))
			filterOutcomes.WithLabelValues("impersonate", "allowed").Inc()
			if onImpersonate != nil {
				onImpersonate(r, u)
			}
			next.ServeHTTP(w, r.WithContext(request.WithUser(r.Context(), u)))
		})
	}
}

// impersonated is the check for impersonating a user name: a service
// account's name is checked as that serviceaccount object.
func impersonated(name string) authz.Attributes {
	if ns, sa, ok := authn.SplitServiceAccountUser(name); ok {
		return authz.Attributes{Resource: "serviceaccounts", Namespace: ns, Name: sa}
	}
	return authz.Attributes{Resource: "users", Name: name}
}
