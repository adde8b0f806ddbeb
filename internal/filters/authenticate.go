package filters

import (
	"net/http"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"k8s.io/klog/v2"

	"kapi/internal/authn"
	"kapi/internal/metrics"
	"kapi/internal/request"
)

var authenticationAttempts = metrics.Counter("authentication_attempts", "[ALPHA] Counter of authenticated attempts.", "result")

// Authenticate finds the request's user with a. A request that carries a
// credential no authenticator accepts is 401, never anonymous; one that
// carries none is system:anonymous when anonymous is allowed. Every
// authenticated user is in system:authenticated. The Authorization header
// and the front-proxy headers (X-Remote-User, ...) do not go further than
// this filter, as in kube.
//
// failed answers the refused requests; nil is a plain 401. The chain
// gives it the failed-authentication audit, as kube-apiserver's
// WithAuthentication is given WithFailedAuthenticationAudit, since the
// audit filter proper runs after this one and never sees a 401.
//
// An authenticator's warnings (kube's on the use of an auto-generated
// legacy service-account token), kept in the request's context, go into
// the response's headers, as kube-apiserver's warning recorder, which
// wraps its authentication filter, puts them.
func Authenticate(a authn.Authenticator, anonymous bool, failed http.Handler) func(http.Handler) http.Handler {
	if failed == nil {
		failed = Unauthorized
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u, ok, took, err := authenticateTimed(a, r)
			for _, text := range request.TakeEarlyWarnings(r.Context()) {
				request.AddWarningHeader(w.Header(), text)
			}
			log := request.LogFrom(r.Context())
			_, hasToken := authn.BearerToken(r)
			switch {
			case err != nil || (!ok && hasToken):
				if err != nil {
					klog.FromContext(r.Context()).V(2).Info("unable to authenticate the request", "err", err)
				}
				recordAuthentication("error", nil, took)
				log.Add("authn", "error")
				failed.ServeHTTP(w, r)
				return
			case ok:
				if !u.InGroup(request.AllAuthenticated) {
					u.Groups = append(u.Groups, request.AllAuthenticated)
				}
				recordAuthentication("success", u, took)
				log.Add("authn", "user="+u.Name)
			case anonymous:
				u = &request.User{Name: request.Anonymous, Groups: []string{request.AllUnauthenticated}}
				recordAuthentication("success", u, took)
				log.Add("authn", "anonymous")
			default:
				recordAuthentication("failure", nil, took)
				log.Add("authn", "none")
				failed.ServeHTTP(w, r)
				return
			}
			r.Header.Del("Authorization")
			if c, ok := a.(authn.HeaderClearer); ok {
				c.ClearHeaders(r.Header)
			}
			next.ServeHTTP(w, r.WithContext(request.WithUser(r.Context(), u)))
		})
	}
}

// Unauthorized answers a request whose credentials were refused: kube's
// 401 Status.
var Unauthorized http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	writeStatus(w, r, http.StatusUnauthorized, metav1.StatusReasonUnauthorized, "Unauthorized")
})
