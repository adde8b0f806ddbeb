package certificates

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// testCert is a self-signed certificate in PEM, a CA or not.
func testCert(t *testing.T, ca bool) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "t"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), IsCA: ca, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// TestClusterTrustBundleValidation: kube's rules and messages.
func TestClusterTrustBundleValidation(t *testing.T) {
	ca, leaf := testCert(t, true), testCert(t, false)
	bundle := func(name, signer, pems string) *certificatesv1.ClusterTrustBundle {
		return &certificatesv1.ClusterTrustBundle{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: certificatesv1.ClusterTrustBundleSpec{SignerName: signer, TrustBundle: pems}}
	}
	for _, c := range []struct {
		name string
		b    *certificatesv1.ClusterTrustBundle
		want string
	}{
		{"signer's", bundle("example.com:foo:a", "example.com/foo", ca), ""},
		{"no signer", bundle("plain", "", ca), ""},
		{"colon without signer", bundle("a:b", "", ca), `metadata.name: Invalid value: "a:b": ClusterTrustBundle without signer name must not have ":" in its name`},
		{"wrong prefix", bundle("example.com:bar:a", "example.com/foo", ca),
			`metadata.name: Invalid value: "example.com:bar:a": ClusterTrustBundle for signerName example.com/foo must be named with prefix example.com:foo:`},
		{"bad signer", bundle("foo:a", "foo", ca), `spec.signerName: Invalid value: "foo": must be a fully qualified domain and path of the form 'example.com/signer-name'`},
		{"not a CA", bundle("plain", "", leaf), `spec.trustBundle: Invalid value: "<value omitted>": entry 0 does not have the CA bit set`},
		{"empty", bundle("plain", "", "not pem"), `spec.trustBundle: Invalid value: "<value omitted>": at least one trust anchor must be provided`},
		{"twice", bundle("plain", "", ca+ca), `spec.trustBundle: Invalid value: "<value omitted>": duplicate trust anchor (indices [0 1])`},
		{"key block", bundle("plain", "", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
			`spec.trustBundle: Invalid value: "<value omitted>": entry 0 has bad block type: PRIVATE KEY`},
	} {
		got := clusterTrustBundleHooks.Validate(c.b, nil).ToAggregate()
		switch {
		case c.want == "" && got != nil:
			t.Errorf("%s: %v", c.name, got)
		case c.want != "" && (got == nil || !strings.Contains(got.Error(), c.want)):
			t.Errorf("%s: %v, want %q", c.name, got, c.want)
		}
	}
	// An update: the signer is immutable; an unchanged bundle is not
	// parsed again.
	old := bundle("example.com:foo:a", "example.com/foo", leaf)
	changed := bundle("example.com:foo:a", "example.com/bar", leaf)
	got := clusterTrustBundleHooks.Validate(changed, old).ToAggregate()
	if got == nil || !strings.Contains(got.Error(), "spec.signerName: Invalid value: \"example.com/bar\": field is immutable") ||
		strings.Contains(got.Error(), "trustBundle") {
		t.Errorf("signer changed: %v", got)
	}
}
