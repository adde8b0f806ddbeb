package server

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	cliflag "k8s.io/component-base/cli/flag"
	"k8s.io/klog/v2"
)

// testPair writes a self-signed certificate with the common name cn and
// the DNS names dns, and its key, as name.crt and name.key in dir.
func testPair(t *testing.T, dir, name, cn string, dns ...string) (certFile, keyFile string) {
	t.Helper()
	certPEM, keyPEM := testPairPEM(t, cn, dns...)
	certFile, keyFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func testPairPEM(t *testing.T, cn string, dns ...string) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn}, DNSNames: dns,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
}

// servedCN is the common name of the certificate certs serve to a client
// asking for serverName on a connection that reached local.
func servedCN(t *testing.T, certs *servingCerts, serverName, local string) string {
	t.Helper()
	cert, err := certs.GetCertificate(&tls.ClientHelloInfo{ServerName: serverName, Conn: fakeConn{local: local}})
	if err != nil {
		t.Fatal(err)
	}
	return cert.Leaf.Subject.CommonName
}

type fakeConn struct {
	net.Conn
	local string
}

func (c fakeConn) LocalAddr() net.Addr {
	host, port, _ := net.SplitHostPort(c.local)
	p, _ := strconv.Atoi(port)
	return &net.TCPAddr{IP: net.ParseIP(host), Port: p}
}

// TestServingCertsSNI: kube's choice of the certificate by SNI: names
// given trump the certificate's own, exact names trump wildcards, the
// earlier pair wins a name, an IP common name is no name, a client
// without SNI gets a pair named by the address it reached, and anything
// else the default certificate.
func TestServingCertsSNI(t *testing.T) {
	dir := t.TempDir()
	defCert, defKey := testPair(t, dir, "default", "default")
	pair := func(name, cn string, names []string, dns ...string) cliflag.NamedCertKey {
		c, k := testPair(t, dir, name, cn, dns...)
		return cliflag.NamedCertKey{CertFile: c, KeyFile: k, Names: names}
	}
	certs, err := newServingCerts(defCert, defKey, []cliflag.NamedCertKey{
		pair("own", "own.example", nil, "a.example", "*.wild.example"),
		pair("given", "given", []string{"a.example", "exact.wild.example"}),
		pair("first", "first", []string{"dup.example", "127.0.0.2"}),
		pair("second", "second", []string{"dup.example"}),
		pair("ipcn", "10.1.2.3", nil),
	}, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ serverName, local, want string }{
		{"own.example", "127.0.0.1:6443", "own.example"},
		{"a.example", "127.0.0.1:6443", "given"},
		{"A.Example", "127.0.0.1:6443", "given"},
		{"x.wild.example", "127.0.0.1:6443", "own.example"},
		{"exact.wild.example", "127.0.0.1:6443", "given"},
		{"dup.example", "127.0.0.1:6443", "first"},
		{"10.1.2.3", "127.0.0.1:6443", "default"},
		{"other.example", "127.0.0.1:6443", "default"},
		{"", "127.0.0.2:6443", "first"},
		{"", "127.0.0.1:6443", "default"},
	} {
		if got := servedCN(t, certs, c.serverName, c.local); got != c.want {
			t.Errorf("SNI %q on %s: served %q, want %q", c.serverName, c.local, got, c.want)
		}
	}
	if _, err := newServingCerts(defCert, defKey, []cliflag.NamedCertKey{{CertFile: filepath.Join(dir, "none.crt"), KeyFile: defKey}}, 0); err == nil ||
		!strings.HasPrefix(err.Error(), "failed to load SNI cert and key: ") {
		t.Errorf("a missing SNI pair: %v", err)
	}
}

