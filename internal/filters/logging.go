package filters

import (
	"net/http"
	"time"

	"k8s.io/klog/v2"

	"kapi/internal/request"
)

// Logging writes one log line per request (klog verbosity 3, as
// kube-apiserver's httplog) with what every filter recorded on the
// request's Log, with the request's logger (its auditID). (The Metrics
// filter counts the requests.)
func Logging(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		l := &request.Log{}
		sw := &statusWriter{ResponseWriter: w}
		r = r.WithContext(request.WithLog(r.Context(), l))
		defer func() {
			code := sw.code
			if code == 0 {
				code = http.StatusOK
			}
			if klog.V(3).Enabled() {
				kv := []any{"verb", r.Method, "URI", r.RequestURI, "latency", time.Since(start), "userAgent", r.UserAgent(),
					"srcIP", r.RemoteAddr, "resp", code}
				f := l.Fields()
				for i := 0; i+1 < len(f); i += 2 {
					kv = append(kv, f[i], f[i+1])
				}
				klog.FromContext(r.Context()).V(3).Info("HTTP", kv...)
			}
		}()
		next.ServeHTTP(sw, r)
	})
}

// statusWriter remembers the status code; it passes Flush on, for
// watches.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusWriter) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
