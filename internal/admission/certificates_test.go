package admission

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"testing"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"kapi/internal/authz"
	"kapi/internal/request"
)

// signerAuthorizer allows what its rules name: "user verb signer-name".
type signerAuthorizer struct {
	allow map[string]bool
	asked []authz.Attributes
}

func (s *signerAuthorizer) Authorize(_ context.Context, a authz.Attributes) (authz.Decision, string, error) {
	s.asked = append(s.asked, a)
	if a.APIGroup == "certificates.k8s.io" && a.Resource == "signers" && a.APIVersion == "*" && a.ResourceRequest &&
		s.allow[a.User.Name+" "+a.Verb+" "+a.Name] {
		return authz.Allow, "", nil
	}
	return authz.NoOpinion, "", nil
}

var csrsRow = row("certificates.k8s.io/v1/certificatesigningrequests", false)

func csrFor(signer string) *certificatesv1.CertificateSigningRequest {
	return &certificatesv1.CertificateSigningRequest{ObjectMeta: metav1.ObjectMeta{Name: "csr"}, Spec: certificatesv1.CertificateSigningRequestSpec{SignerName: signer}}
}

func TestCertificateApprovalAndSigning(t *testing.T) {
	az := &signerAuthorizer{allow: map[string]bool{
		"alice approve example.com/one": true,
		"alice sign example.com/one":    true,
		"bob approve kubernetes.io/*":   true,
		"bob sign kubernetes.io/*":      true,
	}}
	approved := func(signer string) *certificatesv1.CertificateSigningRequest {
		c := csrFor(signer)
		c.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{{Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue}}
		return c
	}
	signed := func(signer string) *certificatesv1.CertificateSigningRequest {
		c := csrFor(signer)
		c.Status.Certificate = []byte("cert")
		return c
	}
	as := func(a *Attributes, user string) *Attributes {
		a.User = &request.User{Name: user}
		return a
	}
	for _, tc := range []struct {
		name string
		a    *Attributes
		want string
	}{
		{"approve by name", as(attrs(Update, csrsRow, "approval", approved("example.com/one"), csrFor("example.com/one")), "alice"), ""},
		{"approve by domain", as(attrs(Update, csrsRow, "approval", approved("kubernetes.io/kubelet-serving"), csrFor("kubernetes.io/kubelet-serving")), "bob"), ""},
		{"approve refused", as(attrs(Update, csrsRow, "approval", approved("example.com/two"), csrFor("example.com/two")), "alice"),
			`certificatesigningrequests.certificates.k8s.io "csr" is forbidden: user not permitted to approve requests with signerName "example.com/two"`},
		{"sign", as(attrs(Update, csrsRow, "status", signed("example.com/one"), csrFor("example.com/one")), "alice"), ""},
		{"sign refused", as(attrs(Update, csrsRow, "status", signed("kubernetes.io/kubelet-serving"), csrFor("kubernetes.io/kubelet-serving")), "alice"),
			`certificatesigningrequests.certificates.k8s.io "csr" is forbidden: user not permitted to sign requests with signerName "kubernetes.io/kubelet-serving"`},
		{"status unchanged", as(attrs(Update, csrsRow, "status", csrFor("example.com/two"), csrFor("example.com/two")), "alice"), ""},
		{"status conditions by a non-signer", as(attrs(Update, csrsRow, "status", approved("example.com/two"), csrFor("example.com/two")), "alice"),
			"user not permitted to sign requests"},
		{"the object itself", as(attrs(Update, csrsRow, "", signed("example.com/two"), csrFor("example.com/two")), "alice"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CertificateApproval{Authorizer: az}.Validate(context.Background(), tc.a)
			if err == nil {
				err = CertificateSigning{Authorizer: az}.Validate(context.Background(), tc.a)
			}
			code := int32(403)
			if tc.want == "" {
				code = 0
			}
			wantErr(t, err, tc.want, code)
		})
	}
}

func TestCertificateSubjectRestriction(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	request := func(orgs ...string) []byte {
		der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "me", Organization: orgs}}, key)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
	}
	with := func(signer string, req []byte) *certificatesv1.CertificateSigningRequest {
		c := csrFor(signer)
		c.Spec.Request = req
		return c
	}
	for _, tc := range []struct {
		name string
		csr  *certificatesv1.CertificateSigningRequest
		want string
	}{
		{"masters for the client signer", with(certificatesv1.KubeAPIServerClientSignerName, request("dev", "system:masters")),
			`certificatesigningrequests.certificates.k8s.io "csr" is forbidden: use of kubernetes.io/kube-apiserver-client signer with system:masters group is not allowed`},
		{"other groups", with(certificatesv1.KubeAPIServerClientSignerName, request("dev")), ""},
		{"another signer", with("example.com/x", request("system:masters")), ""},
		{"not a request", with(certificatesv1.KubeAPIServerClientSignerName, []byte("junk")), "failed to parse CSR"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CertificateSubjectRestriction{}.Validate(context.Background(), attrs(Create, csrsRow, "", tc.csr, nil))
			code := int32(403)
			if tc.want == "" {
				code = 0
			}
			wantErr(t, err, tc.want, code)
		})
	}
}
