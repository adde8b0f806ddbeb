package filters

import (
	"fmt"
	"net/http"
	"runtime/debug"

	"k8s.io/klog/v2"

	"kapi/internal/request"
)

// Recover turns a panic in any later handler into a 500 Status for that
// request, logged with its stack; the server goes on serving.
// http.ErrAbortHandler is passed on: it is how a handler aborts a response
// on purpose.
func Recover(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			filterOutcomes.WithLabelValues("recover", "panic").Inc()
			request.LogFrom(r.Context()).Add("panic", fmt.Sprint(v))
			klog.FromContext(r.Context()).Error(fmt.Errorf("%v", v), "panic serving request", "method", r.Method, "path", r.URL.Path, "stack", string(debug.Stack()))
			writeStatus(w, r, http.StatusInternalServerError, "InternalError", "Internal error occurred: the server panicked while serving this request")
		}()
		next.ServeHTTP(w, r)
	})
}
