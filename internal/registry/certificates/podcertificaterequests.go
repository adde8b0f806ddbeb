package certificates

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/registry"
	"kapi/internal/request"
)

// A pod certificate request (the kubelet's, for a pod's projected
// podCertificate volume) is validated as kube 1.37's
// ValidatePodCertificateRequestCreate, ...Update and ...StatusUpdate
// (pkg/apis/certificates/validation) say: the pod, service account and
// node it names; the validity it may ask of its signer; its key, a signed
// stub PKCS#10 request of a supported key. The spec never
// changes. The status changes once, to Issued (a chain whose leaf is
// issued to the requested key, with its times), Denied or Failed, and not
// after.

// The limits of kube's certificates API.
const (
	pcrMinMaxExpiration           = 60 * 60
	pcrMaxMaxExpiration           = 91 * 24 * 60 * 60
	pcrKubernetesMaxMaxExpiration = 24 * 60 * 60
	pcrMaxStubSize                = 10 * 1024
	pcrMaxCertificateChainSize    = 100 * 1024
)

var (
	pcrPKCS10Path       = field.NewPath("spec", "stubPKCS10Request")
	pcrChainPath        = field.NewPath("status", "certificateChain")
	pcrNotBeforePath    = field.NewPath("status", "notBefore")
	pcrNotAfterPath     = field.NewPath("status", "notAfter")
	pcrBeginRefreshPath = field.NewPath("status", "beginRefreshAt")
)

// validatePCR is kube's create (old nil) and update validation.
func validatePCR(obj, old runtime.Object) field.ErrorList {
	req := obj.(*certificatesv1.PodCertificateRequest)
	if old != nil {
		return apimachineryvalidation.ValidateImmutableField(req.Spec, old.(*certificatesv1.PodCertificateRequest).Spec, field.NewPath("spec"))
	}
	spec := field.NewPath("spec")
	var errs field.ErrorList
	if req.Spec.SignerName == "" {
		errs = append(errs, field.Required(spec.Child("signerName"), ""))
	} else {
		errs = append(errs, validateSignerName(spec.Child("signerName"), req.Spec.SignerName)...)
	}
	if a := req.Spec.UnverifiedUserAnnotations; a != nil {
		p := spec.Child("unverifiedUserAnnotations")
		for k := range a {
			errs = append(errs, utilvalidation.IsDomainPrefixedKey(p, strings.ToLower(k))...)
		}
		if err := apimachineryvalidation.ValidateAnnotationsSize(a); err != nil {
			errs = append(errs, field.TooLong(p, "", apimachineryvalidation.TotalAnnotationSizeLimitB))
		}
	}
	name := func(p *field.Path, v string, check func(string, bool) []string) {
		for _, msg := range check(v, false) {
			errs = append(errs, field.Invalid(p, v, msg))
		}
	}
	uid := func(p *field.Path, v string) {
		if v == "" {
			errs = append(errs, field.Invalid(p, v, "must not be empty"))
		}
		if len(v) > 128 {
			errs = append(errs, field.TooLong(p, v, 128))
		}
	}
	name(spec.Child("podName"), req.Spec.PodName, apimachineryvalidation.NameIsDNSSubdomain)
	uid(spec.Child("podUID"), string(req.Spec.PodUID))
	name(spec.Child("serviceAccountName"), req.Spec.ServiceAccountName, apimachineryvalidation.ValidateServiceAccountName)
	uid(spec.Child("serviceAccountUID"), string(req.Spec.ServiceAccountUID))
	name(spec.Child("nodeName"), string(req.Spec.NodeName), apimachineryvalidation.NameIsDNSSubdomain)
	uid(spec.Child("nodeUID"), string(req.Spec.NodeUID))

	max := req.Spec.MaxExpirationSeconds
	if max == nil {
		return append(errs, field.Required(spec.Child("maxExpirationSeconds"), "must be set"))
	}
	limit := int32(pcrMaxMaxExpiration)
	if isKubernetesSigner(req.Spec.SignerName) {
		limit = pcrKubernetesMaxMaxExpiration
	}
	if *max < pcrMinMaxExpiration || *max > limit {
		errs = append(errs, field.Invalid(spec.Child("maxExpirationSeconds"), max, fmt.Sprintf("must be in the range [%d, %d]", pcrMinMaxExpiration, limit)))
	}
	// (v1 has only the stub request; kube's internal type also has
	// v1beta1's PKIX key and proof of possession, which kapi does not
	// serve, hence the message.)
	if len(req.Spec.StubPKCS10Request) == 0 {
		return append(errs, field.Invalid(spec, field.OmitValueType{}, "exactly one of (stubPKCS10Request) or (pkixPublicKey, proofOfPossession) must be set"))
	}
	return append(errs, validateStubPKCS10(req.Spec.StubPKCS10Request)...)
}

