package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"kapi/internal/controllers"
	"kapi/internal/server"
)

// testCA is a CA of the test's that issues client certificates.
type testCA struct {
	PEM  []byte
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newTestCA(t *testing.T, cn string) *testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{PEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), cert: cert, key: key}
}

// issue is a client certificate for cn, in PEM.
func (ca *testCA) issue(t *testing.T, cn string) (certPEM, keyPEM []byte) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
}

// writeFile writes b into a file of dir and returns its path.
func writeFile(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// behindProxy is a client of kapi that shows the client certificate
// certPEM/keyPEM (and no other credential) and adds header to each
// request, as a front proxy does.
func behindProxy(t *testing.T, base *rest.Config, certPEM, keyPEM []byte, header http.Header) kubernetes.Interface {
	t.Helper()
	rc := rest.AnonymousClientConfig(base)
	rc.TLSClientConfig.CertData, rc.TLSClientConfig.KeyData = certPEM, keyPEM
	rc.QPS, rc.Burst = -1, 0
	rc.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripperFunc(func(r *http.Request) (*http.Response, error) {
			r = r.Clone(r.Context())
			for k, v := range header {
				r.Header[k] = v
			}
			return rt.RoundTrip(r)
		})
	})
	return kubernetes.NewForConfigOrDie(rc)
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// remoteAlice are the headers of user alice (group dev) as a front proxy
// sends them.
var remoteAlice = http.Header{"X-Remote-User": {"alice"}, "X-Remote-Uid": {"uid-1"}, "X-Remote-Group": {"dev", "qa"},
	"X-Remote-Extra-Acme.com%2Fproject": {"p1", "p2"}, "X-Remote-Extra-Scopes": {"read"}}

