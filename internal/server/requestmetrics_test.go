package server

import (
	"bytes"
	"testing"

	dto "github.com/prometheus/client_model/go"
)

// TestTLSErrorWriter: a TLS handshake error is counted, not written; any
// other message of the HTTP server is.
func TestTLSErrorWriter(t *testing.T) {
	value := func() float64 {
		var m dto.Metric
		if err := tlsHandshakeErrors.Write(&m); err != nil {
			t.Fatal(err)
		}
		return m.GetCounter().GetValue()
	}
	var out bytes.Buffer
	l := tlsErrorLog()
	l.SetOutput(tlsErrorWriter{&out})
	before := value()
	l.Printf("http: TLS handshake error from 127.0.0.1:5555: EOF")
	l.Printf("http: panic serving 127.0.0.1:5555: boom")
	if got := value() - before; got != 1 {
		t.Errorf("TLS handshake errors counted %v, want 1", got)
	}
	if s := out.String(); bytes.Contains(out.Bytes(), []byte("TLS handshake")) || !bytes.Contains(out.Bytes(), []byte("panic serving")) {
		t.Errorf("written: %q", s)
	}
}
