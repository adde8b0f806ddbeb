package server

import (
	"io"
	"log"
	"net/http"
	"os"
	"strings"

	"k8s.io/klog/v2"

	"kapi/internal/metrics"
	"kapi/internal/request"
)

// instrumentOpenAPI names the OpenAPI v3 handlers (of kapi's documents or
// of an aggregated server's) in the request metrics as kube-aggregator's:
// subresource "openapi/v3" for the index and "openapi/v3/" for every
// document, with no component. /openapi/v2 is not counted, as in
// kube-apiserver.
func instrumentOpenAPI(handlers map[string]http.Handler) {
	for pattern, subresource := range map[string]string{"GET /openapi/v3": "openapi/v3", "GET /openapi/v3/{path...}": "openapi/v3/"} {
		if h := handlers[pattern]; h != nil {
			handlers[pattern] = request.Instrumented(request.Route{Subresource: subresource}, h)
		}
	}
}

// tlsHandshakeErrors is kube-apiserver's count of the connections whose
// TLS handshake failed (a client that does not trust the serving
// certificate, a port scanner), which net/http reports to the server's
// ErrorLog.
var tlsHandshakeErrors = metrics.Counter("apiserver_tls_handshake_errors_total",
	"[ALPHA] Number of requests dropped with 'TLS handshake error from' error").WithLabelValues()

// tlsErrorLog is the HTTP server's ErrorLog: a TLS handshake error is
// counted and logged at level 5 only, as kube-apiserver's
// tlsHandshakeErrorWriter does (a scanner would flood the log); any other
// message goes to standard error, as without an ErrorLog.
func tlsErrorLog() *log.Logger {
	return log.New(tlsErrorWriter{os.Stderr}, "", log.LstdFlags)
}

type tlsErrorWriter struct{ out io.Writer }

func (w tlsErrorWriter) Write(p []byte) (int, error) {
	if strings.Contains(string(p), "http: TLS handshake error") {
		klog.V(5).Info(string(p))
		tlsHandshakeErrors.Inc()
		return len(p), nil
	}
	return w.out.Write(p)
}
