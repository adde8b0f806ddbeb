package filters

import (
	"net/http"
	"time"

	"kapi/internal/request"
)

// RequestInfo parses which resource and verb the request is about and
// stores it in the context for the later filters and the MUX.
func RequestInfo(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := request.Parse(r)
		info.Received = time.Now()
		next.ServeHTTP(w, r.WithContext(request.WithInfo(r.Context(), info)))
	})
}