// isKubernetesSigner: the signers of kubernetes.io and its subdomains.
func isKubernetesSigner(name string) bool {
	host, _, _ := strings.Cut(name, "/")
	return host == "kubernetes.io" || strings.HasSuffix(host, ".kubernetes.io")
}

// validateStubPKCS10 is kube's validateStubPKCS10Request: a signed
// PKCS#10 request of a supported key, whose contents are not looked at
// (the kubelet sends empty ones).
func validateStubPKCS10(stub []byte) field.ErrorList {
	if len(stub) > pcrMaxStubSize {
		return field.ErrorList{field.TooLong(pcrPKCS10Path, stub, pcrMaxStubSize)}
	}
	req, err := x509.ParseCertificateRequest(stub)
	if err != nil {
		return field.ErrorList{field.Invalid(pcrPKCS10Path, field.OmitValueType{}, "must be a valid PKCS#10 CSR")}
	}
	switch pub := req.PublicKey.(type) {
	case ed25519.PublicKey:
	case *ecdsa.PublicKey:
		if pub.Curve != elliptic.P256() && pub.Curve != elliptic.P384() && pub.Curve != elliptic.P521() {
			return field.ErrorList{field.Invalid(pcrPKCS10Path, "curve "+pub.Curve.Params().Name, "elliptic public keys must use curve P256, P384, or P521")}
		}
	case *rsa.PublicKey:
		if bits := pub.Size() * 8; bits != 3072 && bits != 4096 {
			return field.ErrorList{field.Invalid(pcrPKCS10Path, fmt.Sprintf("%d-bit modulus", bits), "RSA keys must have modulus size 3072 or 4096")}
		}
	default:
		return field.ErrorList{field.Invalid(pcrPKCS10Path, field.OmitValueType{}, "unknown public key type; supported types are Ed25519, ECDSA, and RSA")}
	}
	if req.CheckSignature() != nil {
		return field.ErrorList{field.Invalid(pcrPKCS10Path, field.OmitValueType{}, "invalid signature")}
	}
	return nil
}

// pcrStatus is kube's status strategy of pod certificate requests: the
// stored spec, labels, annotations, finalizers and owners are kept, and
// the status is checked by validatePCRStatus.
var pcrStatus = registry.ValidatedStatus(func(obj, old runtime.Object) field.ErrorList {
	return validatePCRStatus(obj.(*certificatesv1.PodCertificateRequest), old.(*certificatesv1.PodCertificateRequest), time.Now())
}, registry.StatusMetadataResets...)

// PodCertificateRequestStatus is pcrStatus with kube's last check of its
// status strategy: a write that changes the status is refused unless its
// user may "sign" for the request's signer (maySign asks the authorizer,
// as for CertificateSigningRequests).
func PodCertificateRequestStatus(maySign func(ctx context.Context, user *request.User, signer string) bool) *registry.Subresource {
	s := *pcrStatus
	s.Authorize = func(ctx context.Context, obj, old runtime.Object) field.ErrorList {
		req, o := obj.(*certificatesv1.PodCertificateRequest), old.(*certificatesv1.PodCertificateRequest)
		if apiequality.Semantic.DeepEqual(req.Status, o.Status) {
			return nil
		}
		signer := field.NewPath("spec", "signerName")
		u := request.UserFrom(ctx)
		if u == nil {
			return field.ErrorList{field.InternalError(signer, errors.New(`cannot determine calling user to perform "sign" check`))}
		}
		if !maySign(ctx, u, o.Spec.SignerName) {
			return field.ErrorList{field.Forbidden(signer, fmt.Sprintf("User %q is not permitted to \"sign\" for signer %q", u.Name, o.Spec.SignerName))}
		}
		return nil
	}
	return &s
}

