package admission

import (
	"context"
	"testing"

	certificatesv1 "k8s.io/api/certificates/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"kapi/internal/request"
)

func TestClusterTrustBundleAttest(t *testing.T) {
	az := &signerAuthorizer{allow: map[string]bool{"alice attest example.com/one": true}}
	bundles := row("certificates.k8s.io/v1/clustertrustbundles", false)
	bundle := func(signer, pem string) *certificatesv1.ClusterTrustBundle {
		return &certificatesv1.ClusterTrustBundle{ObjectMeta: metav1.ObjectMeta{Name: "b"}, Spec: certificatesv1.ClusterTrustBundleSpec{SignerName: signer, TrustBundle: pem}}
	}
	as := func(a *Attributes) *Attributes {
		a.User = &request.User{Name: "alice"}
		return a
	}
	for _, tc := range []struct {
		name string
		a    *Attributes
		want string
	}{
		{"allowed signer", as(attrs(Create, bundles, "", bundle("example.com/one", "x"), nil)), ""},
		{"no signer", as(attrs(Create, bundles, "", bundle("", "x"), nil)), ""},
		{"other signer", as(attrs(Create, bundles, "", bundle("example.com/two", "x"), nil)),
			`clustertrustbundles.certificates.k8s.io "b" is forbidden: user not permitted to attest for signerName "example.com/two"`},
		{"update changing nothing checked", as(attrs(Update, bundles, "", bundle("example.com/two", "x"), bundle("example.com/two", "x"))), ""},
		{"update of the bundle", as(attrs(Update, bundles, "", bundle("example.com/two", "y"), bundle("example.com/two", "x"))),
			"user not permitted to attest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ClusterTrustBundleAttest{Authorizer: az}.Validate(context.Background(), tc.a)
			code := int32(403)
			if tc.want == "" {
				code = 0
			}
			wantErr(t, err, tc.want, code)
		})
	}
}