// TestServingCertsReload: a rewritten pair is served after a reload; a
// pair that no longer loads keeps the last good one, with kube's line.
func TestServingCertsReload(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := testPair(t, dir, "serving", "one")
	sniCert, sniKey := testPair(t, dir, "sni", "sni-one", "sni.example")
	certs, err := newServingCerts(certFile, keyFile, []cliflag.NamedCertKey{{CertFile: sniCert, KeyFile: sniKey}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	testPair(t, dir, "serving", "two")
	testPair(t, dir, "sni", "sni-two", "sni.example")
	certs.reload()
	if got, sni := servedCN(t, certs, "", "127.0.0.1:1"), servedCN(t, certs, "sni.example", "127.0.0.1:1"); got != "two" || sni != "sni-two" {
		t.Fatalf("after rewriting: served %q and %q", got, sni)
	}

	var logged bytes.Buffer
	restore := captureKlog(t, &logged)
	otherCert, _ := testPairPEM(t, "three")
	if err := os.WriteFile(certFile, otherCert, 0o600); err != nil { // the key no longer matches
		t.Fatal(err)
	}
	certs.reload()
	restore()
	if got := servedCN(t, certs, "", "127.0.0.1:1"); got != "two" {
		t.Errorf("after a bad rewrite: served %q, want the last good one", got)
	}
	if !strings.Contains(logged.String(), `"Unhandled Error" err="key failed with : tls: private key does not match public key"`) {
		t.Errorf("logged %q, not kube's line", logged.String())
	}
}

// captureKlog sends klog's lines to w until restore.
func captureKlog(t *testing.T, w *bytes.Buffer) (restore func()) {
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	before := map[string]string{}
	fs.VisitAll(func(f *flag.Flag) { before[f.Name] = f.Value.String() })
	for name, v := range map[string]string{"logtostderr": "false", "alsologtostderr": "false", "stderrthreshold": "FATAL", "one_output": "true"} {
		if err := fs.Set(name, v); err != nil {
			t.Fatal(err)
		}
	}
	klog.SetOutput(w)
	return func() {
		klog.Flush()
		for name, v := range before {
			fs.Set(name, v)
		}
		klog.SetOutput(os.Stderr)
	}
}

// TestServingCertsRun: the loop picks up a rotation on its own (a watch
// or the interval) and ends with its context.
func TestServingCertsRun(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := testPair(t, dir, "serving", "one")
	certs, err := newServingCerts(certFile, keyFile, nil, 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { certs.run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	testPair(t, dir, "serving", "two")
	deadline := time.Now().Add(10 * time.Second)
	for servedCN(t, certs, "", "127.0.0.1:1") != "two" {
		if time.Now().After(deadline) {
			t.Fatal("the rewritten certificate is not served")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestTLSConfigFromFlags: the tls.Config and HTTP/2 settings the flags
// make, as kube's secure serving.
func TestTLSConfigFromFlags(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := testPair(t, dir, "serving", "one")
	certs, err := newServingCerts(certFile, keyFile, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Defaults()
	c, err := newTLSConfig(cfg, certs)
	if err != nil || c.MinVersion != tls.VersionTLS12 || c.CipherSuites != nil || c.CurvePreferences != nil ||
		!slices.Equal(c.NextProtos, []string{"h2", "http/1.1"}) || c.ClientAuth != tls.RequestClientCert {
		t.Errorf("defaults: %+v, %v", c, err)
	}
	cfg.TLSMinVersion, cfg.TLSCurvePreferences, cfg.DisableHTTP2Serving = "VersionTLS13", []int32{29}, true
	cfg.TLSCipherSuites = []string{"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "TLS_RSA_WITH_AES_128_CBC_SHA"}
	c, err = newTLSConfig(cfg, certs)
	if err != nil || c.MinVersion != tls.VersionTLS13 || !slices.Equal(c.CurvePreferences, []tls.CurveID{tls.X25519}) ||
		!slices.Equal(c.CipherSuites, []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_RSA_WITH_AES_128_CBC_SHA}) ||
		!slices.Equal(c.NextProtos, []string{"http/1.1"}) {
		t.Errorf("flags: %+v, %v", c, err)
	}
	if got := insecureCiphers(c.CipherSuites); !slices.Equal(got, []string{"TLS_RSA_WITH_AES_128_CBC_SHA"}) {
		t.Errorf("insecure ciphers %q", got)
	}
	if p := serveProtocols(cfg); p.HTTP2() || !p.HTTP1() {
		t.Errorf("--disable-http2-serving serves %v", p)
	}
	if h := http2Config(Defaults()); h.MaxConcurrentStreams != 100 || h.MaxReadFrameSize != 256<<10 ||
		h.MaxReceiveBufferPerStream != 256<<10 || h.MaxReceiveBufferPerConnection != 100*256<<10 {
		t.Errorf("HTTP/2 defaults %+v", h)
	}
	cfg.HTTP2MaxStreamsPerConnection = 1000
	if h := http2Config(cfg); h.MaxConcurrentStreams != 1000 || h.MaxReceiveBufferPerConnection != 1000*256<<10 {
		t.Errorf("--http2-max-streams-per-connection=1000: %+v", h)
	}
}

// TestCheckServingAggregates: several bad values are named together, as
// kube's validation does.
func TestCheckServingAggregates(t *testing.T) {
	cfg := Defaults()
	cfg.GoawayChance, cfg.StrictTransportSecurityDirectives = 1, []string{" "}
	err := CheckServing(cfg)
	if err == nil || err.Error() != "[--goaway-chance can not be less than 0 or greater than 0.02, empty value in strict-transport-security-directives]" {
		t.Errorf("%v", err)
	}
	cfg = Defaults()
	cfg.StrictTransportSecurityDirectives = []string{"max-age=31536000", "includeSubDomains", "preload"}
	cfg.GoawayChance = 0.02
	if err := CheckServing(cfg); err != nil {
		t.Error(err)
	}
}

// TestListenPortSharing: with --permit-port-sharing two servers listen on
// one address and port; without it the second fails.
func TestListenPortSharing(t *testing.T) {
	cfg := Defaults()
	cfg.BindAddress, cfg.SecurePort, cfg.PermitPortSharing = "127.0.0.1", 0, true
	first, err := listen(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	cfg.SecurePort = first.Addr().(*net.TCPAddr).Port
	second, err := listen(cfg)
	if err != nil {
		t.Fatalf("a second listener with --permit-port-sharing: %v", err)
	}
	second.Close()
	cfg.PermitPortSharing = false
	if third, err := listen(cfg); !errors.Is(err, syscall.EADDRINUSE) {
		if third != nil {
			third.Close()
		}
		t.Fatalf("a listener without --permit-port-sharing: %v", err)
	}
	cfg.PermitAddressSharing, cfg.SecurePort = true, 0
	ln, err := listen(cfg)
	if err != nil {
		t.Fatalf("--permit-address-sharing: %v", err)
	}
	ln.Close()
}

// TestCheckServerRunOptions: kube's ServerRunOptions checks: no negative
// limits or timeouts, and CORS origins that compile and pin the start and
// the end of the host (CVE-2022-1996), with kube's messages.
func TestCheckServerRunOptions(t *testing.T) {
	cfg := Defaults()
	cfg.MaxRequestsInFlight, cfg.MaxMutatingRequestsInFlight, cfg.RequestTimeout, cfg.MinRequestTimeout = -1, -1, -time.Second, -time.Second
	err := CheckServing(cfg)
	for _, want := range []string{"--max-requests-inflight can not be negative value", "--max-mutating-requests-inflight can not be negative value",
		"--request-timeout can not be negative value", "--min-request-timeout can not be negative value"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v: want %q", err, want)
		}
	}
	for origin, want := range map[string]string{
		`example\.com`:           "--cors-allowed-origins has an invalid regular expression: regular expression does not pin to start/end of host in the origin header, help: List of allowed origins",
		`//example\.com`:         "regular expression does not pin to start/end of host",
		`example\.com$`:          "regular expression does not pin to start/end of host",
		`//(example\.com`:        "--cors-allowed-origins has an invalid regular expression: error parsing regexp",
		``:                       "empty value in --cors-allowed-origins, help: List of allowed origins",
		`//example\.com(:|$)`:    "",
		`^https://example\.com$`: "",
		`https://a.example`:      "", // "//" and the scheme's ":": kube's check is that loose
	} {
		cfg := Defaults()
		cfg.CORSAllowedOrigins = []string{origin}
		err := CheckServing(cfg)
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("%q: %v, want %q", origin, err, want)
		}
	}
}