// pcrTerminal are the condition types a request ends with.
var pcrTerminal = []string{certificatesv1.PodCertificateRequestConditionTypeIssued,
	certificatesv1.PodCertificateRequestConditionTypeDenied, certificatesv1.PodCertificateRequestConditionTypeFailed}

// validatePCRStatus is kube's ValidatePodCertificateRequestStatusUpdate.
func validatePCRStatus(req, old *certificatesv1.PodCertificateRequest, now time.Time) field.ErrorList {
	conds := field.NewPath("status", "conditions")
	var errs field.ErrorList
	known := 0
	for i, c := range req.Status.Conditions {
		switch c.Type {
		case certificatesv1.PodCertificateRequestConditionTypeIssued, certificatesv1.PodCertificateRequestConditionTypeDenied,
			certificatesv1.PodCertificateRequestConditionTypeFailed:
			if known++; known > 1 {
				errs = append(errs, field.Invalid(conds.Index(i).Child("type"), c.Type, `There may be at most one condition with type "Issued", "Denied", or "Failed"`))
			}
			if c.Status != metav1.ConditionTrue {
				errs = append(errs, field.NotSupported(conds.Index(i).Child("status"), c.Status, []metav1.ConditionStatus{metav1.ConditionTrue}))
			}
		default:
			errs = append(errs, field.NotSupported(conds.Index(i).Child("type"), c.Type, pcrTerminal))
		}
	}
	errs = append(errs, metav1validation.ValidateConditions(req.Status.Conditions, conds)...)
	if len(errs) > 0 {
		return errs
	}
	unchanged := func(want certificatesv1.PodCertificateRequestStatus, detail string) field.ErrorList {
		if apiequality.Semantic.DeepEqual(req.Status, want) {
			return nil
		}
		return field.ErrorList{field.Invalid(field.NewPath("status"), field.OmitValueType{}, detail)}
	}
	switch {
	case pcrEnded(old, pcrTerminal...):
		return unchanged(old.Status, "immutable after PodCertificateRequest is issued, denied, or failed")
	case pcrEnded(req, certificatesv1.PodCertificateRequestConditionTypeDenied, certificatesv1.PodCertificateRequestConditionTypeFailed):
		return unchanged(certificatesv1.PodCertificateRequestStatus{Conditions: req.Status.Conditions},
			"non-condition status fields must be empty when denying or failing the PodCertificateRequest")
	case pcrEnded(req, certificatesv1.PodCertificateRequestConditionTypeIssued):
		return validatePCRIssued(req, old, now)
	}
	return unchanged(old.Status, `status is immutable unless transitioning to "Issued", "Denied", or "Failed"`)
}

// pcrEnded: req has one of the conditions, true.
func pcrEnded(req *certificatesv1.PodCertificateRequest, types ...string) bool {
	for _, c := range req.Status.Conditions {
		for _, t := range types {
			if c.Type == t && c.Status == metav1.ConditionTrue {
				return true
			}
		}
	}
	return false
}

