package authn

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"kapi/internal/request"
)

// testCA is a CA that issues client certificates in memory.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newTestCA(t *testing.T, cn string) *testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

func (ca *testCA) roots() *x509.CertPool { return ca.pool }

func (ca *testCA) client(t *testing.T, cn string, usage x509.ExtKeyUsage) *x509.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return cert
}

func TestRequestHeader(t *testing.T) {
	front, other := newTestCA(t, "front-proxy-ca"), newTestCA(t, "kapi-ca")
	proxyCert := front.client(t, "front-proxy-client", x509.ExtKeyUsageClientAuth)
	a, err := NewRequestHeader(front.roots, []string{"front-proxy-client"},
		[]string{"X-Remote-User", " X-Other-User "}, []string{"X-Remote-Uid"}, []string{"X-Remote-Group", "X-Other-Group"}, []string{"X-Remote-Extra-", "X-Other-Extra-"})
	if err != nil {
		t.Fatal(err)
	}
	headers := func(kv ...string) http.Header {
		h := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			h.Add(kv[i], kv[i+1])
		}
		return h
	}
	cases := []struct {
		name   string
		auth   *RequestHeader
		cert   *x509.Certificate
		header http.Header
		want   *request.User
		kept   []string // headers left on the request
	}{
		{name: "front proxy with user, groups, uid and extras", cert: proxyCert,
			header: headers("X-Remote-User", "alice", "X-Remote-Uid", "u-1", "X-Remote-Group", "dev", "X-Remote-Group", "",
				"X-Other-Group", "ops", "X-Remote-Extra-Acme.com%2Fproject", "a", "X-Remote-Extra-Scopes", "s1",
				"X-Other-Extra-scopes", "s2", "X-Remote-Extra-Bad%zz", "b", "Accept", "application/json"),
			want: &request.User{Name: "alice", UID: "u-1", Groups: []string{"dev", "ops"},
				Extra: map[string][]string{"acme.com/project": {"a"}, "scopes": {"s1", "s2"}, "bad%zz": {"b"}}},
			kept: []string{"Accept"}},
		{name: "second username header", cert: proxyCert, header: headers("X-Remote-User", "", "X-Other-User", "bob"),
			want: &request.User{Name: "bob", Groups: []string{}, Extra: map[string][]string{}}},
		{name: "no user header is not mine", cert: proxyCert, header: headers("X-Remote-Group", "dev"), kept: []string{"X-Remote-Group"}},
		{name: "a certificate of another CA is not mine", cert: other.client(t, "front-proxy-client", x509.ExtKeyUsageClientAuth),
			header: headers("X-Remote-User", "alice"), kept: []string{"X-Remote-User"}},
		{name: "a common name not allowed", cert: front.client(t, "intruder", x509.ExtKeyUsageClientAuth),
			header: headers("X-Remote-User", "alice"), kept: []string{"X-Remote-User"}},
		{name: "a server certificate", cert: front.client(t, "front-proxy-client", x509.ExtKeyUsageServerAuth),
			header: headers("X-Remote-User", "alice"), kept: []string{"X-Remote-User"}},
		{name: "any common name when none is listed", auth: &RequestHeader{Roots: front.roots, UsernameHeaders: []string{"X-Remote-User"}},
			cert: front.client(t, "anyone", x509.ExtKeyUsageClientAuth), header: headers("X-Remote-User", "carol"),
			want: &request.User{Name: "carol", Groups: []string{}, Extra: map[string][]string{}}},
		{name: "no certificate", header: headers("X-Remote-User", "alice"), kept: []string{"X-Remote-User"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			auth := a
			if c.auth != nil {
				auth = c.auth
			}
			// Twice: the second answer comes from the remembered verdict.
			for range 2 {
				r := httptest.NewRequest(http.MethodGet, "/api", nil)
				r.Header = c.header.Clone()
				r.TLS = nil
				if c.cert != nil {
					r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{c.cert}}
				}
				u, ok, err := auth.AuthenticateRequest(r)
				if err != nil {
					t.Fatal(err)
				}
				if ok != (c.want != nil) || (ok && !reflect.DeepEqual(u, c.want)) {
					t.Fatalf("got %+v, %v; want %+v", u, ok, c.want)
				}
				var kept []string
				for k := range r.Header {
					kept = append(kept, k)
				}
				if !reflect.DeepEqual(kept, c.kept) {
					t.Fatalf("headers left %v, want %v", kept, c.kept)
				}
			}
		})
	}
}

func TestNewRequestHeaderRefusesBlankNames(t *testing.T) {
	if _, err := NewRequestHeader(nil, nil, []string{"X-Remote-User", " "}, nil, nil, nil); err == nil {
		t.Fatal("a blank header name was accepted")
	}
}

func TestUnionClearHeaders(t *testing.T) {
	rh, err := NewRequestHeader(nil, nil, []string{"X-Proxy-User"}, []string{"X-Proxy-Uid"}, []string{"X-Proxy-Group"}, []string{"X-Proxy-Extra-"})
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{"X-Remote-User": {"a"}, "X-Remote-Uid": {"u"}, "X-Remote-Group": {"g"}, "x-remote-extra-scopes": {"s"},
		"X-Proxy-User": {"a"}, "X-Proxy-Uid": {"u"}, "X-Proxy-Group": {"g"}, "X-Proxy-Extra-A": {"b"}, "Accept": {"*/*"}}
	Union{&X509{}, rh}.ClearHeaders(h)
	if want := (http.Header{"Accept": {"*/*"}}); !reflect.DeepEqual(h, want) {
		t.Fatalf("headers left: %v", h)
	}
}

// TestRequestHeaderCAFileRotation: a new CA written into
// --requestheader-client-ca-file is used without a restart, and the
// remembered verdicts of the old one are not.
func TestRequestHeaderCAFileRotation(t *testing.T) {
	oldCA, newCA := newTestCA(t, "old"), newTestCA(t, "new")
	pemOf := func(ca *testCA) []byte {
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw})
	}
	file := filepath.Join(t.TempDir(), "front-proxy-ca.crt")
	if err := os.WriteFile(file, pemOf(oldCA), 0o600); err != nil {
		t.Fatal(err)
	}
	ca, err := NewCAFile(file)
	if err != nil {
		t.Fatal(err)
	}
	ca.CheckEvery = 0
	a, _ := NewRequestHeader(ca.Pool, nil, []string{"X-Remote-User"}, nil, nil, nil)
	user := func(cert *x509.Certificate) bool {
		r := httptest.NewRequest(http.MethodGet, "/api", nil)
		r.Header.Set("X-Remote-User", "alice")
		r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{cert}}
		_, ok, _ := a.AuthenticateRequest(r)
		return ok
	}
	oldCert, newCert := oldCA.client(t, "proxy", x509.ExtKeyUsageClientAuth), newCA.client(t, "proxy", x509.ExtKeyUsageClientAuth)
	if !user(oldCert) || user(newCert) {
		t.Fatal("before the rotation")
	}
	// Both during the rotation, then the new one alone.
	if err := os.WriteFile(file, append(pemOf(oldCA), pemOf(newCA)...), 0o600); err != nil {
		t.Fatal(err)
	}
	if !user(oldCert) || !user(newCert) {
		t.Fatal("during the rotation")
	}
	if err := os.WriteFile(file, append(pemOf(newCA), '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	if user(oldCert) || !user(newCert) {
		t.Fatal("after the rotation")
	}
	// A broken file keeps the last good CA.
	if err := os.WriteFile(file, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	if !user(newCert) {
		t.Fatal("a broken file dropped the CA")
	}
}
