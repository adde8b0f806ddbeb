package controllers

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
)

func testCA(t *testing.T, notAfter time.Time) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test-ca"},
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: notAfter, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return ca, key
}

func testRequest(t *testing.T, tmpl *x509.CertificateRequest) *x509.CertificateRequest {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		t.Fatal(err)
	}
	req, err := x509.ParseCertificateRequest(der)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestCertDuration(t *testing.T) {
	secs := func(s int32) *int32 { return &s }
	for _, c := range []struct {
		signer    time.Duration
		requested *int32
		want      time.Duration
	}{
		{time.Hour, nil, time.Hour},
		{time.Hour, secs(7200), time.Hour},
		{time.Hour, secs(1800), 30 * time.Minute},
		{time.Hour, secs(60), 10 * time.Minute},
		{365 * 24 * time.Hour, secs(3600), time.Hour},
	} {
		if got := certDuration(c.signer, c.requested); got != c.want {
			t.Errorf("certDuration(%v, %v) = %v, want %v", c.signer, c.requested, got, c.want)
		}
	}
}

func TestSignRequest(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ca, key := testCA(t, now.Add(365*24*time.Hour))
	req := testRequest(t, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "alice", Organization: []string{"devs"}},
		DNSNames: []string{"a.example.com"}, IPAddresses: []net.IP{net.ParseIP("10.0.0.1")}})
	usages := []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageKeyEncipherment,
		certificatesv1.UsageServerAuth, certificatesv1.UsageClientAuth, certificatesv1.UsageClientAuth}
	parse := func(p []byte) *x509.Certificate {
		t.Helper()
		b, _ := pem.Decode(p)
		if b == nil || b.Type != "CERTIFICATE" {
			t.Fatalf("not a PEM certificate: %q", p)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	out, err := signRequest(ca, key, req, usages, time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	c := parse(out)
	if err := c.CheckSignatureFrom(ca); err != nil {
		t.Fatal(err)
	}
	// Short: backdated at its start only.
	if !c.NotBefore.Equal(now.Add(-5*time.Minute)) || !c.NotAfter.Equal(now.Add(time.Hour)) {
		t.Errorf("validity %v to %v", c.NotBefore, c.NotAfter)
	}
	if c.Subject.CommonName != "alice" || !slices.Equal(c.Subject.Organization, []string{"devs"}) ||
		!slices.Equal(c.DNSNames, []string{"a.example.com"}) || len(c.IPAddresses) != 1 || c.IsCA || !c.BasicConstraintsValid {
		t.Errorf("certificate %+v", c)
	}
	if c.KeyUsage != x509.KeyUsageDigitalSignature|x509.KeyUsageKeyEncipherment ||
		!slices.Equal(c.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}) {
		t.Errorf("usages %v %v", c.KeyUsage, c.ExtKeyUsage)
	}
	// Long: its whole span starts 5 minutes back.
	out, err = signRequest(ca, key, req, usages, 10*time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	if c := parse(out); !c.NotAfter.Equal(now.Add(-5*time.Minute + 10*time.Hour)) {
		t.Errorf("a 10h certificate ends %v", c.NotAfter)
	}
	// Never beyond the CA.
	soon, soonKey := testCA(t, now.Add(30*time.Minute))
	out, err = signRequest(soon, soonKey, req, usages, time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	if c := parse(out); !c.NotAfter.Equal(soon.NotAfter) {
		t.Errorf("ends %v after the CA's %v", c.NotAfter, soon.NotAfter)
	}
	expired, expiredKey := testCA(t, now.Add(-10*time.Minute))
	if _, err := signRequest(expired, expiredKey, req, usages, time.Hour, now); err == nil || !strings.Contains(err.Error(), "the signer has expired") {
		t.Errorf("an expired CA: %v", err)
	}
	// Expired within the backdating: kube's second message.
	expired, expiredKey = testCA(t, now.Add(-time.Minute))
	if _, err := signRequest(expired, expiredKey, req, usages, time.Hour, now); err == nil ||
		!strings.Contains(err.Error(), "refusing to sign a certificate that expired in the past") {
		t.Errorf("a CA expired a minute ago: %v", err)
	}
	if _, err := signRequest(ca, key, req, []certificatesv1.KeyUsage{"teleport"}, time.Hour, now); err == nil || err.Error() != "unrecognized usage: teleport" {
		t.Errorf("an unknown usage: %v", err)
	}
}

func TestSignerChecks(t *testing.T) {
	node := pkix.Name{CommonName: "system:node:n1", Organization: []string{"system:nodes"}}
	u := func(us ...certificatesv1.KeyUsage) []certificatesv1.KeyUsage { return us }
	const ds, ke, ca, sa = certificatesv1.UsageDigitalSignature, certificatesv1.UsageKeyEncipherment,
		certificatesv1.UsageClientAuth, certificatesv1.UsageServerAuth
	for _, c := range []struct {
		signer string
		req    *x509.CertificateRequest
		usages []certificatesv1.KeyUsage
		want   string
	}{
		{certificatesv1.KubeAPIServerClientSignerName, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "a"}}, u(ca), ""},
		{certificatesv1.KubeAPIServerClientSignerName, &x509.CertificateRequest{}, u(ds, ke, ca), ""},
		{certificatesv1.KubeAPIServerClientSignerName, &x509.CertificateRequest{}, u(ds), "missing required usage for client certificate: client auth"},
		{certificatesv1.KubeAPIServerClientSignerName, &x509.CertificateRequest{}, u(ca, sa), "invalid usage for client certificate: server auth"},
		{certificatesv1.KubeAPIServerClientKubeletSignerName, &x509.CertificateRequest{Subject: node}, u(ds, ca), ""},
		{certificatesv1.KubeAPIServerClientKubeletSignerName, &x509.CertificateRequest{Subject: node}, u(ds, ke, ca), ""},
		{certificatesv1.KubeAPIServerClientKubeletSignerName, &x509.CertificateRequest{Subject: node}, u(ca), "usages did not match [client auth digital signature key encipherment]"},
		{certificatesv1.KubeAPIServerClientKubeletSignerName, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "system:node:n1"}}, u(ds, ca), "subject organization is not system:nodes"},
		{certificatesv1.KubeAPIServerClientKubeletSignerName, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "n1", Organization: []string{"system:nodes"}}}, u(ds, ca), "subject common name does not begin with system:node:"},
		{certificatesv1.KubeAPIServerClientKubeletSignerName, &x509.CertificateRequest{Subject: node, DNSNames: []string{"n1"}}, u(ds, ca), "DNS subjectAltNames are not allowed"},
		{certificatesv1.KubeletServingSignerName, &x509.CertificateRequest{Subject: node, DNSNames: []string{"n1"}}, u(ds, ke, sa), ""},
		{certificatesv1.KubeletServingSignerName, &x509.CertificateRequest{Subject: node}, u(ds, sa), "DNS or IP subjectAltName is required"},
		{certificatesv1.KubeletServingSignerName, &x509.CertificateRequest{Subject: node, IPAddresses: []net.IP{net.ParseIP("10.0.0.1")}}, u(ds, ca), "usages did not match [digital signature key encipherment server auth]"},
		{certificatesv1.KubeletServingSignerName, &x509.CertificateRequest{Subject: node, EmailAddresses: []string{"a@b.c"}, DNSNames: []string{"n1"}}, u(ds, sa), "Email subjectAltNames are not allowed"},
		{"kubernetes.io/legacy-unknown", &x509.CertificateRequest{}, u(sa), ""},
	} {
		check, ok := signerChecks[c.signer]
		if !ok {
			t.Fatalf("no check for %s", c.signer)
		}
		err := check(c.req, c.usages)
		if got := ""; err != nil {
			got = err.Error()
			if got != c.want {
				t.Errorf("%s %v %v: %q, want %q", c.signer, c.req.Subject, c.usages, got, c.want)
			}
		} else if c.want != "" {
			t.Errorf("%s %v %v: no error, want %q", c.signer, c.req.Subject, c.usages, c.want)
		}
	}
	if _, ok := signerChecks["example.com/other"]; ok {
		t.Error("a signer kube does not run is signed")
	}
}
