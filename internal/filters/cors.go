package filters

import (
	"net/http"
	"regexp"
	"strings"

	"kapi/internal/request"
)

// CORS answers cross-origin requests from origins matching one of the
// --cors-allowed-origins regular expressions, as kube-apiserver: the
// Access-Control-* headers on the answer, and preflight OPTIONS requests
// answered here with 204. Requests from other origins get no CORS headers.
func CORS(allowed []*regexp.Regexp) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if len(allowed) == 0 {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			origin := r.Header.Get("Origin")
			if origin != "" && originAllowed(origin, allowed) {
				h := w.Header()
				h.Set("Access-Control-Allow-Origin", origin)
				h.Set("Access-Control-Allow-Methods", "POST, GET, OPTIONS, PUT, DELETE, PATCH")
				h.Set("Access-Control-Allow-Headers", "Content-Type, Content-Length, Accept-Encoding, X-CSRF-Token, Authorization, X-Requested-With, If-Modified-Since")
				h.Set("Access-Control-Expose-Headers", "Date")
				h.Set("Access-Control-Allow-Credentials", "true")
				h.Add("Vary", "Origin")
				request.LogFrom(r.Context()).Add("cors", "allowed")
				filterOutcomes.WithLabelValues("cors", "allowed").Inc()
				if r.Method == http.MethodOptions {
					w.WriteHeader(http.StatusNoContent)
					return
				}
			} else if origin != "" {
				request.LogFrom(r.Context()).Add("cors", "denied")
				filterOutcomes.WithLabelValues("cors", "denied").Inc()
			}
			next.ServeHTTP(w, r)
		})
	}
}

func originAllowed(origin string, allowed []*regexp.Regexp) bool {
	for _, re := range allowed {
		if re.MatchString(origin) {
			return true
		}
	}
	return false
}

// CompileOrigins compiles --cors-allowed-origins. kube-apiserver anchors
// nothing: a pattern matches anywhere in the origin, so "//example.com$"
// is the careful way to write one.
func CompileOrigins(patterns []string) ([]*regexp.Regexp, error) {
	var out []*regexp.Regexp
	for _, p := range patterns {
		if strings.TrimSpace(p) == "" {
			continue
		}
		re, err := regexp.Compile(p)
		if err != nil {
			return nil, err
		}
		out = append(out, re)
	}
	return out, nil
}
