package certificates

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/registry"
	"kapi/internal/request"
)

// A CertificateSigningRequest is written in three ways, as
// kube-apiserver's strategies (pkg/registry/certificates) write it: the
// object itself changes only its metadata; its status subresource (the
// signer) sets the certificate and conditions other than Approved and
// Denied; its approval subresource (kubectl certificate approve|deny)
// changes only the conditions. Who may approve for a signer is the
// CertificateApproval admission plugin's question; who may sign, the
// CertificateSigning plugin's.

var csrHooks = &registry.Hooks{
	// The requestor is who creates the request, whatever it says.
	PrepareForCreateBy: func(ctx context.Context, obj runtime.Object) {
		csr := obj.(*certificatesv1.CertificateSigningRequest)
		csr.Spec.Username, csr.Spec.UID, csr.Spec.Groups, csr.Spec.Extra = "", "", nil, nil
		if u := request.UserFrom(ctx); u != nil {
			csr.Spec.Username, csr.Spec.UID, csr.Spec.Groups = u.Name, u.UID, slices.Clone(u.Groups)
			if len(u.Extra) > 0 {
				csr.Spec.Extra = map[string]certificatesv1.ExtraValue{}
				for k, v := range u.Extra {
					csr.Spec.Extra[k] = slices.Clone(v)
				}
			}
		}
	},
	// The spec never changes after a create (an update of the object
	// keeps the stored status already; the subresources' writes, which
	// this also sees, start from the stored spec).
	PrepareForUpdate: func(obj, old runtime.Object) {
		obj.(*certificatesv1.CertificateSigningRequest).Spec = *old.(*certificatesv1.CertificateSigningRequest).Spec.DeepCopy()
	},
	Validate: func(obj, old runtime.Object) field.ErrorList {
		csr := obj.(*certificatesv1.CertificateSigningRequest)
		if old == nil {
			return validateCSR(csr, csrOptions(csr, nil))
		}
		return validateCSRUpdate(csr, old.(*certificatesv1.CertificateSigningRequest), csrOptions(csr, old.(*certificatesv1.CertificateSigningRequest)))
	},
}

// LegacyUnknownSignerName is the signer of requests made through
// certificates.k8s.io/v1beta1 without one; v1 refuses it on new requests.
const LegacyUnknownSignerName = "kubernetes.io/legacy-unknown"

// csrStatus is the status subresource: the stored spec, the stored
// Approved and Denied conditions, timestamps on new conditions.
var csrStatus = &registry.Subresource{
	Name: "status", Verbs: []string{"get", "patch", "update"}, TrackFields: true, Resets: []string{"status.conditions"},
	Write: func(r *registry.Resource, in, old runtime.Object) (runtime.Object, error) {
		out := r.Type.Status.Write(in, old).(*certificatesv1.CertificateSigningRequest)
		o := old.(*certificatesv1.CertificateSigningRequest)
		preserveConditions(out, o, certificatesv1.CertificateApproved)
		preserveConditions(out, o, certificatesv1.CertificateDenied)
		populateConditionTimestamps(out, o)
		return out, nil
	},
	Validate: func(obj, old runtime.Object) field.ErrorList {
		csr, o := obj.(*certificatesv1.CertificateSigningRequest), old.(*certificatesv1.CertificateSigningRequest)
		opts := csrOptions(csr, o)
		opts.settingCertificate = true
		return validateCSRUpdate(csr, o, opts)
	},
}

// csrApproval is the approval subresource: only the conditions change.
var csrApproval = &registry.Subresource{
	Name: "approval", Verbs: []string{"get", "patch", "update"}, TrackFields: true,
	Write: func(r *registry.Resource, in, old runtime.Object) (runtime.Object, error) {
		out := in.(*certificatesv1.CertificateSigningRequest)
		o := old.(*certificatesv1.CertificateSigningRequest)
		populateConditionTimestamps(out, o)
		conditions := out.Status.Conditions
		out.Spec = *o.Spec.DeepCopy()
		out.Status = *o.Status.DeepCopy()
		out.Status.Conditions = conditions
		return out, nil
	},
	Validate: func(obj, old runtime.Object) field.ErrorList {
		csr, o := obj.(*certificatesv1.CertificateSigningRequest), old.(*certificatesv1.CertificateSigningRequest)
		opts := csrOptions(csr, o)
		opts.settingApproval = true
		return validateCSRUpdate(csr, o, opts)
	},
}

