package certificates

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

// TestPodCertificateRequestDefault: the declarative +default=86400 of
// spec.maxExpirationSeconds, on create and on every write.
func TestPodCertificateRequestDefault(t *testing.T) {
	pcr := &certificatesv1.PodCertificateRequest{}
	podCertificateRequestHooks.PrepareCreate(pcr)
	if m := pcr.Spec.MaxExpirationSeconds; m == nil || *m != 86400 {
		t.Errorf("maxExpirationSeconds %v, want 86400", m)
	}
	given := int32(3600)
	pcr.Spec.MaxExpirationSeconds = &given
	podCertificateRequestHooks.PrepareUpdate(pcr, pcr.DeepCopy())
	if *pcr.Spec.MaxExpirationSeconds != 3600 {
		t.Errorf("a given maxExpirationSeconds changed to %d", *pcr.Spec.MaxExpirationSeconds)
	}
}

// stubRequest is a kubelet's stub PKCS#10 request for key.
func stubRequest(t *testing.T, key crypto.Signer) []byte {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func validPCR(t *testing.T, key crypto.Signer) *certificatesv1.PodCertificateRequest {
	pcr := &certificatesv1.PodCertificateRequest{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "req"},
		Spec: certificatesv1.PodCertificateRequestSpec{SignerName: "example.com/pods", PodName: "web", PodUID: "pod-uid",
			ServiceAccountName: "default", ServiceAccountUID: "sa-uid", NodeName: "n1", NodeUID: "node-uid",
			StubPKCS10Request: stubRequest(t, key)},
	}
	podCertificateRequestHooks.PrepareCreate(pcr)
	return pcr
}

// TestPodCertificateRequestValidation: kube 1.37's create and update
// validation, message for message.
func TestPodCertificateRequestValidation(t *testing.T) {
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	for _, c := range []struct {
		name string
		mut  func(*certificatesv1.PodCertificateRequest)
		want string
	}{
		{"valid", func(*certificatesv1.PodCertificateRequest) {}, ""},
		{"no signer", func(r *certificatesv1.PodCertificateRequest) { r.Spec.SignerName = "" }, "spec.signerName: Required value"},
		{"names and uids", func(r *certificatesv1.PodCertificateRequest) {
			r.Spec.PodName, r.Spec.PodUID, r.Spec.ServiceAccountName, r.Spec.NodeUID = "Web", "", "a_b", types.UID(strings.Repeat("u", 129))
		}, `spec.podName: Invalid value: "Web": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*'), spec.podUID: Invalid value: "": must not be empty, spec.serviceAccountName: Invalid value: "a_b": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*'), spec.nodeUID: Too long: may not be more than 128 bytes`},
		{"a day at most for kubernetes.io", func(r *certificatesv1.PodCertificateRequest) {
			r.Spec.SignerName, r.Spec.MaxExpirationSeconds = "kubernetes.io/kube-apiserver-client-pod", ptr.To[int32](2*86400)
		}, "spec.maxExpirationSeconds: Invalid value: 172800: must be in the range [3600, 86400]"},
		{"91 days for others", func(r *certificatesv1.PodCertificateRequest) { r.Spec.MaxExpirationSeconds = ptr.To[int32](60) },
			"spec.maxExpirationSeconds: Invalid value: 60: must be in the range [3600, 7862400]"},
		{"no key", func(r *certificatesv1.PodCertificateRequest) { r.Spec.StubPKCS10Request = nil },
			"spec: Invalid value: exactly one of (stubPKCS10Request) or (pkixPublicKey, proofOfPossession) must be set"},
		{"not a request", func(r *certificatesv1.PodCertificateRequest) { r.Spec.StubPKCS10Request = []byte("junk") },
			"spec.stubPKCS10Request: Invalid value: must be a valid PKCS#10 CSR"},
		{"a small RSA key", func(r *certificatesv1.PodCertificateRequest) { r.Spec.StubPKCS10Request = stubRequest(t, rsaKey) },
			`spec.stubPKCS10Request: Invalid value: "2048-bit modulus": RSA keys must have modulus size 3072 or 4096`},
		{"a P-224 key", func(r *certificatesv1.PodCertificateRequest) { r.Spec.StubPKCS10Request = stubRequest(t, p224) },
			`spec.stubPKCS10Request: Invalid value: "curve P-224": elliptic public keys must use curve P256, P384, or P521`},
		{"a bad signature", func(r *certificatesv1.PodCertificateRequest) {
			r.Spec.StubPKCS10Request[len(r.Spec.StubPKCS10Request)-1] ^= 1
		}, "spec.stubPKCS10Request: Invalid value: invalid signature"},
	} {
		t.Run(c.name, func(t *testing.T) {
			pcr := validPCR(t, edKey)
			c.mut(pcr)
			if got := podCertificateRequestHooks.Validate(pcr, nil).ToAggregate(); (got == nil) != (c.want == "") || got != nil && got.Error() != "["+c.want+"]" && got.Error() != c.want {
				t.Errorf("got %v\nwant %s", got, c.want)
			}
		})
	}
	old := validPCR(t, edKey)
	changed := old.DeepCopy()
	changed.Spec.PodName = "other"
	if errs := podCertificateRequestHooks.Validate(changed, old); len(errs) != 1 || errs[0].Field != "spec" || errs[0].Type != field.ErrorTypeInvalid {
		t.Errorf("a change of spec: %v", errs)
	}
}

