package controllers

import (
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestCSRDone(t *testing.T) {
	now := time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) metav1.Time { return metav1.NewTime(now.Add(-d)) }
	ca, key := testCA(t, now.Add(time.Hour*24*365))
	certUntil := func(end time.Time) []byte {
		der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "x"},
			NotBefore: end.Add(-time.Hour), NotAfter: end}, ca, &key.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	}
	cond := func(typ certificatesv1.RequestConditionType, at metav1.Time) certificatesv1.CertificateSigningRequestCondition {
		return certificatesv1.CertificateSigningRequestCondition{Type: typ, Status: corev1.ConditionTrue, LastUpdateTime: at}
	}
	csr := func(created metav1.Time, cert []byte, conds ...certificatesv1.CertificateSigningRequestCondition) *certificatesv1.CertificateSigningRequest {
		return &certificatesv1.CertificateSigningRequest{ObjectMeta: metav1.ObjectMeta{Name: "c", CreationTimestamp: created},
			Status: certificatesv1.CertificateSigningRequestStatus{Conditions: conds, Certificate: cert}}
	}
	valid := certUntil(now.Add(time.Hour))
	for _, c := range []struct {
		name string
		csr  *certificatesv1.CertificateSigningRequest
		want string
	}{
		{"pending a day", csr(ago(25*time.Hour), nil), "as it is more than 24h0m0s old and unhandled"},
		{"pending an hour", csr(ago(time.Hour), nil), ""},
		{"denied long ago", csr(ago(3*time.Hour), nil, cond(certificatesv1.CertificateDenied, ago(2*time.Hour))), "as it is more than 1h0m0s old and denied"},
		{"denied just now", csr(ago(3*time.Hour), nil, cond(certificatesv1.CertificateDenied, ago(time.Minute))), ""},
		{"failed long ago", csr(ago(3*time.Hour), nil, cond(certificatesv1.CertificateApproved, ago(2*time.Hour)), cond(certificatesv1.CertificateFailed, ago(2*time.Hour))), "as it is more than 1h0m0s old and failed"},
		{"issued long ago", csr(ago(3*time.Hour), valid, cond(certificatesv1.CertificateApproved, ago(2*time.Hour))), "as it is more than 1h0m0s old and approved"},
		{"approved long ago, not issued", csr(ago(3*time.Hour), nil, cond(certificatesv1.CertificateApproved, ago(2*time.Hour))), ""},
		{"issued just now", csr(ago(3*time.Hour), valid, cond(certificatesv1.CertificateApproved, ago(time.Minute))), ""},
		{"issued and expired", csr(ago(3*time.Hour), certUntil(now.Add(-time.Second)), cond(certificatesv1.CertificateApproved, ago(time.Minute))), "as the associated certificate is expired"},
		{"no update time", csr(ago(48*time.Hour), valid, cond(certificatesv1.CertificateApproved, metav1.Time{})), ""},
	} {
		got, err := csrDone(c.csr, now)
		if err != nil || got != c.want {
			t.Errorf("%s: %q, %v; want %q", c.name, got, err, c.want)
		}
	}
	if _, err := csrDone(csr(ago(time.Hour), []byte("junk"), cond(certificatesv1.CertificateApproved, ago(time.Minute))), now); err == nil {
		t.Error("a certificate that is not PEM is an error")
	}
}
