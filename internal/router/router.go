// Package router is the MUX: it sends resource requests to the endpoints
// and serves what is not a resource: discovery, OpenAPI, /version, the
// health endpoints and /metrics.
package router

import (
	"net/http"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/component-base/featuregate"

	"kapi/internal/endpoints"
	"kapi/internal/proxy"
	"kapi/internal/request"
)

// Config is what the router serves.
type Config struct {
	Resources *endpoints.Resources
	Discovery *Discovery
	Health    *Health
	// Aggregator, when set, proxies the group-versions of APIServices
	// with a service; it is asked before kapi's own resources.
	Aggregator *proxy.Aggregator
	// Extra are more handlers by ServeMux pattern (OpenAPI, metrics).
	Extra map[string]http.Handler
	// Flagz reads the command line for /flagz (see Flagz); nil serves
	// no /flagz, as kube-apiserver without a flag reader.
	Flagz func() map[string]string
	// Features are the server's feature gates; nil is kube's defaults.
	Features featuregate.FeatureGate
}

// New returns the MUX.
func New(cfg Config) http.Handler {
	mux := http.NewServeMux()
	get := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				endpoints.WriteError(w, r, apierrors.NewMethodNotSupported(metav1.SchemeGroupVersion.WithResource("").GroupResource(), r.Method))
				return
			}
			h(w, r)
		}
	}
	api := func(w http.ResponseWriter, r *http.Request) {
		if cfg.Aggregator != nil {
			if g, v, ok := aggregatedGroupVersion(r.URL.Path); ok {
				if h := cfg.Aggregator.Handler(g, v); h != nil {
					h.ServeHTTP(w, r)
					return
				}
			}
		}
		info := request.InfoFrom(r.Context())
		if info != nil && info.IsResourceRequest {
			cfg.Resources.ServeHTTP(w, r)
			return
		}
		get(cfg.Discovery.serve)(w, r)
	}
	mux.HandleFunc("/api", api)
	mux.HandleFunc("/api/", api)
	mux.HandleFunc("/apis", api)
	mux.HandleFunc("/apis/", api)
	mux.HandleFunc("/version", get(serveVersion))
	mux.HandleFunc("/version/", get(serveVersion))
	for _, name := range healthEndpoints {
		h := get(cfg.Health.handler(name))
		// kube-apiserver counts /readyz in the request metrics (with
		// no component), not /readyz/<check>.
		mux.Handle("/"+name, request.Instrumented(request.Route{Subresource: "/" + name}, h))
		mux.HandleFunc("/"+name+"/", h)
	}
	for path, h := range zpages(cfg) {
		mux.Handle(path, h)
	}
	for pattern, h := range cfg.Extra {
		mux.Handle(pattern, h)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			get(serveRootPaths(mux, cfg))(w, r)
			return
		}
		endpoints.WriteError(w, r, endpoints.NotFound())
	})
	return mux
}

// serveRootPaths lists the paths the server serves, as kube-apiserver's
// "/" does.
func serveRootPaths(_ *http.ServeMux, cfg Config) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		paths := ownPaths(cfg)
		for gv := range cfg.Discovery.docs().resources {
			if strings.Contains(gv, "/") {
				paths = append(paths, "/apis/"+gv, "/apis/"+strings.Split(gv, "/")[0])
			}
		}
		writeJSON(w, http.StatusOK, map[string][]string{"paths": sortedUnique(paths)})
	}
}

// ownPaths are the paths the MUX serves but for the API groups': its own,
// the z-pages and the extra handlers'.
func ownPaths(cfg Config) []string {
	paths := []string{"/api", "/api/v1", "/apis", "/healthz", "/livez", "/readyz", "/version"}
	paths = append(paths, zpageNames(cfg)...)
	for p := range cfg.Extra {
		if f := strings.Fields(p); len(f) > 0 {
			paths = append(paths, strings.TrimSuffix(f[len(f)-1], "/{path...}"))
		}
	}
	return paths
}
