package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"kapi/internal/authn"
	"kapi/internal/server"
)

// tokenFile writes a --token-auth-file with the test's users.
func tokenFile(t testing.TB) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tokens.csv")
	data := "alice-token,alice,uid-alice,\"dev,qa\"\nbob-token,bob,uid-bob\nadmin-token,root,uid-root,system:masters\n"
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// asToken is a client of k that authenticates with a bearer token only.
func (k *kapi) asToken(t *testing.T, token string) kubernetes.Interface {
	t.Helper()
	return kubernetes.NewForConfigOrDie(k.tokenConfig(token))
}

func (k *kapi) tokenConfig(token string) *rest.Config {
	return &rest.Config{Host: k.rest.Host, BearerToken: token, TLSClientConfig: rest.TLSClientConfig{CAData: k.rest.CAData, CAFile: k.rest.CAFile}, QPS: -1}
}

// rawStatus sends GET path with the given client TLS and bearer token and
// returns the code.
func (k *kapi) rawGet(t *testing.T, path, token string, certs ...tls.Certificate) (int, string) {
	t.Helper()
	hc := rawClient(t, k, certs...)
	req, _ := http.NewRequest("GET", k.srv.URL+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func whoami(t *testing.T, c kubernetes.Interface) authenticationv1.UserInfo {
	t.Helper()
	r, err := c.AuthenticationV1().SelfSubjectReviews().Create(context.Background(), &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("whoami: %v", err)
	}
	return r.Status.UserInfo
}

// TestAuthentication: certificates, static tokens and service-account
// tokens identify their users; every bad credential is a 401, never
// anonymous.
func TestAuthentication(t *testing.T) {
	k := startKapi(t, func(c *server.Config) { c.TokenAuthFile = tokenFile(t) })
	ctx := context.Background()

	if u := whoami(t, k.client); u.Username != "kubernetes-admin" || !contains(u.Groups, "system:masters") || !contains(u.Groups, "system:authenticated") {
		t.Fatalf("admin certificate: %+v", u)
	}
	if u := whoami(t, k.asToken(t, "alice-token")); u.Username != "alice" || u.UID != "uid-alice" || !contains(u.Groups, "dev") || !contains(u.Groups, "qa") || !contains(u.Groups, "system:authenticated") {
		t.Fatalf("alice: %+v", u)
	}

	// A service account and a token for it, as kubectl create token asks.
	if _, err := k.client.CoreV1().ServiceAccounts("default").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "robot"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tr, err := k.client.CoreV1().ServiceAccounts("default").CreateToken(ctx, "robot", &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cacheHits := func() float64 {
		t.Helper()
		raw, err := k.client.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return metricValue(string(raw), "authentication_token_cache_request_total", `status="hit"`)
	}
	hits := cacheHits()
	if u := whoami(t, k.asToken(t, tr.Status.Token)); u.Username != "system:serviceaccount:default:robot" || !contains(u.Groups, "system:serviceaccounts:default") {
		t.Fatalf("service account: %+v", u)
	}
	// TokenReview agrees.
	review, err := k.client.AuthenticationV1().TokenReviews().Create(ctx, &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: tr.Status.Token}}, metav1.CreateOptions{})
	if err != nil || !review.Status.Authenticated || review.Status.User.Username != "system:serviceaccount:default:robot" {
		t.Fatalf("token review: %v %+v", err, review.Status)
	}
	// As kube-apiserver, the token was checked once: its cache answered
	// the TokenReview (the same token, for the API audiences) and answers
	// the requests after it. (Other tests of the process count hits too:
	// at least.)
	for range 2 {
		whoami(t, k.asToken(t, tr.Status.Token))
	}
	if n := cacheHits() - hits; n < 3 {
		t.Errorf("the token cache counted %v hits, want at least 3", n)
	}

	// Bad credentials, each 401.
	key, err := authn.ReadPrivateKey(filepath.Join(k.cfg.DataDir, "pki", "sa.key"))
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := authn.NewSigner(key)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	forger, _ := authn.NewSigner(other)
	sa, _ := k.client.CoreV1().ServiceAccounts("default").Get(ctx, "robot", metav1.GetOptions{})
	claims := func(exp time.Time) map[string]any {
		return map[string]any{"iss": server.DefaultIssuer, "sub": "system:serviceaccount:default:robot", "aud": []string{server.DefaultIssuer},
			"exp": exp.Unix(), "iat": time.Now().Add(-2 * time.Hour).Unix(), "nbf": time.Now().Add(-2 * time.Hour).Unix(),
			"kubernetes.io": map[string]any{"namespace": "default", "serviceaccount": map[string]string{"name": "robot", "uid": string(sa.UID)}}}
	}
	expired, _ := signer.Sign(context.Background(), claims(time.Now().Add(-time.Hour)))
	forged, _ := forger.Sign(context.Background(), claims(time.Now().Add(time.Hour)))
	valid, _ := signer.Sign(context.Background(), claims(time.Now().Add(time.Hour)))
	if code, body := k.rawGet(t, "/api/v1/namespaces/default/configmaps", valid); code == 401 {
		t.Fatalf("a well-signed hand-made token is refused: %s", body)
	}
	for name, token := range map[string]string{
		"expired": expired, "wrongly signed": forged, "malformed": "not.a.jwt", "garbage": "x", "unknown static": "nobody-token",
	} {
		if code, body := k.rawGet(t, "/api/v1/namespaces/default/configmaps", token); code != 401 || !strings.Contains(body, `"reason":"Unauthorized"`) {
			t.Errorf("%s token: %d %s", name, code, body)
		}
	}
	// A certificate from another CA.
	if code, body := k.rawGet(t, "/api/v1/namespaces", "", foreignCert(t)); code != 401 {
		t.Errorf("certificate from another CA: %d %s", code, body)
	}
	// Once the service account is gone, its tokens are refused.
	if err := k.client.CoreV1().ServiceAccounts("default").Delete(ctx, "robot", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	// The token was accepted a moment ago: kube-apiserver's token cache
	// may accept it up to 10 s more.
	if err := refusedSoon(func() error {
		_, err := k.asToken(t, tr.Status.Token).CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{})
		return err
	}); !apierrors.IsUnauthorized(err) {
		t.Errorf("token of a deleted service account: %v", err)
	}

	// No credential at all: anonymous, which may read /version and health
	// but not resources.
	if code, _ := k.rawGet(t, "/version", ""); code != 200 {
		t.Errorf("anonymous /version: %d", code)
	}
	if code, _ := k.rawGet(t, "/readyz", ""); code != 200 {
		t.Errorf("anonymous /readyz: %d", code)
	}
	if code, body := k.rawGet(t, "/api/v1/namespaces", ""); code != 403 || !strings.Contains(body, `User \"system:anonymous\" cannot list resource \"namespaces\"`) {
		t.Errorf("anonymous list: %d %s", code, body)
	}
}

func TestAnonymousOff(t *testing.T) {
	k := startKapi(t, func(c *server.Config) { c.AnonymousAuth = false })
	if code, _ := k.rawGet(t, "/version", ""); code != 401 {
		t.Fatalf("anonymous with --anonymous-auth=false: %d", code)
	}
}

// foreignCert is a client certificate for system:masters from a CA kapi
// does not know.
func foreignCert(t *testing.T) tls.Certificate {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "other-ca"}, IsCA: true, BasicConstraintsValid: true,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageCertSign}
	caDER, _ := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	caCert, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "mallory", Organization: []string{"system:masters"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, _ := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
