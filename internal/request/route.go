package request

import (
	"context"
	"net/http"
)

// Route is what the handler that serves a request tells the request
// metrics (apiserver_request_total, its duration, the response sizes)
// beyond the request's Info, as kube-apiserver's instrumented handlers
// pass it to MonitorRequest:
//
//   - a non-resource request is counted only when its handler is one
//     kube-apiserver instruments, with that handler's labels: /healthz,
//     /livez and /readyz (subresource "/readyz", no component), the
//     aggregated discovery of /api and /apis (subresource "api",
//     component "apiserver"), OpenAPI v3 ("openapi/v3" for the index,
//     "openapi/v3/" for every document), the z-pages (resource "statusz",
//     with the group and version of the object asked for). /version,
//     /openapi/v2, the unaggregated discovery documents, /metrics are not
//     counted, as in kube-apiserver.
//   - a request to a deprecated API version sets
//     apiserver_requested_deprecated_apis.
//
// The metrics filter puts an empty Route in the request's context
// (WithRoute); handlers fill it in (Instrument, Deprecated).
type Route struct {
	// Instrumented is set by Instrument: the labels below name a
	// non-resource request.
	Instrumented                                     bool
	Group, Version, Resource, Subresource, Component string
	// Deprecated is a request to a deprecated API version, to be removed
	// in RemovedRelease ("1.40"; "" when not planned).
	Deprecated     bool
	RemovedRelease string
}

type routeKey struct{}

// WithRoute returns a context that carries an empty Route for the
// handler to fill in: the request's own (in its state, WithAuditID) the
// first time, else a value of its own.
func WithRoute(ctx context.Context) (context.Context, *Route) {
	if e := earlyFrom(ctx); e != nil && !e.routed {
		e.routed = true
		return ctx, &e.route
	}
	r := &Route{}
	return context.WithValue(ctx, routeKey{}, r), r
}

// routeFrom is the Route of ctx's request, or nil.
func routeFrom(ctx context.Context) *Route {
	if r, _ := ctx.Value(routeKey{}).(*Route); r != nil {
		return r
	}
	if e := earlyFrom(ctx); e != nil && e.routed {
		return &e.route
	}
	return nil
}

// Instrument names ctx's non-resource request in the request metrics
// with the labels of route (its Deprecated fields are kept apart). It
// does nothing without a Route (no metrics filter).
func Instrument(ctx context.Context, route Route) {
	if r := routeFrom(ctx); r != nil {
		deprecated, removed := r.Deprecated, r.RemovedRelease
		*r = route
		r.Instrumented, r.Deprecated, r.RemovedRelease = true, deprecated, removed
	}
}

// Instrumented is h with its requests named by route in the request
// metrics, for handlers whose labels do not depend on the request.
func Instrumented(route Route, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		Instrument(r.Context(), route)
		h.ServeHTTP(w, r)
	})
}

// Deprecated records that ctx's request asks for a deprecated API
// version, removed in removedRelease ("" for none planned).
func Deprecated(ctx context.Context, removedRelease string) {
	if r := routeFrom(ctx); r != nil {
		r.Deprecated, r.RemovedRelease = true, removedRelease
	}
}
