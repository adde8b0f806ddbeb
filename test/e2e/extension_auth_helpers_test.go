package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	genericfilters "k8s.io/apiserver/pkg/endpoints/filters"
	genericrequest "k8s.io/apiserver/pkg/endpoints/request"
	genericserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/server/dynamiccertificates"
	"k8s.io/apiserver/pkg/server/options"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"kapi/internal/controllers"
)

// delegatedAuth is the authentication and authorization of a standard
// extension API server (k8s.io/apiserver's delegated options, exactly as
// sample-apiserver and metrics-server build them), pointed at kapi: the
// client CA and the front-proxy CA, allowed names and headers come from
// kapi's kube-system/extension-apiserver-authentication ConfigMap, tokens
// are checked with TokenReviews and every request is authorized with a
// SubjectAccessReview to kapi (requests of system:masters, and /healthz,
// /readyz, /livez, are allowed without asking, as the options' defaults).
//
// The extension server talks to kapi as a service account bound, as a
// cluster admin binds an extension server, to the
// extension-apiserver-authentication-reader Role and the
// system:auth-delegator ClusterRole: so the test also shows those
// bootstrap roles suffice.
//
// The returned wrapper puts the request's user in its context
// (k8s.io/apiserver/pkg/endpoints/request.UserFrom reads it); a request
// not allowed gets k8s.io/apiserver's 401 or 403 Status. The dynamic
// CA controllers stop when the test ends.
func delegatedAuth(t testing.TB, k *kapi) func(http.Handler) http.Handler {
	t.Helper()
	kubeconfig := extensionKubeconfig(t, k)
	authn := options.NewDelegatingAuthenticationOptions()
	authn.RemoteKubeConfigFile = kubeconfig
	authz := options.NewDelegatingAuthorizationOptions()
	authz.RemoteKubeConfigFile = kubeconfig
	// Short caches, so that a test that changes RBAC sees it at once.
	authn.CacheTTL = 0
	authz.AllowCacheTTL, authz.DenyCacheTTL = 0, 0

	var authnInfo genericserver.AuthenticationInfo
	var authzInfo genericserver.AuthorizationInfo
	// The serving info collects the CA providers the authenticators use
	// (client-ca-file and requestheader-client-ca-file of the ConfigMap);
	// a generic API server runs them when it serves, here the helper does.
	var serving genericserver.SecureServingInfo
	if err := authn.ApplyTo(&authnInfo, &serving, nil); err != nil {
		t.Fatalf("delegated authentication: %v", err)
	}
	if err := authz.ApplyTo(&authzInfo); err != nil {
		t.Fatalf("delegated authorization: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if runner, ok := serving.ClientCA.(dynamiccertificates.ControllerRunner); ok {
		if err := runner.RunOnce(ctx); err != nil {
			t.Fatalf("reading the CAs of the ConfigMap: %v", err)
		}
		go runner.Run(ctx, 1)
	}
	// Their first read is of their informers' caches: a generic API
	// server is ready once these are filled, the helper waits the same.
	loaded := func(p dynamiccertificates.CAContentProvider) bool {
		_, ok := p.VerifyOptions()
		return ok
	}
	if err := waitUntil(30*time.Second, func() bool {
		return loaded(authnInfo.RequestHeaderConfig.CAContentProvider) && loaded(serving.ClientCA)
	}); err != nil {
		t.Fatal("the extension server never read the CAs of kapi's ConfigMap")
	}
	resolver := &genericrequest.RequestInfoFactory{APIPrefixes: sets.NewString("api", "apis"), GrouplessAPIPrefixes: sets.NewString("api")}
	return func(h http.Handler) http.Handler {
		h = genericfilters.WithAuthorization(h, authzInfo.Authorizer, scheme.Codecs)
		h = genericfilters.WithAuthentication(h, authnInfo.Authenticator, genericfilters.Unauthorized(scheme.Codecs), nil, authnInfo.RequestHeaderConfig)
		return genericfilters.WithRequestInfo(h, resolver)
	}
}

// extensionKubeconfig is the kubeconfig of the service account
// kube-system/extension-apiserver, with a token and kapi's CA, bound as
// an extension server is; it waits for the ConfigMap the extension
// server reads at start.
func extensionKubeconfig(t testing.TB, k *kapi) string {
	t.Helper()
	ctx := context.Background()
	const sa = "extension-apiserver"
	subject := []rbacv1.Subject{{Kind: "ServiceAccount", Name: sa, Namespace: "kube-system"}}
	for _, err := range []error{
		create(k.client.CoreV1().ServiceAccounts("kube-system").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{})),
		create(k.client.RbacV1().RoleBindings("kube-system").Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: sa + "-auth-reader"},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "extension-apiserver-authentication-reader"},
			Subjects: subject}, metav1.CreateOptions{})),
		create(k.client.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: sa + ":system:auth-delegator"},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "system:auth-delegator"},
			Subjects: subject}, metav1.CreateOptions{})),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	exp := int64(3600)
	tr, err := k.client.CoreV1().ServiceAccounts("kube-system").CreateToken(ctx, sa,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &exp}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ca := k.rest.TLSClientConfig.CAData
	if len(ca) == 0 {
		if ca, err = os.ReadFile(k.rest.TLSClientConfig.CAFile); err != nil {
			t.Fatal(err)
		}
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["kapi"] = &clientcmdapi.Cluster{Server: k.rest.Host, CertificateAuthorityData: ca}
	cfg.AuthInfos[sa] = &clientcmdapi.AuthInfo{Token: tr.Status.Token}
	cfg.Contexts[sa] = &clientcmdapi.Context{Cluster: "kapi", AuthInfo: sa}
	cfg.CurrentContext = sa
	file := filepath.Join(t.TempDir(), "extension-apiserver.kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, file); err != nil {
		t.Fatal(err)
	}
	if err := waitUntil(30*time.Second, func() bool {
		_, err := k.client.CoreV1().ConfigMaps("kube-system").Get(ctx, controllers.AuthenticationConfigMap, metav1.GetOptions{})
		return err == nil
	}); err != nil {
		t.Fatalf("no kube-system/%s", controllers.AuthenticationConfigMap)
	}
	return file
}

