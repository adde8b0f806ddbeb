package proxy

import (
	"net/http"

	utilproxy "k8s.io/apimachinery/pkg/util/proxy"
)

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
		// The request's Host is empty (the streamer's Rewrite): see
		// there why.
		var prefix string
		if t := targetOf(r.Context()); t != nil {
			prefix = t.prefix
		}
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
