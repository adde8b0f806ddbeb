package e2e

import (
	"context"
	"testing"

	certificatesv1 "k8s.io/api/certificates/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestClusterTrustBundleSignerSelector: trust bundles are listed by
// spec.signerName, as kube-controller-manager's publisher lists its own.
func TestClusterTrustBundleSignerSelector(t *testing.T) {
	k := startKapi(t)
	ctx := context.Background()
	bundles := k.client.CertificatesV1().ClusterTrustBundles()
	ca := readFile(t, k.srv.PKI.CACert)
	for _, b := range []*certificatesv1.ClusterTrustBundle{
		{ObjectMeta: metav1.ObjectMeta{Name: "example.com:foo:a"}, Spec: certificatesv1.ClusterTrustBundleSpec{SignerName: "example.com/foo", TrustBundle: ca}},
		{ObjectMeta: metav1.ObjectMeta{Name: "example.com:bar:a"}, Spec: certificatesv1.ClusterTrustBundleSpec{SignerName: "example.com/bar", TrustBundle: ca}},
		{ObjectMeta: metav1.ObjectMeta{Name: "plain"}, Spec: certificatesv1.ClusterTrustBundleSpec{TrustBundle: ca}},
	} {
		if _, err := bundles.Create(ctx, b, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, rv := range []string{"", "0"} {
		l, err := bundles.List(ctx, metav1.ListOptions{FieldSelector: "spec.signerName=example.com/foo", ResourceVersion: rv})
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Items) != 1 || l.Items[0].Name != "example.com:foo:a" {
			t.Errorf("resourceVersion %q: listed %v", rv, l.Items)
		}
	}
	if _, err := k.client.CertificatesV1().PodCertificateRequests("default").List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=n1,spec.podName=p,spec.signerName=s"}); err != nil {
		t.Errorf("pod certificate requests by node, pod and signer: %v", err)
	}
}
