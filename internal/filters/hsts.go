package filters

import (
	"net/http"
	"strings"
)

// HSTS sets Strict-Transport-Security to the directives
// (--strict-transport-security-directives), joined by "; ", on every
// response whose handler did not set it, as kube-apiserver's WithHSTS;
// nil (no filter) without directives. For example
// max-age=31536000,includeSubDomains,preload gives
//
//	Strict-Transport-Security: max-age=31536000; includeSubDomains; preload
func HSTS(directives []string) func(http.Handler) http.Handler {
	if len(directives) == 0 {
		return nil
	}
	value := strings.Join(directives, "; ")
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, ok := w.Header()["Strict-Transport-Security"]; !ok {
				w.Header().Set("Strict-Transport-Security", value)
			}
			next.ServeHTTP(w, r)
		})
	}
}