// TestPodCertificateRequestStatus: kube 1.37's status validation: one
// terminal condition, true; an issued chain whose leaf is the requested
// key's, with its times; nothing changes after.
func TestPodCertificateRequestStatus(t *testing.T) {
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	_, caKey, _ := ed25519.GenerateKey(rand.Reader)
	now := time.Now().Truncate(time.Second)
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ca"}, NotBefore: now, NotAfter: now.Add(48 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	issue := func(pub crypto.PublicKey, lifetime time.Duration) string {
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), NotBefore: now, NotAfter: now.Add(lifetime)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, pub, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	}
	cond := func(typ string) []metav1.Condition {
		return []metav1.Condition{{Type: typ, Status: metav1.ConditionTrue, Reason: "Done", LastTransitionTime: metav1.NewTime(now)}}
	}
	issued := func(chain string, lifetime time.Duration) certificatesv1.PodCertificateRequestStatus {
		return certificatesv1.PodCertificateRequestStatus{Conditions: cond(certificatesv1.PodCertificateRequestConditionTypeIssued),
			CertificateChain: chain, NotBefore: ptr.To(metav1.NewTime(now)), NotAfter: ptr.To(metav1.NewTime(now.Add(lifetime))),
			BeginRefreshAt: ptr.To(metav1.NewTime(now.Add(lifetime / 2)))}
	}
	pending := validPCR(t, edKey)
	for _, c := range []struct {
		name   string
		old    *certificatesv1.PodCertificateRequest
		status certificatesv1.PodCertificateRequestStatus
		want   string
	}{
		{"issued", pending, issued(issue(edKey.Public(), 12*time.Hour), 12*time.Hour), ""},
		{"issued to another key", pending, issued(issue(otherKey.Public(), 12*time.Hour), 12*time.Hour),
			"status.certificateChain: Invalid value: \"-----BEGIN CERTIFICATE-----"},
		{"longer than asked", pending, issued(issue(edKey.Public(), 25*time.Hour), 25*time.Hour),
			"status.certificateChain: Invalid value: 90000000000000: leaf certificate lifetime must be <= spec.maxExpirationSeconds (86400)"},
		{"no times", pending, certificatesv1.PodCertificateRequestStatus{Conditions: cond(certificatesv1.PodCertificateRequestConditionTypeIssued),
			CertificateChain: issue(edKey.Public(), time.Hour)},
			"status.notBefore: Required value: must be present and consistent with the issued certificate"},
		{"denied with a chain", pending, certificatesv1.PodCertificateRequestStatus{Conditions: cond(certificatesv1.PodCertificateRequestConditionTypeDenied),
			CertificateChain: "x"}, "status: Invalid value: non-condition status fields must be empty when denying or failing the PodCertificateRequest"},
		{"an unknown condition", pending, certificatesv1.PodCertificateRequestStatus{Conditions: cond("Approved")},
			`status.conditions[0].type: Unsupported value: "Approved": supported values: "Issued", "Denied", "Failed"`},
		{"a chain without a condition", pending, certificatesv1.PodCertificateRequestStatus{CertificateChain: "x"},
			`status: Invalid value: status is immutable unless transitioning to "Issued", "Denied", or "Failed"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			req := c.old.DeepCopy()
			req.Status = c.status
			errs := pcrStatus.Validate(req, c.old)
			if got := errs.ToAggregate(); (got == nil) != (c.want == "") || got != nil && !strings.Contains(got.Error(), c.want) {
				t.Errorf("got %v\nwant %s", got, c.want)
			}
		})
	}
	done := pending.DeepCopy()
	done.Status = certificatesv1.PodCertificateRequestStatus{Conditions: cond(certificatesv1.PodCertificateRequestConditionTypeFailed)}
	again := done.DeepCopy()
	again.Status.Conditions[0].Reason = "Other"
	if got := pcrStatus.Validate(again, done).ToAggregate(); got == nil || !strings.Contains(got.Error(), "immutable after PodCertificateRequest is issued, denied, or failed") {
		t.Errorf("a change after failing: %v", got)
	}
}
