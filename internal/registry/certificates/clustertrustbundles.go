package certificates

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"

	certificatesv1 "k8s.io/api/certificates/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/registry"
)

// maxTrustBundleSize is the longest a trust bundle may be (kube's 1 MiB).
const maxTrustBundleSize = 1 << 20

// clusterTrustBundleHooks validate a ClusterTrustBundle as kube's
// ValidateClusterTrustBundle and its update: a name that starts with its
// signer's (or, without one, has no ':'), a valid signer name, and a
// bundle of CA certificates, parsed only when it changed; the signer name
// never changes.
var clusterTrustBundleHooks = &registry.Hooks{
	Validate: func(obj, old runtime.Object) field.ErrorList {
		b := obj.(*certificatesv1.ClusterTrustBundle)
		errs := validateTrustBundleName(b.Name, b.Spec.SignerName)
		if b.Spec.SignerName != "" {
			errs = append(errs, validateSignerName(field.NewPath("spec", "signerName"), b.Spec.SignerName)...)
		}
		o, _ := old.(*certificatesv1.ClusterTrustBundle)
		if o == nil || o.Spec.TrustBundle != b.Spec.TrustBundle {
			errs = append(errs, validateTrustBundle(field.NewPath("spec", "trustBundle"), b.Spec.TrustBundle)...)
		}
		if o != nil {
			errs = append(errs, apimachineryvalidation.ValidateImmutableField(b.Spec.SignerName, o.Spec.SignerName, field.NewPath("spec", "signerName"))...)
		}
		return errs
	},
}

// validateTrustBundleName: a bundle of a signer is named
// "<signer, '/' as ':'>:<DNS subdomain>"; one of none has no ':'.
func validateTrustBundleName(name, signer string) field.ErrorList {
	var msgs []string
	switch prefix := strings.ReplaceAll(signer, "/", ":") + ":"; {
	case signer == "" && strings.Contains(name, ":"):
		msgs = []string{`ClusterTrustBundle without signer name must not have ":" in its name`}
	case signer == "":
		msgs = apimachineryvalidation.NameIsDNSSubdomain(name, false)
	case !strings.HasPrefix(name, prefix):
		msgs = []string{fmt.Sprintf("ClusterTrustBundle for signerName %s must be named with prefix %s", signer, prefix)}
	default:
		msgs = apimachineryvalidation.NameIsDNSSubdomain(strings.TrimPrefix(name, prefix), false)
	}
	var errs field.ErrorList
	for _, m := range msgs {
		errs = append(errs, field.Invalid(field.NewPath("metadata", "name"), name, m))
	}
	return errs
}

// validateTrustBundle is kube's: PEM CERTIFICATE blocks without headers,
// each an X.509 CA certificate, at least one, none twice.
func validateTrustBundle(path *field.Path, in string) field.ErrorList {
	if len(in) > maxTrustBundleSize {
		return field.ErrorList{field.TooLong(path, "", maxTrustBundleSize)}
	}
	var errs field.ErrorList
	bad := func(format string, args ...any) {
		errs = append(errs, field.Invalid(path, "<value omitted>", fmt.Sprintf(format, args...)))
	}
	var order []string
	seen := map[string][]int{}
	rest := []byte(in)
	for i := 0; ; i++ {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			bad("entry %d has bad block type: %v", i, b.Type)
			continue
		}
		if len(b.Headers) != 0 {
			bad("entry %d has PEM block headers", i)
			continue
		}
		cert, err := x509.ParseCertificate(b.Bytes)
		switch {
		case err != nil:
			bad("entry %d does not parse as X.509", i)
			continue
		case !cert.IsCA:
			bad("entry %d does not have the CA bit set", i)
			continue
		case !cert.BasicConstraintsValid:
			bad("entry %d has invalid basic constraints", i)
			continue
		}
		if _, ok := seen[string(b.Bytes)]; !ok {
			order = append(order, string(b.Bytes))
		}
		seen[string(b.Bytes)] = append(seen[string(b.Bytes)], i)
	}
	// A malformed block says enough.
	if len(errs) != 0 {
		return errs
	}
	if len(seen) == 0 {
		bad("at least one trust anchor must be provided")
	}
	for _, k := range order {
		if indices := seen[k]; len(indices) > 1 {
			bad("duplicate trust anchor (indices %v)", indices)
		}
	}
	return errs
}
