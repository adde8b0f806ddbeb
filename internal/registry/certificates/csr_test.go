package certificates

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/registry"
	"kapi/internal/registry/schemas"
)

func testCSR(t *testing.T) *certificatesv1.CertificateSigningRequest {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "alice"}}, key)
	if err != nil {
		t.Fatal(err)
	}
	return &certificatesv1.CertificateSigningRequest{ObjectMeta: metav1.ObjectMeta{Name: "alice", ResourceVersion: "1"},
		Spec: certificatesv1.CertificateSigningRequestSpec{Request: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
			SignerName: certificatesv1.KubeAPIServerClientSignerName, Usages: []certificatesv1.KeyUsage{certificatesv1.UsageClientAuth}}}
}

func csrRow(t *testing.T) *registry.Resource {
	t.Helper()
	rows := Resources()
	for _, r := range rows {
		if r.Name == "certificatesigningrequests" {
			typ, err := registry.GoType(r.GVK(), schemas.Builtin, registry.NewConvertor(rows))
			if err != nil {
				t.Fatal(err)
			}
			r.Type = typ
			return r
		}
	}
	t.Fatal("no certificatesigningrequests row")
	return nil
}

func errText(t *testing.T, errs field.ErrorList) string {
	if agg := errs.ToAggregate(); agg != nil {
		return agg.Error()
	}
	return ""
}

func TestCSRCreateValidation(t *testing.T) {
	good := testCSR(t)
	if errs := csrHooks.Validate(good, nil); len(errs) > 0 {
		t.Fatalf("a good CSR: %v", errs)
	}
	for _, c := range []struct {
		change func(*certificatesv1.CertificateSigningRequest)
		want   string
	}{
		{func(c *certificatesv1.CertificateSigningRequest) { c.Spec.Usages = nil }, "spec.usages: Required value: usages must be provided"},
		{func(c *certificatesv1.CertificateSigningRequest) {
			c.Spec.Usages = append(c.Spec.Usages, "client auth")
		}, `spec.usages[1]: Duplicate value: "client auth"`},
		{func(c *certificatesv1.CertificateSigningRequest) { c.Spec.Usages = []certificatesv1.KeyUsage{"fly"} }, `spec.usages[0]: Unsupported value: "fly"`},
		{func(c *certificatesv1.CertificateSigningRequest) { c.Spec.SignerName = "" }, "spec.signerName: Required value: signerName must be provided"},
		{func(c *certificatesv1.CertificateSigningRequest) { c.Spec.SignerName = "kubernetes.io/legacy-unknown" }, "spec.signerName: Invalid value: \"kubernetes.io/legacy-unknown\": the legacy signerName is not allowed via this API version"},
		{func(c *certificatesv1.CertificateSigningRequest) { c.Spec.SignerName = "localhost/x" }, "should be a domain with at least two segments separated by dots"},
		{func(c *certificatesv1.CertificateSigningRequest) { c.Spec.Request = []byte("junk") }, "spec.request: Invalid value"},
		{func(c *certificatesv1.CertificateSigningRequest) { s := int32(599); c.Spec.ExpirationSeconds = &s }, "spec.expirationSeconds: Invalid value: 599: may not specify a duration less than 600 seconds (10 minutes)"},
	} {
		csr := good.DeepCopy()
		c.change(csr)
		if got := errText(t, csrHooks.Validate(csr, nil)); !strings.Contains(got, c.want) {
			t.Errorf("got %q, want %q", got, c.want)
		}
	}
}

func TestCSRApprovalWrite(t *testing.T) {
	r := csrRow(t)
	old := testCSR(t)
	in := old.DeepCopy()
	in.Spec.Usages = []certificatesv1.KeyUsage{certificatesv1.UsageServerAuth}
	in.Status.Certificate = []byte("sneaked in")
	in.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{{Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue}}
	out, err := csrApproval.Write(r, in, old)
	if err != nil {
		t.Fatal(err)
	}
	csr := out.(*certificatesv1.CertificateSigningRequest)
	if csr.Spec.Usages[0] != certificatesv1.UsageClientAuth || len(csr.Status.Certificate) > 0 || len(csr.Status.Conditions) != 1 ||
		csr.Status.Conditions[0].LastUpdateTime.IsZero() || csr.Status.Conditions[0].LastTransitionTime.IsZero() {
		t.Fatalf("approval wrote %+v %+v", csr.Spec, csr.Status)
	}
	if errs := csrApproval.Validate(csr, old); len(errs) > 0 {
		t.Fatalf("an approval: %v", errs)
	}
	// A second write keeps the transition time of an unchanged condition.
	again := csr.DeepCopy()
	again.Status.Conditions[0].LastTransitionTime = metav1.Time{}
	out, _ = csrApproval.Write(r, again, csr)
	if got := out.(*certificatesv1.CertificateSigningRequest).Status.Conditions[0].LastTransitionTime; !got.Equal(&csr.Status.Conditions[0].LastTransitionTime) {
		t.Errorf("transition time %v, want %v", got, csr.Status.Conditions[0].LastTransitionTime)
	}
	removed := csr.DeepCopy()
	removed.Status.Conditions = nil
	if got := errText(t, csrApproval.Validate(removed, csr)); got != `status.conditions: Forbidden: updates may not remove a condition of type "Approved"` {
		t.Errorf("removal: %q", got)
	}
}

func TestCSRStatusWrite(t *testing.T) {
	r := csrRow(t)
	old := testCSR(t)
	old.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{{Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue,
		Reason: "ByHuman", LastUpdateTime: metav1.NewTime(time.Now().Add(-time.Hour)), LastTransitionTime: metav1.NewTime(time.Now().Add(-time.Hour))}}
	// The signer's write: its copy of Approved is reset to the stored one.
	in := old.DeepCopy()
	in.Status.Conditions[0].Reason = "Rewritten"
	in.Spec.SignerName = "example.com/other"
	out, err := csrStatus.Write(r, in, old)
	if err != nil {
		t.Fatal(err)
	}
	csr := out.(*certificatesv1.CertificateSigningRequest)
	if csr.Status.Conditions[0].Reason != "ByHuman" || csr.Spec.SignerName != certificatesv1.KubeAPIServerClientSignerName {
		t.Fatalf("status wrote %+v %+v", csr.Spec, csr.Status)
	}
	added := old.DeepCopy()
	added.Status.Conditions = append(added.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{Type: certificatesv1.CertificateDenied, Status: corev1.ConditionTrue})
	out, _ = csrStatus.Write(r, added, old)
	if got := errText(t, csrStatus.Validate(out, old)); !strings.Contains(got, `updates may not add a condition of type "Denied"`) {
		t.Errorf("denial through status: %q", got)
	}
	bad := old.DeepCopy()
	bad.Status.Certificate = []byte("not a certificate")
	out, _ = csrStatus.Write(r, bad, old)
	if got := errText(t, csrStatus.Validate(out, old)); got != `status.certificate: Invalid value: "<certificate data>": must contain at least one CERTIFICATE PEM block` {
		t.Errorf("a bad certificate: %q", got)
	}
	// The object itself may not set a certificate.
	viaObject := old.DeepCopy()
	viaObject.Status.Certificate = []byte("x")
	if got := errText(t, csrHooks.Validate(viaObject, old)); !strings.Contains(got, "status.certificate: Forbidden: updates may not set certificate content") {
		t.Errorf("a certificate through the object: %q", got)
	}
}
