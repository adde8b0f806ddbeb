package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	cliflag "k8s.io/component-base/cli/flag"

	"kapi/internal/server"
)

// TestServingTLSFlags: kube's secure-serving flags on one kapi:
// --tls-min-version=VersionTLS13 refuses a TLS 1.2 client; the
// certificate is chosen by SNI among --tls-sni-cert-key pairs (the names
// given, not the certificate's own); a rewritten serving certificate is
// served without a restart, and one that does not load leaves the last
// good one; every response carries --strict-transport-security-directives;
// --http2-max-streams-per-connection is what the server announces; and
// --goaway-chance=0.02 sends some HTTP/2 clients away, so a client
// making 1000 requests uses more than one connection.
func TestServingTLSFlags(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := writeServingPair(t, dir, "serving", "serving-one")
	sniCert, sniKey := writeServingPair(t, dir, "sni", "sni-one", "sni.example")
	k := startKapi(t, func(c *server.Config) {
		c.TLSCertFile, c.TLSPrivateKeyFile = certFile, keyFile
		c.TLSSNICertKeys = []cliflag.NamedCertKey{{CertFile: sniCert, KeyFile: sniKey, Names: []string{"named.example"}}}
		c.ServingCertReloadInterval = 200 * time.Millisecond
		c.TLSMinVersion = "VersionTLS13"
		c.StrictTransportSecurityDirectives = []string{"max-age=31536000", "includeSubDomains"}
		c.HTTP2MaxStreamsPerConnection = 42
		c.GoawayChance = 0.02
	})
	addr := strings.TrimPrefix(k.srv.URL, "https://")

	t.Run("min version", func(t *testing.T) {
		if _, err := handshake(addr, &tls.Config{MaxVersion: tls.VersionTLS12}); err == nil {
			t.Error("a TLS 1.2 client was served")
		}
		if st, err := handshake(addr, &tls.Config{}); err != nil || st.Version != tls.VersionTLS13 {
			t.Errorf("a TLS 1.3 client: %v", err)
		}
	})

	t.Run("SNI", func(t *testing.T) {
		for name, want := range map[string]string{"named.example": "sni-one", "sni.example": "serving-one", "": "serving-one"} {
			if got := servedName(t, addr, name); got != want {
				t.Errorf("SNI %q: served %q, want %q", name, got, want)
			}
		}
	})

	t.Run("reload", func(t *testing.T) {
		writeServingPair(t, dir, "serving", "serving-two")
		waitServed(t, addr, "", "serving-two")
		// A serving certificate that does not load, then an SNI one that
		// does: the reload that serves the SNI one read the bad one too.
		if err := os.WriteFile(certFile, []byte("not a certificate"), 0o600); err != nil {
			t.Fatal(err)
		}
		writeServingPair(t, dir, "sni", "sni-two", "sni.example")
		waitServed(t, addr, "named.example", "sni-two")
		if got := servedName(t, addr, ""); got != "serving-two" {
			t.Errorf("after a bad rewrite: served %q, want the last good serving-two", got)
		}
	})

	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, ForceAttemptHTTP2: true}}
	defer client.CloseIdleConnections()

	t.Run("HSTS", func(t *testing.T) {
		for _, path := range []string{"/version", "/api/v1/namespaces", "/no-such-path"} {
			resp, err := client.Get(k.srv.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := resp.Header.Get("Strict-Transport-Security"); got != "max-age=31536000; includeSubDomains" || resp.ProtoMajor != 2 {
				t.Errorf("%s: %s %d, Strict-Transport-Security %q", path, resp.Proto, resp.StatusCode, got)
			}
		}
	})

	t.Run("HTTP/2 streams", func(t *testing.T) {
		if got := announcedMaxStreams(t, addr); got != 42 {
			t.Errorf("SETTINGS_MAX_CONCURRENT_STREAMS %d, want 42", got)
		}
	})

	t.Run("GOAWAY", func(t *testing.T) {
		conns := map[net.Conn]bool{}
		trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) { conns[info.Conn] = true }}
		for i := 0; i < 1000; i++ {
			req, err := http.NewRequest("GET", k.srv.URL+"/version", nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := client.Do(req.WithContext(httptrace.WithClientTrace(req.Context(), trace)))
			if err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.ProtoMajor != 2 || resp.StatusCode != http.StatusOK {
				t.Fatalf("request %d: %s %d", i, resp.Proto, resp.StatusCode)
			}
		}
		// 20 GOAWAYs expected; none in 1000 has a chance of 2e-9.
		if len(conns) < 2 {
			t.Errorf("1000 requests used %d connection(s): no GOAWAY", len(conns))
		}
	})
}