// preserveConditions keeps old's conditions of type t in csr when it has
// as many of them (adding or removing them is validation's to refuse).
func preserveConditions(csr, old *certificatesv1.CertificateSigningRequest, t certificatesv1.RequestConditionType) {
	oldIdx, newIdx := conditionIndices(old, t), conditionIndices(csr, t)
	if len(oldIdx) != len(newIdx) {
		return
	}
	for i, o := range oldIdx {
		csr.Status.Conditions[newIdx[i]] = *old.Status.Conditions[o].DeepCopy()
	}
}

func conditionIndices(csr *certificatesv1.CertificateSigningRequest, t certificatesv1.RequestConditionType) []int {
	var out []int
	for i, c := range csr.Status.Conditions {
		if c.Type == t {
			out = append(out, i)
		}
	}
	return out
}

// populateConditionTimestamps sets lastUpdateTime where it is missing,
// and lastTransitionTime to the stored condition's of the same type and
// status, or now.
func populateConditionTimestamps(csr, old *certificatesv1.CertificateSigningRequest) {
	now := metav1.Now()
	for i := range csr.Status.Conditions {
		c := &csr.Status.Conditions[i]
		if c.LastUpdateTime.IsZero() {
			c.LastUpdateTime = now
		}
		if c.LastTransitionTime.IsZero() {
			c.LastTransitionTime = now
			for _, o := range old.Status.Conditions {
				if o.Type == c.Type && o.Status == c.Status && !o.LastTransitionTime.IsZero() {
					c.LastTransitionTime = o.LastTransitionTime
					break
				}
			}
		}
	}
}

// options are kube's certificateValidationOptions: what old data may
// keep, and what the subresource may change.
type options struct {
	bothApprovedAndDenied, legacySigner, duplicateConditions, emptyConditionType bool
	arbitraryCertificate, duplicateUsages, unknownUsages                         bool
	settingApproval, settingCertificate                                          bool
}

func csrOptions(csr, old *certificatesv1.CertificateSigningRequest) options {
	if old == nil {
		return options{}
	}
	var approved, denied, empty, dupCond, dupUsage, unknownUsage bool
	seen := map[certificatesv1.RequestConditionType]bool{}
	for _, c := range old.Status.Conditions {
		approved = approved || c.Type == certificatesv1.CertificateApproved
		denied = denied || c.Type == certificatesv1.CertificateDenied
		empty = empty || c.Type == ""
		dupCond = dupCond || seen[c.Type]
		seen[c.Type] = true
	}
	usages := map[certificatesv1.KeyUsage]bool{}
	for _, u := range old.Spec.Usages {
		dupUsage = dupUsage || usages[u]
		usages[u] = true
		unknownUsage = unknownUsage || !validUsages.Has(string(u))
	}
	return options{bothApprovedAndDenied: approved && denied, legacySigner: old.Spec.SignerName == LegacyUnknownSignerName,
		duplicateConditions: dupCond, emptyConditionType: empty,
		arbitraryCertificate: bytes.Equal(csr.Status.Certificate, old.Status.Certificate) || validateCertificate(old.Status.Certificate) != nil,
		duplicateUsages:      dupUsage, unknownUsages: unknownUsage}
}

var validUsages = sets.New[string](
	"signing", "digital signature", "content commitment", "key encipherment", "key agreement", "data encipherment",
	"cert sign", "crl sign", "encipher only", "decipher only", "any", "server auth", "client auth", "code signing",
	"email protection", "s/mime", "ipsec end system", "ipsec tunnel", "ipsec user", "timestamping", "ocsp signing",
	"microsoft sgc", "netscape sgc")