// validatePCRIssued checks the status of a request being issued: its
// chain, whose leaf is issued to the requested key for at least an hour
// and at most maxExpirationSeconds, and the times that go with it.
func validatePCRIssued(req, old *certificatesv1.PodCertificateRequest, now time.Time) field.ErrorList {
	chain := req.Status.CertificateChain
	invalid := func(p *field.Path, v any, detail string) field.ErrorList {
		return field.ErrorList{field.Invalid(p, v, detail)}
	}
	if len(chain) > pcrMaxCertificateChainSize {
		return field.ErrorList{field.TooLong(pcrChainPath, chain, pcrMaxCertificateChainSize)}
	}
	leafBlock, rest := pem.Decode([]byte(chain))
	if leafBlock == nil {
		return invalid(pcrChainPath, chain, "issued certificate chain must contain at least one certificate")
	}
	if leafBlock.Type != "CERTIFICATE" {
		return invalid(pcrChainPath, chain, "issued certificate chain must consist entirely of CERTIFICATE PEM blocks")
	}
	leaf, err := x509.ParseCertificate(leafBlock.Bytes)
	if err != nil {
		return invalid(pcrChainPath, chain, "leaf certificate does not parse as valid X.509")
	}
	var errs field.ErrorList
	for _, name := range leaf.DNSNames {
		if name == "" {
			errs = append(errs, field.Invalid(pcrChainPath, name, "leaf certificate should not contain empty DNSName"))
		}
		if strings.Contains(name, "..") {
			errs = append(errs, field.Invalid(pcrChainPath, name, "leaf certificate's DNSName should not contain '..'"))
		}
		if strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".") {
			errs = append(errs, field.Invalid(pcrChainPath, name, "leaf certificate's DNSName should not start or end with '.'"))
		}
	}
	for _, addr := range leaf.EmailAddresses {
		if _, err := mail.ParseAddress(addr); err != nil {
			errs = append(errs, field.Invalid(pcrChainPath, addr, "leaf certificate should not contain invalid EmailAddress"))
		}
	}
	// The key the request asked a certificate for.
	csr, err := x509.ParseCertificateRequest(old.Spec.StubPKCS10Request)
	if err != nil {
		return append(errs, field.Invalid(pcrPKCS10Path, field.OmitValueType{}, "must be a valid PKCS#10 CSR"))
	}
	if k, ok := csr.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); ok && !k.Equal(leaf.PublicKey) {
		return append(errs, field.Invalid(pcrChainPath, chain, "leaf certificate was not issued to the requested public key"))
	}
	st := req.Status
	if st.NotBefore == nil {
		errs = append(errs, field.Required(pcrNotBeforePath, "must be present and consistent with the issued certificate"))
	}
	if st.NotAfter == nil {
		errs = append(errs, field.Required(pcrNotAfterPath, "must be present and consistent with the issued certificate"))
	}
	if st.BeginRefreshAt == nil {
		errs = append(errs, field.Required(pcrBeginRefreshPath, "must be present and in the range [notbefore+10min, notafter-10min]"))
	}
	if len(errs) > 0 {
		return errs
	}
	lifetime := leaf.NotAfter.Sub(leaf.NotBefore)
	switch {
	case !st.NotBefore.Time.Equal(leaf.NotBefore):
		return invalid(pcrNotBeforePath, st.NotBefore.Time, "must be set to the NotBefore time encoded in the leaf certificate")
	case !(st.NotBefore.Time.After(now.Add(-5*time.Minute)) && st.NotBefore.Time.Before(now.Add(5*time.Minute))):
		return invalid(pcrNotBeforePath, st.NotBefore.Time, "must be set to within 5 minutes of kube-apiserver's current time")
	case !st.NotAfter.Time.Equal(leaf.NotAfter):
		return invalid(pcrNotAfterPath, st.NotAfter.Time, "must be set to the NotAfter time encoded in the leaf certificate")
	case lifetime < time.Hour:
		return invalid(pcrChainPath, lifetime, "leaf certificate lifetime must be >= 1 hour")
	case lifetime > time.Duration(*req.Spec.MaxExpirationSeconds)*time.Second:
		return invalid(pcrChainPath, lifetime, fmt.Sprintf("leaf certificate lifetime must be <= spec.maxExpirationSeconds (%v)", *req.Spec.MaxExpirationSeconds))
	case st.BeginRefreshAt.Time.Before(st.NotBefore.Time.Add(10 * time.Minute)):
		return invalid(pcrBeginRefreshPath, st.BeginRefreshAt.Time, "must be at least 10 minutes after status.notBefore")
	case st.BeginRefreshAt.Time.After(st.NotAfter.Time.Add(-10 * time.Minute)):
		return invalid(pcrBeginRefreshPath, st.BeginRefreshAt.Time, "must be at least 10 minutes before status.notAfter")
	}
	// The rest of the chain: certificates, not verified (Go's x509 does
	// not verify a partial chain), as in kube.
	for {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			return nil
		}
		if block.Type != "CERTIFICATE" {
			// (kube's message, its typo included)
			return invalid(pcrChainPath, chain, "issued certificate chain must consist entirely of CERTFICATE PEM blocks")
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return invalid(pcrChainPath, chain, "intermediate certificate does not parse as valid X.509")
		}
	}
}
