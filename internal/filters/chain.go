package filters

import "net/http"

// Chain wraps the MUX in the filters, outermost first, as kube-apiserver
// orders them: panic recovery, request info, (in-flight limits, timeout,
// CORS, authentication, audit, impersonation, authorization come with
// their issue).
func Chain(mux http.Handler) http.Handler {
	chain := []func(http.Handler) http.Handler{
		Recover,
		RequestInfo,
	}
	h := mux
	for i := len(chain) - 1; i >= 0; i-- {
		h = chain[i](h)
	}
	return h
}
