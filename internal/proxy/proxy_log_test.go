package proxy

import (
	"bytes"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestHandlerCopyErrorNotOnStandardLog: a target that closes mid-body
// (as every watch ends when its server goes) makes ReverseProxy report
// "read error during body copy"; that goes to klog, not to the standard
// logger that writes on kapi's stderr.
func TestHandlerCopyErrorNotOnStandardLog(t *testing.T) {
	var std bytes.Buffer
	prev := log.Writer()
	log.SetOutput(&std)
	defer log.SetOutput(prev)

	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "ten bytes.")
		w.(http.Flusher).Flush()
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	}))
	defer backend.Close()
	f := front(t, backend.URL, Options{KeepQuery: true})
	resp, err := http.Get(f.URL + "/front/watch")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "ten bytes." || err == nil {
		t.Fatalf("the body through the proxy: %q %v", b, err)
	}
	f.Close() // waits for the proxy's handler, which logs before it ends
	if strings.Contains(std.String(), "ReverseProxy") {
		t.Fatalf("the standard logger got: %s", std.String())
	}
}
