package admission

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	certificatesv1 "k8s.io/api/certificates/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/klog/v2"

	"kapi/internal/authz"
	"kapi/internal/request"
)

// CertificateApproval is kube-apiserver's plugin of the same name: who
// approves or denies a CertificateSigningRequest (its approval
// subresource) must be allowed to "approve" its signer: the verb on the
// resource "signers" of certificates.k8s.io named by the signer, or by
// its domain with "/*" (kubernetes.io/*).
type CertificateApproval struct {
	Authorizer authz.Authorizer
}

// Validate checks approvals.
func (p CertificateApproval) Validate(ctx context.Context, a *Attributes) error {
	if a.Subresource != "approval" || !is(a, "certificates.k8s.io", "certificatesigningrequests") || a.Operation != Update {
		return nil
	}
	// The new object's signer: an approval that also changes the signer
	// is refused by validation, and must not pass here first.
	csr, ok := a.Object.(*certificatesv1.CertificateSigningRequest)
	if !ok {
		return Forbidden(a, fmt.Errorf("expected type CertificateSigningRequest, got: %T", a.OldObject))
	}
	if !AuthorizedForSigner(ctx, p.Authorizer, a.User, "approve", csr.Spec.SignerName) {
		return Forbidden(a, fmt.Errorf("user not permitted to approve requests with signerName %q", csr.Spec.SignerName))
	}
	return nil
}

// CertificateSigning is kube-apiserver's plugin of the same name: who
// writes a CertificateSigningRequest's certificate or conditions (its
// status) must be allowed to "sign" its signer, as CertificateApproval
// checks "approve".
type CertificateSigning struct {
	Authorizer authz.Authorizer
}

// Validate checks status writes that change the certificate or the
// conditions.
func (p CertificateSigning) Validate(ctx context.Context, a *Attributes) error {
	if a.Subresource != "status" || !is(a, "certificates.k8s.io", "certificatesigningrequests") || a.Operation != Update {
		return nil
	}
	old, ok := a.OldObject.(*certificatesv1.CertificateSigningRequest)
	if !ok {
		return Forbidden(a, fmt.Errorf("expected type CertificateSigningRequest, got: %T", a.OldObject))
	}
	csr, ok := a.Object.(*certificatesv1.CertificateSigningRequest)
	if !ok {
		return Forbidden(a, fmt.Errorf("expected type CertificateSigningRequest, got: %T", a.Object))
	}
	if bytes.Equal(old.Status.Certificate, csr.Status.Certificate) && apiequality.Semantic.DeepEqual(old.Status.Conditions, csr.Status.Conditions) {
		return nil
	}
	if !AuthorizedForSigner(ctx, p.Authorizer, a.User, "sign", old.Spec.SignerName) {
		return Forbidden(a, fmt.Errorf("user not permitted to sign requests with signerName %q", old.Spec.SignerName))
	}
	return nil
}

// AuthorizedForSigner asks whether user may verb the signer, by its
// name or by its domain's wildcard (kubernetes.io/*).
func AuthorizedForSigner(ctx context.Context, az authz.Authorizer, user *request.User, verb, signer string) bool {
	domain, _, _ := strings.Cut(signer, "/")
	for _, name := range []string{signer, domain + "/*"} {
		d, reason, err := az.Authorize(ctx, authz.Attributes{User: user, Verb: verb, ResourceRequest: true,
			APIGroup: "certificates.k8s.io", APIVersion: "*", Resource: "signers", Name: name})
		if err != nil {
			klog.FromContext(ctx).V(3).Info("cannot authorize for policy", "verb", verb, "signer", name, "reason", reason, "err", err)
			continue
		}
		if d == authz.Allow {
			return true
		}
	}
	return false
}

// CertificateSubjectRestriction is kube-apiserver's plugin of the same
// name: no CertificateSigningRequest for the
// kubernetes.io/kube-apiserver-client signer may ask for the group
// system:masters (an organization of its subject), which would bypass
// every authorizer.
type CertificateSubjectRestriction struct{}

// Validate checks created requests.
func (CertificateSubjectRestriction) Validate(_ context.Context, a *Attributes) error {
	if a.Operation != Create || a.Subresource != "" || !is(a, "certificates.k8s.io", "certificatesigningrequests") {
		return nil
	}
	csr, ok := a.Object.(*certificatesv1.CertificateSigningRequest)
	if !ok {
		return Forbidden(a, fmt.Errorf("expected type CertificateSigningRequest, got: %T", a.Object))
	}
	if csr.Spec.SignerName != certificatesv1.KubeAPIServerClientSignerName {
		return nil
	}
	req, err := parseCSR(csr.Spec.Request)
	if err != nil {
		return Forbidden(a, fmt.Errorf("failed to parse CSR: %v", err))
	}
	for _, org := range req.Subject.Organization {
		if org == request.SystemPrivileged {
			return Forbidden(a, fmt.Errorf("use of %s signer with system:masters group is not allowed", certificatesv1.KubeAPIServerClientSignerName))
		}
	}
	return nil
}

// parseCSR reads the PEM CERTIFICATE REQUEST of a request.
func parseCSR(pemBytes []byte) (*x509.CertificateRequest, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		return nil, errors.New("PEM block type must be CERTIFICATE REQUEST")
	}
	return x509.ParseCertificateRequest(block.Bytes)
}