// validateCSR is kube's validateCertificateSigningRequest.
func validateCSR(csr *certificatesv1.CertificateSigningRequest, opts options) field.ErrorList {
	spec := field.NewPath("spec")
	var errs field.ErrorList
	if err := checkRequest(csr.Spec.Request); err != nil {
		errs = append(errs, field.Invalid(spec.Child("request"), csr.Spec.Request, err.Error()))
	}
	if len(csr.Spec.Usages) == 0 {
		errs = append(errs, field.Required(spec.Child("usages"), "usages must be provided"))
	}
	seen := map[certificatesv1.KeyUsage]bool{}
	for i, u := range csr.Spec.Usages {
		if !opts.unknownUsages && !validUsages.Has(string(u)) {
			errs = append(errs, field.NotSupported(spec.Child("usages").Index(i), u, sets.List(validUsages)))
		}
		if !opts.duplicateUsages && seen[u] {
			errs = append(errs, field.Duplicate(spec.Child("usages").Index(i), u))
		}
		seen[u] = true
	}
	if !opts.legacySigner && csr.Spec.SignerName == LegacyUnknownSignerName {
		errs = append(errs, field.Invalid(spec.Child("signerName"), csr.Spec.SignerName, "the legacy signerName is not allowed via this API version"))
	} else {
		errs = append(errs, validateSignerName(spec.Child("signerName"), csr.Spec.SignerName)...)
	}
	if s := csr.Spec.ExpirationSeconds; s != nil && *s < 600 {
		errs = append(errs, field.Invalid(spec.Child("expirationSeconds"), *s, "may not specify a duration less than 600 seconds (10 minutes)"))
	}
	errs = append(errs, validateConditions(field.NewPath("status", "conditions"), csr, opts)...)
	if !opts.arbitraryCertificate {
		if err := validateCertificate(csr.Status.Certificate); err != nil {
			errs = append(errs, field.Invalid(field.NewPath("status", "certificate"), "<certificate data>", err.Error()))
		}
	}
	return errs
}

// checkRequest: a PEM CERTIFICATE REQUEST whose signature holds.
func checkRequest(pemBytes []byte) error {
	req, err := ParseRequest(pemBytes)
	if err != nil {
		return err
	}
	return req.CheckSignature()
}

// ParseRequest reads the PEM CERTIFICATE REQUEST of a
// CertificateSigningRequest, as kube's ParseCSR.
func ParseRequest(pemBytes []byte) (*x509.CertificateRequest, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		return nil, errors.New("PEM block type must be CERTIFICATE REQUEST")
	}
	return x509.ParseCertificateRequest(block.Bytes)
}

var (
	trueOnly  = sets.New(string(corev1.ConditionTrue))
	anyStatus = sets.New(string(corev1.ConditionTrue), string(corev1.ConditionFalse), string(corev1.ConditionUnknown))
)

func validateConditions(path *field.Path, csr *certificatesv1.CertificateSigningRequest, opts options) field.ErrorList {
	var errs field.ErrorList
	seen := map[certificatesv1.RequestConditionType]bool{}
	var approved, denied bool
	for i, c := range csr.Status.Conditions {
		if !opts.emptyConditionType && c.Type == "" {
			errs = append(errs, field.Required(path.Index(i).Child("type"), ""))
		}
		allowed := anyStatus
		switch c.Type {
		case certificatesv1.CertificateApproved, certificatesv1.CertificateDenied, certificatesv1.CertificateFailed:
			allowed = trueOnly
		}
		switch {
		case c.Status == "":
			errs = append(errs, field.Required(path.Index(i).Child("status"), ""))
		case !allowed.Has(string(c.Status)):
			errs = append(errs, field.NotSupported(path.Index(i).Child("status"), c.Status, sets.List(allowed)))
		}
		if !opts.bothApprovedAndDenied {
			switch c.Type {
			case certificatesv1.CertificateApproved:
				approved = true
				if denied {
					errs = append(errs, field.Invalid(path.Index(i).Child("type"), c.Type, "Approved and Denied conditions are mutually exclusive"))
				}
			case certificatesv1.CertificateDenied:
				denied = true
				if approved {
					errs = append(errs, field.Invalid(path.Index(i).Child("type"), c.Type, "Approved and Denied conditions are mutually exclusive"))
				}
			}
		}
		if !opts.duplicateConditions {
			if seen[c.Type] {
				errs = append(errs, field.Duplicate(path.Index(i).Child("type"), c.Type))
			}
			seen[c.Type] = true
		}
	}
	return errs
}

