package x509metrics

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"kapi/internal/request"
)

// serve starts a TLS server with the certificate leaf signed by ca (the
// client's root) and returns its URL and a client of it through Wrap.
func serve(t *testing.T, leaf *x509.Certificate, leafKey any, ca *x509.Certificate, caKey any) (string, *http.Client) {
	t.Helper()
	der, err := x509.CreateCertificate(rand.Reader, leaf, ca, leafKey.(crypto.Signer).Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: leafKey}}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	roots := x509.NewCertPool()
	if ca == leaf {
		ca, err = x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
	}
	roots.AddCert(ca)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}
	t.Cleanup(tr.CloseIdleConnections)
	return srv.URL, &http.Client{Transport: Wrap(tr)}
}

// call makes one call in a request's context and returns its error and
// the audit annotations it left.
func call(t *testing.T, c *http.Client, url string) (error, map[string]string) {
	t.Helper()
	ctx := request.WithAuditID(t.Context(), "id")
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err == nil {
		resp.Body.Close()
	}
	return err, request.EarlyAnnotations(ctx)
}

func template(serial int64, cn string) *x509.Certificate {
	return &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
}

// TestMissingSAN: a server whose certificate names 127.0.0.1 only in its
// Common Name fails the handshake; the failure is counted and annotated.
func TestMissingSAN(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cert := template(1, "127.0.0.1")
	cert.IsCA, cert.BasicConstraintsValid = true, true
	url, c := serve(t, cert, key, cert, key)
	before, sha1Before := testutil.ToFloat64(missingSAN), testutil.ToFloat64(insecureSHA1)
	err, annotations := call(t, c, url)
	if err == nil {
		t.Fatal("a certificate without SANs was accepted")
	}
	if got := testutil.ToFloat64(missingSAN); got != before+1 {
		t.Errorf("missing SAN counted %v -> %v (%v)", before, got, err)
	}
	if got := testutil.ToFloat64(insecureSHA1); got != sha1Before {
		t.Errorf("insecure SHA-1 counted %v -> %v", sha1Before, got)
	}
	if got := annotations["missing-san.invalid-cert.kubernetes.io/127.0.0.1"]; got != "relies on a legacy Common Name field instead of the SAN extension for subject validation" {
		t.Errorf("annotations %v", annotations)
	}
}

// TestInsecureSHA1: a server certificate signed with SHA-1 by the root
// fails verification; the failure is counted and annotated. A good
// certificate counts nothing.
func TestInsecureSHA1(t *testing.T) {
	caKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := template(1, "root")
	caTmpl.IsCA, caTmpl.BasicConstraintsValid = true, true
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		alg  x509.SignatureAlgorithm
		fail bool
	}{{"SHA-1", x509.SHA1WithRSA, true}, {"SHA-256", x509.SHA256WithRSA, false}} {
		t.Run(c.name, func(t *testing.T) {
			leaf := template(2, "server")
			leaf.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
			leaf.SignatureAlgorithm = c.alg
			url, client := serve(t, leaf, leafKey, ca, caKey)
			before, sanBefore := testutil.ToFloat64(insecureSHA1), testutil.ToFloat64(missingSAN)
			err, annotations := call(t, client, url)
			if (err != nil) != c.fail {
				t.Fatalf("error %v", err)
			}
			want := before
			if c.fail {
				want++
				if got := annotations["insecure-sha1.invalid-cert.kubernetes.io/127.0.0.1"]; got != "uses an insecure SHA-1 signature" {
					t.Errorf("annotations %v", annotations)
				}
			} else if len(annotations) != 0 {
				t.Errorf("annotations %v", annotations)
			}
			if got := testutil.ToFloat64(insecureSHA1); got != want {
				t.Errorf("insecure SHA-1 counted %v -> %v, want %v (%v)", before, got, want, err)
			}
			if got := testutil.ToFloat64(missingSAN); got != sanBefore {
				t.Errorf("missing SAN counted %v -> %v", sanBefore, got)
			}
		})
	}
}