// TestServingCipherSuitesAndHTTP1: --tls-cipher-suites refuses a TLS 1.2
// client offering only other suites, and --disable-http2-serving makes
// ALPN and the answers HTTP/1.1 for a client that prefers HTTP/2.
func TestServingCipherSuitesAndHTTP1(t *testing.T) {
	k := startKapi(t, func(c *server.Config) {
		// kapi's generated serving certificate has an ECDSA key.
		c.TLSCipherSuites = []string{"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"}
		c.DisableHTTP2Serving = true
	})
	addr := strings.TrimPrefix(k.srv.URL, "https://")
	tls12 := func(suite uint16) *tls.Config {
		return &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{suite}, NextProtos: []string{"h2", "http/1.1"}}
	}
	if _, err := handshake(addr, tls12(tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384)); err == nil {
		t.Error("a client offering only TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 was served")
	}
	st, err := handshake(addr, tls12(tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256))
	if err != nil || st.CipherSuite != tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 {
		t.Fatalf("a client offering the configured suite: %v", err)
	}
	if st.NegotiatedProtocol != "http/1.1" {
		t.Errorf("ALPN chose %q with HTTP/2 off", st.NegotiatedProtocol)
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, ForceAttemptHTTP2: true}}
	defer client.CloseIdleConnections()
	resp, err := client.Get(k.srv.URL + "/version")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Proto != "HTTP/1.1" || resp.StatusCode != http.StatusOK || resp.Header.Get("Strict-Transport-Security") != "" {
		t.Errorf("/version: %s %d, Strict-Transport-Security %q", resp.Proto, resp.StatusCode, resp.Header.Get("Strict-Transport-Security"))
	}
}

// writeServingPair writes a self-signed serving certificate for cn (and
// dnsNames) and its key as name.crt and name.key in dir.
func writeServingPair(t *testing.T, dir, name, cn string, dnsNames ...string) (certFile, keyFile string) {
	t.Helper()
	pair := servingCert(t, append([]string{cn}, dnsNames...))
	key, err := x509.MarshalPKCS8PrivateKey(pair.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	// The key first: the certificate's write completes the pair.
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: pair.Certificate[0]}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// handshake dials addr with TLS and returns the connection's state. It
// does not verify the certificate: the tests look at which one is
// served.
func handshake(addr string, c *tls.Config) (tls.ConnectionState, error) {
	c.InsecureSkipVerify = true
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, c)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer conn.Close()
	return conn.ConnectionState(), nil
}

// servedName is the common name of the certificate served to a client
// asking for serverName ("": no SNI).
func servedName(t *testing.T, addr, serverName string) string {
	t.Helper()
	st, err := handshake(addr, &tls.Config{ServerName: serverName})
	if err != nil {
		t.Fatal(err)
	}
	return st.PeerCertificates[0].Subject.CommonName
}

// waitServed waits until the certificate served for serverName is cn's.
func waitServed(t *testing.T, addr, serverName, cn string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := servedName(t, addr, serverName)
		if got == cn {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("SNI %q: still served %q, not the rewritten %q", serverName, got, cn)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// announcedMaxStreams reads the server's first SETTINGS frame on an
// HTTP/2 connection: its SETTINGS_MAX_CONCURRENT_STREAMS.
func announcedMaxStreams(t *testing.T, addr string) uint32 {
	t.Helper()
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr,
		&tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if p := conn.ConnectionState().NegotiatedProtocol; p != "h2" {
		t.Fatalf("ALPN chose %q", p)
	}
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(conn, conn)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		if s, ok := f.(*http2.SettingsFrame); ok && !s.IsAck() {
			v, _ := s.Value(http2.SettingMaxConcurrentStreams)
			return v
		}
	}
}
