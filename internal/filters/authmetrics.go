package filters

import (
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"kapi/internal/authn"
	"kapi/internal/authz"
	"kapi/internal/metrics"
	"kapi/internal/request"
)

// kube-apiserver's metrics of the authentication and authorization filters
// (k8s.io/apiserver/pkg/endpoints/filters/metrics.go), with
// authentication_attempts (authenticate.go). The authorizers' own
// decisions are authz's apiserver_authorization_decisions_total.
var (
	authenticatedUsers = metrics.Counter("authenticated_user_requests",
		"[ALPHA] Counter of authenticated requests broken out by username.", "username")
	authenticationLatency = metrics.Histogram("authentication_duration_seconds",
		"[ALPHA] Authentication duration in seconds broken out by result.",
		prometheus.ExponentialBuckets(0.001, 2, 15), "result")
	authorizationAttempts = metrics.Counter("authorization_attempts_total",
		"[ALPHA] Counter of authorization attempts broken down by result. It can be either 'allowed', 'denied', 'no-opinion' or 'error'.",
		"result")
	authorizationLatency = metrics.Histogram("authorization_duration_seconds",
		"[ALPHA] Authorization duration in seconds broken out by result.",
		prometheus.ExponentialBuckets(0.001, 2, 15), "result")
)

// authenticateTimed authenticates r with a, and says how long it took.
func authenticateTimed(a authn.Authenticator, r *http.Request) (*request.User, bool, time.Duration, error) {
	start := time.Now()
	u, ok, err := a.AuthenticateRequest(r)
	return u, ok, time.Since(start), err
}

// recordAuthentication counts an authentication's result ("success",
// "failure": no credentials and no anonymous access, "error": refused
// credentials) and its time; a success counts its user's category too.
// An anonymous request is a success, as kube's anonymous authenticator
// makes it.
func recordAuthentication(result string, u *request.User, took time.Duration) {
	if u != nil {
		authenticatedUsers.WithLabelValues(compressUsername(u.Name)).Inc()
	}
	authenticationAttempts.WithLabelValues(result).Inc()
	authenticationLatency.WithLabelValues(result).Observe(took.Seconds())
}

// compressUsername is kube-apiserver's category of a user name, so that
// authenticated_user_requests has few series and no real names: a few
// well-known names as they are, "email_id" for what looks like an email
// address, "other" for anyone else (kapi's administrator
// "kubernetes-admin", service accounts, system:anonymous).
func compressUsername(name string) string {
	switch {
	case name == "admin" || name == "client" || name == "kube_proxy" || name == "kubelet" ||
		name == "system:serviceaccount:kube-system:default":
		return name
	case strings.Contains(name, "@"):
		return "email_id"
	}
	return "other"
}

// recordAuthorization counts the authorization filter's decision and its
// time: "allowed", "error" (an authorizer failed and none allowed),
// "denied", or "no-opinion" when no authorizer decided.
func recordAuthorization(d authz.Decision, err error, took time.Duration) {
	var result string
	switch {
	case d == authz.Allow:
		result = "allowed"
	case err != nil:
		result = "error"
	case d == authz.Deny:
		result = "denied"
	default:
		result = "no-opinion"
	}
	authorizationAttempts.WithLabelValues(result).Inc()
	authorizationLatency.WithLabelValues(result).Observe(took.Seconds())
}
