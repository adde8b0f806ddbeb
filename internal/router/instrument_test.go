package router

import (
	"net/http/httptest"
	"testing"

	"kapi/internal/registry"
	"kapi/internal/request"
)

// TestInstrumentedRoutes: the handlers kube-apiserver instruments name
// their requests for the request metrics with kube's labels; the others
// leave them out.
func TestInstrumentedRoutes(t *testing.T) {
	mux := New(Config{Discovery: NewDiscovery(registry.NewCatalogue()), Health: NewHealth(),
		Flagz: func() map[string]string { return map[string]string{} }})
	aggregated := "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
	for _, c := range []struct {
		path, accept string
		want         request.Route
	}{
		{"/readyz", "", request.Route{Instrumented: true, Subresource: "/readyz"}},
		{"/livez", "", request.Route{Instrumented: true, Subresource: "/livez"}},
		{"/healthz", "", request.Route{Instrumented: true, Subresource: "/healthz"}},
		{"/readyz/ping", "", request.Route{}},
		{"/apis", aggregated, request.Route{Instrumented: true, Subresource: "apis", Component: "apiserver"}},
		{"/api", aggregated, request.Route{Instrumented: true, Subresource: "api", Component: "apiserver"}},
		{"/apis", "application/json", request.Route{}},
		{"/api/v1", "", request.Route{}},
		{"/version", "", request.Route{}},
		{"/statusz", "", request.Route{Instrumented: true, Resource: "statusz", Component: "apiserver"}},
		{"/statusz", "application/json;g=config.k8s.io;v=v1alpha1;as=Statusz", request.Route{Instrumented: true,
			Group: "config.k8s.io", Version: "v1alpha1", Resource: "statusz", Component: "apiserver", Deprecated: true}},
		{"/flagz", "", request.Route{Instrumented: true, Resource: "flagz", Component: "apiserver"}},
	} {
		r := httptest.NewRequest("GET", c.path, nil)
		if c.accept != "" {
			r.Header.Set("Accept", c.accept)
		}
		ctx, route := request.WithRoute(request.WithInfo(r.Context(), request.Parse(r)))
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, r.WithContext(ctx))
		if *route != c.want {
			t.Errorf("%s (%s): %d, route %+v, want %+v", c.path, c.accept, rec.Code, *route, c.want)
		}
	}
}
