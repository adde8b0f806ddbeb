package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"kapi/internal/server"
)

// csrFor makes a key and a PEM certificate request for subject; the
// key's PEM is returned too.
func csrFor(t *testing.T, subject pkix.Name, dnsNames ...string) (request, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: subject, DNSNames: dnsNames}, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
}

func mkCSR(t *testing.T, k *kapi, name, signer string, request []byte, seconds *int32, usages ...certificatesv1.KeyUsage) {
	t.Helper()
	_, err := k.client.CertificatesV1().CertificateSigningRequests().Create(context.Background(), &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: certificatesv1.CertificateSigningRequestSpec{Request: request, SignerName: signer, Usages: usages,
			ExpirationSeconds: seconds}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
}

// waitCSR polls the request until cond holds.
func waitCSR(t *testing.T, k *kapi, name, what string, cond func(*certificatesv1.CertificateSigningRequest) bool) *certificatesv1.CertificateSigningRequest {
	t.Helper()
	var last *certificatesv1.CertificateSigningRequest
	err := waitUntil(time.Minute, func() bool {
		csr, err := k.client.CertificatesV1().CertificateSigningRequests().Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return false
		}
		last = csr
		return cond(csr)
	})
	if err != nil {
		t.Fatalf("CSR %s: %s: %v; last status %+v", name, what, err, last.Status)
	}
	return last
}

func issued(csr *certificatesv1.CertificateSigningRequest) bool {
	return len(csr.Status.Certificate) > 0
}

func parseIssued(t *testing.T, csr *certificatesv1.CertificateSigningRequest) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode(csr.Status.Certificate)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("status.certificate of %s is not a PEM certificate", csr.Name)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// certWhoami asks kapi who the holder of cert and key is.
func certWhoami(t *testing.T, k *kapi, certPEM, keyPEM []byte) authenticationv1.UserInfo {
	t.Helper()
	cfg := &rest.Config{Host: k.rest.Host, TLSClientConfig: rest.TLSClientConfig{CAData: k.rest.CAData, CAFile: k.rest.CAFile,
		CertData: certPEM, KeyData: keyPEM}}
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.AuthenticationV1().SelfSubjectReviews().Create(context.Background(), &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("whoami with the issued certificate: %v", err)
	}
	return r.Status.UserInfo
}

func csrCond(csr *certificatesv1.CertificateSigningRequest, typ certificatesv1.RequestConditionType) *certificatesv1.CertificateSigningRequestCondition {
	for i, c := range csr.Status.Conditions {
		if c.Type == typ {
			return &csr.Status.Conditions[i]
		}
	}
	return nil
}

