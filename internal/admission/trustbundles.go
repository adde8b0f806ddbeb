package admission

import (
	"context"
	"fmt"

	certificatesv1 "k8s.io/api/certificates/v1"

	"kapi/internal/authz"
)

// ClusterTrustBundleAttest is kube-apiserver's plugin of the same name:
// who writes a ClusterTrustBundle for a signer must be allowed to
// "attest" for it (the verb on "signers" of certificates.k8s.io, by the
// signer's name or its domain with "/*"). An update that changes neither
// the signer nor the bundle is not checked; a bundle without a signer
// never is.
type ClusterTrustBundleAttest struct {
	Authorizer authz.Authorizer
}

// Validate checks creates and updates of ClusterTrustBundles.
func (p ClusterTrustBundleAttest) Validate(ctx context.Context, a *Attributes) error {
	if !is(a, "certificates.k8s.io", "clustertrustbundles") || a.Subresource != "" || (a.Operation != Create && a.Operation != Update) {
		return nil
	}
	bundle, ok := a.Object.(*certificatesv1.ClusterTrustBundle)
	if !ok {
		return Forbidden(a, fmt.Errorf("expected type ClusterTrustBundle, got: %T", a.Object))
	}
	if bundle.Spec.SignerName == "" {
		return nil
	}
	if old, ok := a.OldObject.(*certificatesv1.ClusterTrustBundle); ok && a.Operation == Update &&
		old.Spec.SignerName == bundle.Spec.SignerName && old.Spec.TrustBundle == bundle.Spec.TrustBundle {
		return nil
	}
	if !AuthorizedForSigner(ctx, p.Authorizer, a.User, "attest", bundle.Spec.SignerName) {
		return Forbidden(a, fmt.Errorf("user not permitted to attest for signerName %q", bundle.Spec.SignerName))
	}
	return nil
}
