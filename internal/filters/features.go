package filters

import (
	"net/http"

	"k8s.io/component-base/featuregate"

	"kapi/internal/features"
)

// Features gives each request's context the server's feature gates, for
// the handlers that a gate changes (features.FromContext). When every
// gate kapi asks is at kube's default the filter is left out: a request
// without a gate sees the defaults.
func Features(g featuregate.FeatureGate) func(http.Handler) http.Handler {
	if !features.Changed(g) {
		return nil
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r.WithContext(features.WithGate(r.Context(), g)))
		})
	}
}
