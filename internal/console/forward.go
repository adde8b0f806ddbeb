package console

import (
	"net/http"
	"net/http/httputil"
	"net/url"

	"k8s.io/client-go/rest"
)

// newForwarder hands a directly opened page's API requests to the API
// server as the user: the transport carries the API server's CA but no
// credentials of the console (rest.AnonymousClientConfig), and of the
// browser's request only the Authorization header (the pasted bearer
// token) goes on; cookies and anything else naming a user are dropped.
// Without a token the API server sees an anonymous request.
func newForwarder(cfg *rest.Config) (http.Handler, error) {
	anon := rest.AnonymousClientConfig(cfg)
	rt, err := rest.TransportFor(anon)
	if err != nil {
		return nil, err
	}
	host, _, err := rest.DefaultServerUrlFor(anon)
	if err != nil {
		return nil, err
	}
	return &httputil.ReverseProxy{
		Transport:     rt,
		FlushInterval: -1, // watches stream event by event
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(&url.URL{Scheme: host.Scheme, Host: host.Host, Path: host.Path})
			auth := r.In.Header.Get("Authorization")
			for k := range r.Out.Header {
				if !forwarded[http.CanonicalHeaderKey(k)] {
					r.Out.Header.Del(k)
				}
			}
			if auth != "" {
				r.Out.Header.Set("Authorization", auth)
			}
		},
	}, nil
}

// forwarded are the request headers that say what is asked, not who asks.
var forwarded = map[string]bool{
	"Accept": true, "Accept-Encoding": true, "Content-Type": true, "Content-Length": true,
	"User-Agent": true,
}