// TestRequestHeaderAuthentication: kapi with --requestheader-* behind a
// front proxy believes the user in the headers of a request signed by the
// proxy's certificate (and RBAC decides as that user); another common
// name of the same CA is refused; an ordinary client certificate's
// headers are ignored. The ConfigMap publishes the flags, and kapi
// generates no front-proxy files of its own.
func TestRequestHeaderAuthentication(t *testing.T) {
	ca := newTestCA(t, "test-front-proxy-ca")
	dir := t.TempDir()
	caFile := writeFile(t, dir, "front-proxy-ca.crt", ca.PEM)
	k := startKapi(t, func(c *server.Config) {
		c.RequestHeader = server.RequestHeaderConfig{ClientCAFile: caFile, AllowedNames: []string{"aggregator"},
			UsernameHeaders: []string{"X-Remote-User"}, UIDHeaders: []string{"X-Remote-Uid"},
			GroupHeaders: []string{"X-Remote-Group"}, ExtraHeaderPrefixes: []string{"X-Remote-Extra-"}}
	})
	ctx := context.Background()
	proxyCert, proxyKey := ca.issue(t, "aggregator")

	alice := behindProxy(t, k.rest, proxyCert, proxyKey, remoteAlice)
	got := whoami(t, alice)
	want := authenticationv1.UserInfo{Username: "alice", UID: "uid-1", Groups: []string{"dev", "qa", "system:authenticated"},
		Extra: map[string]authenticationv1.ExtraValue{"acme.com/project": {"p1", "p2"}, "scopes": {"read"}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("behind the proxy kapi sees %+v, want %+v", got, want)
	}
	// RBAC sees alice, not the proxy.
	_, err := alice.CoreV1().Secrets("default").List(ctx, metav1.ListOptions{})
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `User "alice" cannot list resource "secrets"`) {
		t.Fatalf("alice listing secrets: %v", err)
	}
	admin := behindProxy(t, k.rest, proxyCert, proxyKey, http.Header{"X-Remote-User": {"root"}, "X-Remote-Group": {"system:masters"}})
	if _, err := admin.CoreV1().Secrets("default").List(ctx, metav1.ListOptions{}); err != nil {
		t.Fatalf("a system:masters user behind the proxy: %v", err)
	}

	// Another common name of the proxy's CA is not the proxy.
	intruderCert, intruderKey := ca.issue(t, "intruder")
	_, err = behindProxy(t, k.rest, intruderCert, intruderKey, remoteAlice).AuthenticationV1().SelfSubjectReviews().
		Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if !apierrors.IsUnauthorized(err) {
		t.Fatalf("an unknown common name with alice's headers: %v", err)
	}
	// The proxy's certificate without a user header is nobody.
	_, err = behindProxy(t, k.rest, proxyCert, proxyKey, nil).AuthenticationV1().SelfSubjectReviews().
		Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if !apierrors.IsUnauthorized(err) {
		t.Fatalf("the proxy's certificate without a user: %v", err)
	}
	// An ordinary client certificate's headers are no one's word.
	if u := whoami(t, behindProxy(t, k.rest, k.rest.TLSClientConfig.CertData, k.rest.TLSClientConfig.KeyData, remoteAlice)); u.Username != "kubernetes-admin" {
		t.Fatalf("the admin certificate with alice's headers is %q", u.Username)
	}

	var data map[string]string
	if err := waitUntil(30*time.Second, func() bool {
		cm, err := k.client.CoreV1().ConfigMaps("kube-system").Get(ctx, controllers.AuthenticationConfigMap, metav1.GetOptions{})
		if err == nil {
			data = cm.Data
		}
		return err == nil
	}); err != nil {
		t.Fatal("no ConfigMap")
	}
	for key, v := range map[string]string{
		"requestheader-client-ca-file":       string(ca.PEM),
		"requestheader-allowed-names":        `["aggregator"]`,
		"requestheader-username-headers":     `["X-Remote-User"]`,
		"requestheader-uid-headers":          `["X-Remote-Uid"]`,
		"requestheader-group-headers":        `["X-Remote-Group"]`,
		"requestheader-extra-headers-prefix": `["X-Remote-Extra-"]`,
	} {
		if data[key] != v {
			t.Errorf("ConfigMap %s = %q, want %q", key, data[key], v)
		}
	}
	if _, err := os.Stat(filepath.Join(k.cfg.DataDir, "pki", "front-proxy-ca.crt")); err == nil {
		t.Error("kapi generated a front-proxy CA although --requestheader-client-ca-file was given")
	}
}

// TestRequestHeaderBinary: the kapi binary takes kube-apiserver's
// spelling of the flags (as kubeadm writes them, lists comma-separated)
// and believes the front proxy.
func TestRequestHeaderBinary(t *testing.T) {
	ca := newTestCA(t, "front-proxy-ca")
	files := t.TempDir()
	proxyCert, proxyKey := ca.issue(t, "front-proxy-client")
	dir := t.TempDir()
	port := portOf(t, "https://"+freeAddr(t))
	runKapiBinary(t, dir, "--secure-port", fmt.Sprint(port),
		"--requestheader-client-ca-file="+writeFile(t, files, "front-proxy-ca.crt", ca.PEM),
		"--requestheader-allowed-names=front-proxy-client,other-proxy",
		"--requestheader-username-headers=X-Remote-User",
		"--requestheader-group-headers=X-Remote-Group",
		"--requestheader-extra-headers-prefix=X-Remote-Extra-",
		"--proxy-client-cert-file="+writeFile(t, files, "front-proxy-client.crt", proxyCert),
		"--proxy-client-key-file="+writeFile(t, files, "front-proxy-client.key", proxyKey))
	rc, err := clientcmd.BuildConfigFromFlags("", filepath.Join(dir, "admin.kubeconfig"))
	if err != nil {
		t.Fatal(err)
	}
	if u := whoami(t, behindProxy(t, rc, proxyCert, proxyKey, remoteAlice)); u.Username != "alice" || !reflect.DeepEqual(u.Groups, []string{"dev", "qa", "system:authenticated"}) {
		t.Fatalf("behind the proxy the binary sees %+v", u)
	}
}
