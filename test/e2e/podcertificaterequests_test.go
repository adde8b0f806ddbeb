package e2e

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestPodCertificateRequests: kube 1.37's validation of pod certificate
// requests (the kubelet's, for podCertificate volumes): a request is
// checked when created, its spec never changes, and its status is
// written once, by a signer: one the authorizer lets "sign" for the
// request's signer name, with a chain issued to the requested key.
func TestPodCertificateRequests(t *testing.T) {
	t.Parallel()
	k := startKapi(t, withoutLoops(rootCAPublisher))
	ctx := context.Background()
	ns := gcNamespace(t, k, "pcr")
	pcrs := k.client.CertificatesV1().PodCertificateRequests(ns)
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	stub, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	if err != nil {
		t.Fatal(err)
	}
	request := func(name, signer string, maxSeconds int32) *certificatesv1.PodCertificateRequest {
		return &certificatesv1.PodCertificateRequest{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: certificatesv1.PodCertificateRequestSpec{SignerName: signer, PodName: "web", PodUID: "pod-uid",
				ServiceAccountName: "default", ServiceAccountUID: "sa-uid", NodeName: "n1", NodeUID: "node-uid",
				MaxExpirationSeconds: &maxSeconds, StubPKCS10Request: stub}}
	}
	_, err = pcrs.Create(ctx, request("long", "kubernetes.io/kube-apiserver-client-pod", 2*86400), metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.maxExpirationSeconds: Invalid value: 172800: must be in the range [3600, 86400]") {
		t.Errorf("two days from a kubernetes.io signer: %v", err)
	}
	bad := request("bad", "example.com/pods", 3600)
	bad.Spec.StubPKCS10Request = []byte("junk")
	if _, err := pcrs.Create(ctx, bad, metav1.CreateOptions{}); !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "must be a valid PKCS#10 CSR") {
		t.Errorf("a request that is not PKCS#10: %v", err)
	}
	pcr, err := pcrs.Create(ctx, request("web", "example.com/pods", 3*3600), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	changed := pcr.DeepCopy()
	changed.Spec.PodName = "other"
	if _, err := pcrs.Update(ctx, changed, metav1.UpdateOptions{}); !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec: Invalid value") {
		t.Errorf("a change of spec: %v", err)
	}

	// The signer: a certificate for the requested key, from its own CA.
	_, caKey, _ := ed25519.GenerateKey(rand.Reader)
	now := time.Now().Truncate(time.Second)
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "pods"}, NotBefore: now, NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{SerialNumber: big.NewInt(2), NotBefore: now, NotAfter: now.Add(2 * time.Hour)}, ca, pub, caKey)
	if err != nil {
		t.Fatal(err)
	}
	issued := pcr.DeepCopy()
	issued.Status = certificatesv1.PodCertificateRequestStatus{
		Conditions: []metav1.Condition{{Type: certificatesv1.PodCertificateRequestConditionTypeIssued, Status: metav1.ConditionTrue,
			Reason: "Signed", LastTransitionTime: metav1.NewTime(now)}},
		CertificateChain: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		NotBefore:        &metav1.Time{Time: now}, NotAfter: &metav1.Time{Time: now.Add(2 * time.Hour)},
		BeginRefreshAt: &metav1.Time{Time: now.Add(time.Hour)},
	}
	// Who may write the status but not sign for the signer is refused.
	rbac := k.client.RbacV1()
	if _, err := rbac.ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "pcr-status-writer"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{"certificates.k8s.io"}, Resources: []string{"podcertificaterequests/status"}, Verbs: []string{"update"}}}},
		metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := rbac.ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "pods-signer"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{"certificates.k8s.io"}, Resources: []string{"signers"}, ResourceNames: []string{"example.com/pods"}, Verbs: []string{"sign"}}}},
		metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, n := range []string{"pcr-status-writer", "pods-signer"} {
			rbac.ClusterRoles().Delete(context.Background(), n, metav1.DeleteOptions{})
			rbac.ClusterRoleBindings().Delete(context.Background(), n, metav1.DeleteOptions{})
		}
	})
	bind := func(role, user string) {
		if _, err := rbac.ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: role},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	bind("pcr-status-writer", "signer-bot")
	bot := k.asCertOf(t, "signer-bot").CertificatesV1().PodCertificateRequests(ns)
	waitUntil(10*time.Second, func() bool {
		_, err = bot.UpdateStatus(ctx, issued, metav1.UpdateOptions{})
		return !apierrors.IsForbidden(err)
	})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), `spec.signerName: Forbidden: User "signer-bot" is not permitted to "sign" for signer "example.com/pods"`) {
		t.Fatalf("issuing without sign permission: %v", err)
	}
	bind("pods-signer", "signer-bot")
	waitUntil(10*time.Second, func() bool { _, err = bot.UpdateStatus(ctx, issued, metav1.UpdateOptions{}); return err == nil })
	if err != nil {
		t.Fatalf("issuing as a signer: %v", err)
	}
	// Issued, the status no longer changes.
	if pcr, err = pcrs.Get(ctx, "web", metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}
	pcr.Status.Conditions[0].Reason = "Again"
	if _, err := pcrs.UpdateStatus(ctx, pcr, metav1.UpdateOptions{}); !apierrors.IsInvalid(err) ||
		!strings.Contains(err.Error(), "immutable after PodCertificateRequest is issued, denied, or failed") {
		t.Errorf("a change after issuing: %v", err)
	}
}
