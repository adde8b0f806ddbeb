package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	authorizationv1 "k8s.io/api/authorization/v1"
	"slices"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	certutil "k8s.io/client-go/util/cert"
	"k8s.io/client-go/util/certificate/csr"
	"k8s.io/cluster-bootstrap/token/jws"

	"kapi/internal/server"
)

// bootstrapToken is the Secret `kubeadm token create` writes for id.
func bootstrapToken(id, secret string, expires time.Time, extra map[string]string) *corev1.Secret {
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "bootstrap-token-" + id, Namespace: "kube-system"},
		Type:       "bootstrap.kubernetes.io/token",
		StringData: map[string]string{"token-id": id, "token-secret": secret, "usage-bootstrap-authentication": "true",
			"usage-bootstrap-signing": "true", "auth-extra-groups": "system:bootstrappers:kubeadm:default-node-token"},
	}
	if !expires.IsZero() {
		s.StringData["expiration"] = expires.UTC().Format(time.RFC3339)
	}
	for k, v := range extra {
		s.StringData[k] = v
	}
	return s
}

// TestBootstrapTokens walks kubeadm's join as the API server sees it, with
// --enable-bootstrap-token-auth and kube-controller-manager's two loops
// that kubeadm turns on (--controllers=*,bootstrapsigner,tokencleaner):
//   - a bootstrap token authenticates as system:bootstrap:<id>, in
//     system:bootstrappers and its extra groups, until it expires;
//   - the signer signs kube-public/cluster-info with each token that may
//     sign, and kubeadm's own check (cluster-bootstrap's) accepts the
//     signature; it removes the signature of a token that goes;
//   - the cleaner deletes a token when it expires.
func TestBootstrapTokens(t *testing.T) {
	k := startKapi(t, func(c *server.Config) {
		c.EnableBootstrapTokenAuth = true
		c.Controllers = []string{"*", "bootstrapsigner", "tokencleaner"}
	})
	ctx := context.Background()
	secrets := k.client.CoreV1().Secrets("kube-system")

	const id, secret = "abcdef", "0123456789abcdef"
	if _, err := secrets.Create(ctx, bootstrapToken(id, secret, time.Now().Add(time.Hour), nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	u := whoami(t, k.asToken(t, id+"."+secret))
	want := []string{"system:bootstrappers", "system:bootstrappers:kubeadm:default-node-token", "system:authenticated"}
	if u.Username != "system:bootstrap:"+id || !slices.Equal(u.Groups, want) {
		t.Fatalf("bootstrap token user: %+v, want system:bootstrap:%s in %q", u, id, want)
	}
	// A wrong secret, and a token that may not authenticate, are 401s.
	if _, err := k.asToken(t, id+".0123456789abcdee").CoreV1().Namespaces().List(ctx, metav1.ListOptions{}); !apierrors.IsUnauthorized(err) {
		t.Fatalf("wrong secret: %v, want 401", err)
	}
	const signOnly = "signon"
	if _, err := secrets.Create(ctx, bootstrapToken(signOnly, secret, time.Time{}, map[string]string{"usage-bootstrap-authentication": "false"}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := k.asToken(t, signOnly+"."+secret).CoreV1().Namespaces().List(ctx, metav1.ListOptions{}); !apierrors.IsUnauthorized(err) {
		t.Fatalf("token not for authentication: %v, want 401", err)
	}
	// Like a token file's, a bootstrap token is good for the API
	// audiences only.
	for _, c := range []struct {
		auds []string
		want bool
	}{{nil, true}, {[]string{"vault"}, false}} {
		tr, err := k.client.AuthenticationV1().TokenReviews().Create(ctx, &authenticationv1.TokenReview{
			Spec: authenticationv1.TokenReviewSpec{Token: id + "." + secret, Audiences: c.auds}}, metav1.CreateOptions{})
		if err != nil || tr.Status.Authenticated != c.want {
			t.Fatalf("TokenReview for %q: %+v, %v; want authenticated %v", c.auds, tr.Status, err, c.want)
		}
		if c.want && !slices.Equal(tr.Status.Audiences, []string{server.DefaultIssuer}) {
			t.Errorf("TokenReview for the API audiences: audiences %q, want %q", tr.Status.Audiences, server.DefaultIssuer)
		}
	}

	// cluster-info, as kubeadm writes it, gets both tokens' signatures.
	const kubeconfig = "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    server: https://10.0.0.1:6443\n  name: \"\"\n"
	cms := k.client.CoreV1().ConfigMaps("kube-public")
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cluster-info"},
		Data: map[string]string{"kubeconfig": kubeconfig}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	signatures := func(want ...string) map[string]string {
		t.Helper()
		var data map[string]string
		err := waitUntil(20*time.Second, func() bool {
			cm, err := cms.Get(ctx, "cluster-info", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			data = cm.Data
			n := 0
			for _, id := range want {
				if data["jws-kubeconfig-"+id] != "" {
					n++
				}
			}
			return n == len(want) && len(data) == len(want)+1
		})
		if err != nil {
			t.Fatalf("cluster-info: %v, want the kubeconfig and signatures of %q", data, want)
		}
		return data
	}
	data := signatures(id, signOnly)
	for _, tok := range []string{id, signOnly} {
		if !jws.DetachedTokenIsValid(data["jws-kubeconfig-"+tok], kubeconfig, tok, secret) {
			t.Errorf("signature of %s not accepted by cluster-bootstrap: %s", tok, data["jws-kubeconfig-"+tok])
		}
	}
	// A changed kubeconfig is signed anew; a token that goes loses its
	// signature.
	const changed = kubeconfig + "current-context: \"\"\n"
	cm, err := cms.Get(ctx, "cluster-info", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cm.Data["kubeconfig"] = changed
	if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := secrets.Delete(ctx, "bootstrap-token-"+signOnly, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := waitUntil(20*time.Second, func() bool {
		cm, err := cms.Get(ctx, "cluster-info", metav1.GetOptions{})
		return err == nil && len(cm.Data) == 2 && jws.DetachedTokenIsValid(cm.Data["jws-kubeconfig-"+id], changed, id, secret)
	}); err != nil {
		cm, _ := cms.Get(ctx, "cluster-info", metav1.GetOptions{})
		t.Fatalf("cluster-info after the change: %v", cm.Data)
	}

	// A token that expires stops authenticating and is deleted by the
	// cleaner, which then drops its signature.
	const short, shortSecret = "sh0rt1", "abcdefghijklmnop"
	if _, err := secrets.Create(ctx, bootstrapToken(short, shortSecret, time.Now().Add(3*time.Second), nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if u := whoami(t, k.asToken(t, short+"."+shortSecret)); u.Username != "system:bootstrap:"+short {
		t.Fatalf("short-lived token: %+v", u)
	}
	signatures(id, short)
	if err := waitUntil(30*time.Second, func() bool {
		_, err := secrets.Get(ctx, "bootstrap-token-"+short, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	}); err != nil {
		t.Fatal("the expired token was not deleted")
	}
	signatures(id)
	// The token cache keeps an accepted token up to 10 s, as in kube.
	if err := waitUntil(15*time.Second, func() bool {
		_, err := k.asToken(t, short+"."+shortSecret).CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
		return apierrors.IsUnauthorized(err)
	}); err != nil {
		t.Fatal("the expired token still authenticates")
	}
	// A token that never expires stays.
	if _, err := secrets.Get(ctx, "bootstrap-token-"+id, metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestBootstrapTokensOff: without --enable-bootstrap-token-auth (off by
// default, as in kube-apiserver) a bootstrap token is a 401.
func TestBootstrapTokensOff(t *testing.T) {
	k := startKapi(t)
	ctx := context.Background()
	const id, secret = "ghijkl", "0123456789abcdef"
	if _, err := k.client.CoreV1().Secrets("kube-system").Create(ctx, bootstrapToken(id, secret, time.Time{}, nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := k.asToken(t, id+"."+secret).CoreV1().Namespaces().List(ctx, metav1.ListOptions{}); !apierrors.IsUnauthorized(err) {
		t.Fatalf("bootstrap token without --enable-bootstrap-token-auth: %v, want 401", err)
	}
}

// TestTLSBootstrap: a kubelet's TLS bootstrap as kubeadm sets it up, with
// client-go's certificate request helpers (the kubelet's own): with a
// bootstrap token it asks for a client certificate, the approving loop
// approves it because kubeadm's binding lets the token's group create
// certificatesigningrequests/nodeclient, the signer signs it, and the
// certificate authenticates as the node; the node renews its own
// (selfnodeclient). A token whose group has no such binding may ask but
// is not approved.
func TestTLSBootstrap(t *testing.T) {
	// kubeadm's authorization modes: the Node authorizer lets a node
	// create its renewal's request.
	k := startKapi(t, func(c *server.Config) {
		c.EnableBootstrapTokenAuth, c.AuthorizationModes = true, []string{"Node", "RBAC"}
	})
	ctx := context.Background()
	const secret = "0123456789abcdef"
	bind := func(name, role string, subject rbacv1.Subject) {
		t.Helper()
		if _, err := k.client.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
			RoleRef: rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: role}, Subjects: []rbacv1.Subject{subject}},
			metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	group := func(name string) rbacv1.Subject {
		return rbacv1.Subject{Kind: "Group", APIGroup: "rbac.authorization.k8s.io", Name: name}
	}
	// kubeadm's three bindings.
	bind("kubeadm:kubelet-bootstrap", "system:node-bootstrapper", group("system:bootstrappers:kubeadm:default-node-token"))
	bind("kubeadm:node-autoapprove-bootstrap", "system:certificates.k8s.io:certificatesigningrequests:nodeclient",
		group("system:bootstrappers:kubeadm:default-node-token"))
	bind("kubeadm:node-autoapprove-certificate-rotation", "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient",
		group("system:nodes"))
	// Another token's group may ask, not be approved.
	bind("others-may-ask", "system:node-bootstrapper", group("system:bootstrappers:others"))
	// The bindings reach the RBAC authorizer through its informers.
	for _, c := range []struct{ group, subresource string }{
		{"system:bootstrappers:kubeadm:default-node-token", ""}, {"system:bootstrappers:kubeadm:default-node-token", "nodeclient"},
		{"system:nodes", "selfnodeclient"}, {"system:bootstrappers:others", ""},
	} {
		settle(t, "the binding of "+c.group, func() bool {
			sar, err := k.client.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
				User: "probe", Groups: []string{c.group}, ResourceAttributes: &authorizationv1.ResourceAttributes{
					Group: "certificates.k8s.io", Resource: "certificatesigningrequests", Subresource: c.subresource, Verb: "create"}}}, metav1.CreateOptions{})
			return err == nil && sar.Status.Allowed
		})
	}
	for _, s := range []*corev1.Secret{
		bootstrapToken("abcdef", secret, time.Now().Add(time.Hour), nil),
		bootstrapToken("zyxwvu", secret, time.Now().Add(time.Hour), map[string]string{"auth-extra-groups": "system:bootstrappers:others"}),
	} {
		if _, err := k.client.CoreV1().Secrets("kube-system").Create(ctx, s, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	usages := []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth}
	request := func(c kubernetes.Interface, node string) (string, types.UID, *ecdsa.PrivateKey) {
		t.Helper()
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		der, err := certutil.MakeCSR(key, &pkix.Name{CommonName: "system:node:" + node, Organization: []string{"system:nodes"}}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		name, uid, err := csr.RequestCertificateWithContext(ctx, c, der, "", certificatesv1.KubeAPIServerClientKubeletSignerName, nil, usages, key)
		if err != nil {
			t.Fatalf("requesting a certificate for %s: %v", node, err)
		}
		return name, uid, key
	}
	issue := func(c kubernetes.Interface, name string, uid types.UID, key *ecdsa.PrivateKey) (certPEM, keyPEM []byte) {
		t.Helper()
		wctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		certPEM, err := csr.WaitForCertificate(wctx, c, name, uid)
		if err != nil {
			t.Fatalf("waiting for the certificate of %s: %v", name, err)
		}
		der, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		return certPEM, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
	}

	other := k.asToken(t, "zyxwvu."+secret)
	refused, _, _ := request(other, "worker-2")
	token := k.asToken(t, "abcdef."+secret)
	name, uid, key := request(token, "worker-1")
	certPEM, keyPEM := issue(token, name, uid, key)
	if u := certWhoami(t, k, certPEM, keyPEM); u.Username != "system:node:worker-1" || !slices.Equal(u.Groups, []string{"system:nodes", "system:authenticated"}) {
		t.Fatalf("whoami with the bootstrapped certificate: %+v", u)
	}
	approved, err := k.client.CertificatesV1().CertificateSigningRequests().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c := csrCond(approved, certificatesv1.CertificateApproved); c == nil || c.Reason != "AutoApproved" ||
		c.Message != "Auto approving kubelet client certificate after SubjectAccessReview." || approved.Spec.Username != "system:bootstrap:abcdef" {
		t.Fatalf("approval of %s: %+v by %s", name, c, approved.Spec.Username)
	}
	// The loop has one worker taking requests in order: the other
	// token's, made first, was looked at and left pending.
	if pending, err := k.client.CertificatesV1().CertificateSigningRequests().Get(ctx, refused, metav1.GetOptions{}); err != nil ||
		len(pending.Status.Conditions) != 0 || issued(pending) {
		t.Fatalf("request of a group without nodeclient: %+v, %v", pending.Status, err)
	}

	// The node renews its certificate with the one it has.
	nodeCfg := &rest.Config{Host: k.rest.Host, TLSClientConfig: rest.TLSClientConfig{CAData: k.rest.CAData, CAFile: k.rest.CAFile,
		CertData: certPEM, KeyData: keyPEM}}
	nodeClient := kubernetes.NewForConfigOrDie(nodeCfg)
	name, uid, key = request(nodeClient, "worker-1")
	issue(nodeClient, name, uid, key)
	renewed, err := k.client.CertificatesV1().CertificateSigningRequests().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c := csrCond(renewed, certificatesv1.CertificateApproved); c == nil || c.Message != "Auto approving self kubelet client certificate after SubjectAccessReview." {
		t.Fatalf("renewal: %+v", c)
	}
}