// create is the error of a create, none when the object is there.
func create[T any](_ T, err error) error {
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

// serveExtension serves h over HTTPS on a free loopback port as an
// extension API server does (client certificates asked for, verified by
// the authenticators), with a serving certificate for 127.0.0.1,
// localhost and dnsNames (e.g. "api.wardle.svc", the name kapi's
// aggregator verifies); it returns the URL and the CA bundle that
// verifies the server (an APIService's caBundle). It stops when the test
// ends.
func serveExtension(t testing.TB, h http.Handler, dnsNames ...string) (url string, caBundle []byte) {
	t.Helper()
	cert := servingCert(t, append([]string{"localhost"}, dnsNames...))
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequestClientCert}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.URL, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]})
}

// extensionUser is a handler that answers the user k8s.io/apiserver
// authenticated, as JSON (authenticationv1.UserInfo).
var extensionUser = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	u, ok := genericrequest.UserFrom(r.Context())
	if !ok {
		http.Error(w, "no user", http.StatusInternalServerError)
		return
	}
	info := authenticationv1.UserInfo{Username: u.GetName(), UID: u.GetUID(), Groups: u.GetGroups(), Extra: map[string]authenticationv1.ExtraValue{}}
	for k, v := range u.GetExtra() {
		info.Extra[k] = v
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(info)
})

// servingCert is a self-signed serving certificate for 127.0.0.1 and
// dnsNames.
func servingCert(t testing.TB, dnsNames []string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: dnsNames[0]},
		DNSNames:     dnsNames,
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