// TestCSRSigning: a user's CSR, approved with kubectl certificate
// approve, is signed with kapi's CA for the time asked (within
// --cluster-signing-duration), and the certificate authenticates as the
// user and groups of its subject; a denied CSR is never signed; a
// kubelet's client CSR is signed under its signer's rules and one that
// breaks them fails.
func TestCSRSigning(t *testing.T) {
	k := startKapi(t, func(c *server.Config) { c.ClusterSigningDuration = 2 * time.Hour })
	ctx := context.Background()
	csrs := k.client.CertificatesV1().CertificateSigningRequests()

	request, keyPEM := csrFor(t, pkix.Name{CommonName: "alice", Organization: []string{"devs"}})
	// As the Kubernetes documentation's "issue a certificate for a user"
	// does it: kubectl apply of the request.
	k.mustKubectl(`apiVersion: certificates.k8s.io/v1
kind: CertificateSigningRequest
metadata:
  name: alice
spec:
  request: `+base64.StdEncoding.EncodeToString(request)+`
  signerName: kubernetes.io/kube-apiserver-client
  expirationSeconds: 3600
  usages:
  - digital signature
  - client auth
`, "apply", "-f", "-")
	// A denied request, made and denied before alice's approval: the
	// signer sees it first, and leaves it.
	bobRequest, _ := csrFor(t, pkix.Name{CommonName: "bob"})
	mkCSR(t, k, "bob", certificatesv1.KubeAPIServerClientSignerName, bobRequest, nil, certificatesv1.UsageClientAuth)
	if out := k.mustKubectl("", "certificate", "deny", "bob"); !strings.Contains(out, "certificatesigningrequest.certificates.k8s.io/bob denied") {
		t.Fatalf("kubectl certificate deny: %s", out)
	}
	if out := k.mustKubectl("", "certificate", "approve", "alice"); !strings.Contains(out, "certificatesigningrequest.certificates.k8s.io/alice approved") {
		t.Fatalf("kubectl certificate approve: %s", out)
	}
	alice := waitCSR(t, k, "alice", "signed", issued)
	if c := csrCond(alice, certificatesv1.CertificateApproved); c == nil || c.Status != corev1.ConditionTrue ||
		c.Reason != "KubectlApprove" || c.LastUpdateTime.IsZero() || c.LastTransitionTime.IsZero() {
		t.Fatalf("approved condition %+v", c)
	}
	cert := parseIssued(t, alice)
	ca, err := x509.ParseCertificate(pemBlock(t, readFile(t, k.srv.PKI.CACert)))
	if err != nil {
		t.Fatal(err)
	}
	if err := cert.CheckSignatureFrom(ca); err != nil {
		t.Fatalf("the certificate is not signed by kapi's CA: %v", err)
	}
	// 3600 s asked, under the 2h signing duration: valid from 5 minutes
	// back to an hour on.
	if d := cert.NotAfter.Sub(cert.NotBefore); d != 65*time.Minute {
		t.Fatalf("certificate valid for %v, want 1h5m", d)
	}
	if cert.IsCA || cert.KeyUsage != x509.KeyUsageDigitalSignature || !slices.Equal(cert.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}) {
		t.Fatalf("certificate: CA %v, key usage %v, ext %v", cert.IsCA, cert.KeyUsage, cert.ExtKeyUsage)
	}
	user := certWhoami(t, k, alice.Status.Certificate, keyPEM)
	if user.Username != "alice" || !slices.Contains(user.Groups, "devs") || !slices.Contains(user.Groups, "system:authenticated") {
		t.Fatalf("whoami: %+v", user)
	}
	// kubectl with a kubeconfig of alice's certificate and key.
	kc, err := clientcmd.LoadFromFile(k.srv.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range kc.AuthInfos {
		*a = clientcmdapi.AuthInfo{ClientCertificateData: alice.Status.Certificate, ClientKeyData: keyPEM}
	}
	aliceConfig := filepath.Join(t.TempDir(), "alice.kubeconfig")
	if err := clientcmd.WriteToFile(*kc, aliceConfig); err != nil {
		t.Fatal(err)
	}
	out := k.mustKubectl("", "--kubeconfig", aliceConfig, "auth", "whoami")
	if !strings.Contains(out, "alice") || !strings.Contains(out, "devs") {
		t.Fatalf("kubectl auth whoami as alice: %s", out)
	}

	// The requestor is who created the request.
	if alice.Spec.Username != "kubernetes-admin" || !slices.Contains(alice.Spec.Groups, "system:masters") ||
		!slices.Contains(alice.Spec.Groups, "system:authenticated") {
		t.Fatalf("requestor %q %v", alice.Spec.Username, alice.Spec.Groups)
	}
	if out := k.mustKubectl("", "get", "csr", "alice"); !strings.Contains(out, "Approved,Issued") || !strings.Contains(out, "kubernetes-admin") {
		t.Fatalf("kubectl get csr: %s", out)
	}

	bob, err := csrs.Get(ctx, "bob", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if issued(bob) || csrCond(bob, certificatesv1.CertificateDenied) == nil || csrCond(bob, certificatesv1.CertificateDenied).Reason != "KubectlDeny" {
		t.Fatalf("denied CSR: %+v", bob.Status)
	}
	// kubectl will not approve it now (kapi would refuse too: Approved
	// and Denied exclude each other, TestCSRApproval).
	out, err = k.kubectl("", "certificate", "approve", "bob")
	if err == nil || !strings.Contains(out, `certificate signing request "bob" is already Denied`) {
		t.Fatalf("approving a denied CSR: %v %s", err, out)
	}

	// Without expirationSeconds: the signing duration (2h, under 8h: not
	// backdated at its end); above it: capped.
	for name, seconds := range map[string]*int32{"carol": nil, "dave": ptr(int32(4 * 3600))} {
		req, _ := csrFor(t, pkix.Name{CommonName: name})
		mkCSR(t, k, name, certificatesv1.KubeAPIServerClientSignerName, req, seconds, certificatesv1.UsageClientAuth)
		k.mustKubectl("", "certificate", "approve", name)
		c := parseIssued(t, waitCSR(t, k, name, "signed", issued))
		if d := c.NotAfter.Sub(c.NotBefore); d != 2*time.Hour+5*time.Minute {
			t.Fatalf("%s: certificate valid for %v, want 2h5m", name, d)
		}
	}

	// The kubelet client signer: system:node:<name> in system:nodes is
	// signed; another subject fails its rules.
	nodeRequest, nodeKey := csrFor(t, pkix.Name{CommonName: "system:node:n1", Organization: []string{"system:nodes"}})
	mkCSR(t, k, "node-n1", certificatesv1.KubeAPIServerClientKubeletSignerName, nodeRequest, nil,
		certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth)
	k.mustKubectl("", "certificate", "approve", "node-n1")
	node := waitCSR(t, k, "node-n1", "signed", issued)
	if u := certWhoami(t, k, node.Status.Certificate, nodeKey); u.Username != "system:node:n1" || !slices.Contains(u.Groups, "system:nodes") {
		t.Fatalf("whoami as the node: %+v", u)
	}
	badRequest, _ := csrFor(t, pkix.Name{CommonName: "mallory"})
	mkCSR(t, k, "not-a-node", certificatesv1.KubeAPIServerClientKubeletSignerName, badRequest, nil,
		certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth)
	k.mustKubectl("", "certificate", "approve", "not-a-node")
	failed := waitCSR(t, k, "not-a-node", "failed", func(c *certificatesv1.CertificateSigningRequest) bool {
		return csrCond(c, certificatesv1.CertificateFailed) != nil
	})
	if c := csrCond(failed, certificatesv1.CertificateFailed); c.Status != corev1.ConditionTrue || c.Reason != "SignerValidationFailure" ||
		c.Message != "subject organization is not system:nodes" || issued(failed) {
		t.Fatalf("failed condition %+v, certificate %d bytes", c, len(failed.Status.Certificate))
	}
	// A client certificate request asking for server auth fails too.
	serverRequest, _ := csrFor(t, pkix.Name{CommonName: "erin"})
	mkCSR(t, k, "erin", certificatesv1.KubeAPIServerClientSignerName, serverRequest, nil,
		certificatesv1.UsageClientAuth, certificatesv1.UsageServerAuth)
	k.mustKubectl("", "certificate", "approve", "erin")
	erin := waitCSR(t, k, "erin", "failed", func(c *certificatesv1.CertificateSigningRequest) bool {
		return csrCond(c, certificatesv1.CertificateFailed) != nil
	})
	if c := csrCond(erin, certificatesv1.CertificateFailed); c.Message != "invalid usage for client certificate: server auth" {
		t.Fatalf("erin: %+v", c)
	}
	// A signer kapi does not run is left alone.
	otherRequest, _ := csrFor(t, pkix.Name{CommonName: "frank"})
	mkCSR(t, k, "frank", "example.com/other", otherRequest, nil, certificatesv1.UsageClientAuth)
	k.mustKubectl("", "certificate", "approve", "frank")
	// bob, denied first, is still without a certificate now that every
	// later request has been handled.
	bob, err = csrs.Get(ctx, "bob", metav1.GetOptions{})
	if err != nil || issued(bob) {
		t.Fatalf("denied CSR signed: %v", err)
	}
}

func pemBlock(t testing.TB, s string) []byte {
	t.Helper()
	b, _ := pem.Decode([]byte(s))
	if b == nil {
		t.Fatal("no PEM block")
	}
	return b.Bytes
}