// validateSignerName is kube's: domain.com/path, each part made of DNS
// labels (domain) or subdomains (path).
func validateSignerName(path *field.Path, name string) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(path, "signerName must be provided")}
	}
	segments := strings.Split(name, "/")
	if len(segments) != 2 {
		return field.ErrorList{field.Invalid(path, name, "must be a fully qualified domain and path of the form 'example.com/signer-name'")}
	}
	var errs field.ErrorList
	if len(segments[0]) > utilvalidation.DNS1123SubdomainMaxLength {
		errs = append(errs, field.TooLong(path, segments[0], utilvalidation.DNS1123SubdomainMaxLength))
	}
	labels := strings.Split(segments[0], ".")
	for _, l := range labels {
		if msgs := utilvalidation.IsDNS1123Label(l); len(msgs) > 0 {
			for _, m := range msgs {
				errs = append(errs, field.Invalid(path, segments[0], fmt.Sprintf("validating label %q: %s", l, m)))
			}
			break
		}
	}
	if len(labels) < 2 {
		errs = append(errs, field.Invalid(path, segments[0], "should be a domain with at least two segments separated by dots"))
	}
	for _, l := range strings.Split(segments[1], ".") {
		if msgs := utilvalidation.IsDNS1123Subdomain(l); len(msgs) > 0 {
			for _, m := range msgs {
				errs = append(errs, field.Invalid(path, segments[1], fmt.Sprintf("validating label %q: %s", l, m)))
			}
			break
		}
	}
	maxLen := 2*utilvalidation.DNS1123SubdomainMaxLength + utilvalidation.DNS1123LabelMaxLength + 2
	if len(name) > maxLen {
		errs = append(errs, field.TooLong(path, name, maxLen))
	}
	return errs
}

// validateCertificate: empty, or PEM CERTIFICATE blocks only, each
// parsed, at least one.
func validateCertificate(cert []byte) error {
	if len(cert) == 0 {
		return nil
	}
	blocks := 0
	for {
		var block *pem.Block
		block, cert = pem.Decode(cert)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return fmt.Errorf("only CERTIFICATE PEM blocks are allowed, found %q", block.Type)
		}
		if len(block.Headers) != 0 {
			return fmt.Errorf("no PEM block headers are permitted")
		}
		blocks++
		certs, err := x509.ParseCertificates(block.Bytes)
		if err != nil {
			return err
		}
		if len(certs) == 0 {
			return fmt.Errorf("found CERTIFICATE PEM block containing 0 certificates")
		}
	}
	if blocks == 0 {
		return fmt.Errorf("must contain at least one CERTIFICATE PEM block")
	}
	return nil
}

// validateCSRUpdate is kube's validateCertificateSigningRequestUpdate:
// the object as a whole, then no removal of Approved, Denied or Failed
// conditions, no change of Approved or Denied but through approval, the
// certificate set only through status and never changed once set.
func validateCSRUpdate(csr, old *certificatesv1.CertificateSigningRequest, opts options) field.ErrorList {
	errs := validateCSR(csr, opts)
	conditions := field.NewPath("status", "conditions")
	for _, t := range []certificatesv1.RequestConditionType{certificatesv1.CertificateApproved, certificatesv1.CertificateDenied, certificatesv1.CertificateFailed} {
		if len(conditionIndices(csr, t)) < len(conditionIndices(old, t)) {
			errs = append(errs, field.Forbidden(conditions, fmt.Sprintf("updates may not remove a condition of type %q", t)))
		}
	}
	if !opts.settingApproval {
		for _, t := range []certificatesv1.RequestConditionType{certificatesv1.CertificateApproved, certificatesv1.CertificateDenied} {
			was, now := conditionsOf(old, t), conditionsOf(csr, t)
			switch {
			case len(now) < len(was):
			case len(now) > len(was):
				errs = append(errs, field.Forbidden(conditions, fmt.Sprintf("updates may not add a condition of type %q", t)))
			case !apiequality.Semantic.DeepEqual(was, now):
				errs = append(errs, field.Forbidden(conditions, fmt.Sprintf("updates may not modify a condition of type %q", t)))
			}
		}
	}
	if !bytes.Equal(csr.Status.Certificate, old.Status.Certificate) {
		switch {
		case !opts.settingCertificate:
			errs = append(errs, field.Forbidden(field.NewPath("status", "certificate"), "updates may not set certificate content"))
		case len(old.Status.Certificate) > 0:
			errs = append(errs, field.Forbidden(field.NewPath("status", "certificate"), "updates may not modify existing certificate content"))
		}
	}
	return errs
}

func conditionsOf(csr *certificatesv1.CertificateSigningRequest, t certificatesv1.RequestConditionType) []certificatesv1.CertificateSigningRequestCondition {
	var out []certificatesv1.CertificateSigningRequestCondition
	for _, c := range csr.Status.Conditions {
		if c.Type == t {
			out = append(out, c)
		}
	}
	return out
}
