package proxy

import (
	"net/http"

	utilproxy "k8s.io/apimachinery/pkg/util/proxy"
)

// prefixKey carries the proxy's prefix (the client's path above the
// proxied one, "/api/v1/namespaces/ns/services/web:80/proxy") from the
// handler to the transport of one request.
type prefixKey struct{}

// throughProxy is rt, seen through the proxy when rewrite is set: kube's
// own proxy transport from k8s.io/apimachinery/pkg/util/proxy (the
// domain's standard: kube-apiserver's services/proxy and pods/proxy use
// it), which sets X-Forwarded-Uri and rewrites Location headers and the
// links of HTML pages below the prefix. Its Scheme and Host stay empty
// as in kube-apiserver (whose request URLs carry neither), so a redirect
// to the target itself becomes a path on the API server.
func throughProxy(rt http.RoundTripper, rewrite bool) http.RoundTripper {
	if !rewrite {
		return rt
	}
	return roundTripper(func(r *http.Request) (*http.Response, error) {
		prefix, _ := r.Context().Value(prefixKey{}).(string)
		// The Host header is the target's either way; left to the URL,
		// the transport sees a redirect to the target itself as one to
		// "this" host, and makes it a path on the API server, as kube's
		// (whose request carries the client's Host) does.
		r = r.WithContext(r.Context())
		r.Host = ""
		return (&utilproxy.Transport{PathPrepend: prefix, RoundTripper: rt}).RoundTrip(r)
	})
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// dropCORS removes the target's CORS headers, as kube's proxy does: the
// API server's CORS policy is the one a browser sees.
func dropCORS(resp *http.Response) error {
	for _, h := range []string{"Access-Control-Allow-Credentials", "Access-Control-Allow-Headers", "Access-Control-Allow-Methods", "Access-Control-Allow-Origin"} {
		resp.Header.Del(h)
	}
	return nil
}
