package e2e

import (
	"context"
	"crypto/x509/pkix"
	"encoding/asn1"
	"strings"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestClientCertificateUser: a client certificate's user as kube 1.37's:
// its uid from the subject attribute 1.3.6.1.4.1.57683.2
// (AllowParsingUserUIDFromCertAuth, on by default; two of them are a
// 401), the certificate's fingerprint as the credential id in the
// user's extra, and a certificate without a common name is anonymous.
func TestClientCertificateUser(t *testing.T) {
	t.Parallel()
	k := startKapi(t)
	ctx := context.Background()
	uidOID := asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57683, 2}
	u := whoami(t, k.asCertFor(t, pkix.Name{CommonName: "dana", Organization: []string{"ops"},
		ExtraNames: []pkix.AttributeTypeAndValue{{Type: uidOID, Value: "uid-dana"}}}))
	if u.Username != "dana" || u.UID != "uid-dana" || !contains(u.Groups, "ops") {
		t.Errorf("dana: %+v", u)
	}
	if id := u.Extra["authentication.kubernetes.io/credential-id"]; len(id) != 1 || !strings.HasPrefix(id[0], "X509SHA256=") || len(id[0]) != len("X509SHA256=")+64 {
		t.Errorf("dana's credential id: %v", id)
	}
	_, err := k.asCertFor(t, pkix.Name{CommonName: "eve", ExtraNames: []pkix.AttributeTypeAndValue{{Type: uidOID, Value: "a"}, {Type: uidOID, Value: "b"}}}).
		AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if !apierrors.IsUnauthorized(err) {
		t.Errorf("two uids: %v", err)
	}
	_, err = k.asCertFor(t, pkix.Name{Organization: []string{"ops"}}).CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{})
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `User "system:anonymous"`) {
		t.Errorf("no common name: %v", err)
	}
}
