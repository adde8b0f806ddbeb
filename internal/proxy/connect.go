package proxy

import (
	"context"
	"net/http"
	"net/url"
	"path"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// Connect is the Connect of a proxy subresource (services/proxy,
// pods/proxy): locate finds the target of the object's segment
// ("https:web:8443"), the path below the subresource is asked of it, and
// the request and its answer stream through Handler, with kube's
// X-Forwarded-Uri and its rewriting of redirects below the proxy; an
// upgraded connection is throttled to maxBytesPerSec (0: not).
func Connect(locate func(ctx context.Context, ns, id string) (*url.URL, error), transport http.RoundTripper,
	writeError func(w http.ResponseWriter, r *http.Request, err error), maxBytesPerSec int64) func(ctx context.Context, ns, name, rest string) (http.Handler, error) {
	s := newStreamer(transport, Options{Error: writeError, KeepQuery: true, RedirectEmptyPath: true, Rewrite: true, MaxBytesPerSec: maxBytesPerSec})
	return func(ctx context.Context, ns, name, rest string) (http.Handler, error) {
		u, err := locate(ctx, ns, name)
		if err != nil {
			return nil, err
		}
		if err := JoinPath(u, cleanRest(rest)); err != nil {
			return nil, apierrors.NewBadRequest("invalid proxy path " + rest + ": " + err.Error())
		}
		return &to{s: s, url: u, rest: rest}, nil
	}
}

// cleanRest resolves "." and ".." in the path below the proxy, as kube
// joins it (path.Join), so that no "../" reaches the target: a path can
// never climb above the target's root. Encoded slashes stay encoded and
// a trailing slash stays.
//
//	/a/../b/ -> /b/    /../../etc -> /etc    /%2e%2e/etc -> /etc    "" -> ""
func cleanRest(rest string) string {
	if rest == "" {
		return ""
	}
	rest = dots.Replace(rest)
	c := path.Clean(rest)
	if strings.HasSuffix(rest, "/") && c != "/" {
		c += "/"
	}
	return c
}

// dots decodes encoded dots, which a target would decode into "..".
var dots = strings.NewReplacer("%2e", ".", "%2E", ".")
