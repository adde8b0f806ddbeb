package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	externaljwtv1 "k8s.io/externaljwt/apis/v1"

	"kapi/internal/server"
)

// jwtSigner is an external JWT signer (k8s.io/externaljwt's gRPC
// service) on a unix socket: it signs with its current key (ES256) and
// publishes the keys it is given.
type jwtSigner struct {
	externaljwtv1.UnimplementedExternalJWTSignerServer
	socket string

	mu      sync.Mutex
	keys    map[string]*ecdsa.PrivateKey
	signing string
	publish []*externaljwtv1.Key
	stamp   time.Time
	maxExp  int64
}

func startJWTSigner(t *testing.T, maxExp int64) *jwtSigner {
	t.Helper()
	s := &jwtSigner{socket: filepath.Join(t.TempDir(), "signer.sock"), keys: map[string]*ecdsa.PrivateKey{}, maxExp: maxExp}
	ln, err := net.Listen("unix", s.socket)
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	externaljwtv1.RegisterExternalJWTSignerServer(srv, s)
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	return s
}

// key makes key kid, published (excluded from discovery when exclude).
func (s *jwtSigner) key(t *testing.T, kid string, exclude bool) *ecdsa.PrivateKey {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.MarshalPKIXPublicKey(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[kid] = k
	s.publish = append(s.publish, &externaljwtv1.Key{KeyId: kid, Key: der, ExcludeFromOidcDiscovery: exclude})
	s.stamp = time.Now()
	return k
}

func (s *jwtSigner) signWith(kid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.signing = kid
}

func (s *jwtSigner) Sign(_ context.Context, req *externaljwtv1.SignJWTRequest) (*externaljwtv1.SignJWTResponse, error) {
	s.mu.Lock()
	kid, key := s.signing, s.keys[s.signing]
	s.mu.Unlock()
	payload, err := base64.RawURLEncoding.DecodeString(req.Claims)
	if err != nil {
		return nil, err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, err
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return nil, err
	}
	compact, err := jws.CompactSerialize()
	if err != nil {
		return nil, err
	}
	parts := strings.Split(compact, ".")
	return &externaljwtv1.SignJWTResponse{Header: parts[0], Signature: parts[2]}, nil
}

func (s *jwtSigner) FetchKeys(context.Context, *externaljwtv1.FetchKeysRequest) (*externaljwtv1.FetchKeysResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return &externaljwtv1.FetchKeysResponse{Keys: append([]*externaljwtv1.Key(nil), s.publish...),
		DataTimestamp: timestamppb.New(s.stamp), RefreshHintSeconds: 600}, nil
}

func (s *jwtSigner) Metadata(context.Context, *externaljwtv1.MetadataRequest) (*externaljwtv1.MetadataResponse, error) {
	return &externaljwtv1.MetadataResponse{MaxTokenExpirationSeconds: s.maxExp}, nil
}

// tokenKeyID is the kid of a JWT's header.
func tokenKeyID(t *testing.T, token string) string {
	t.Helper()
	jws, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatalf("token %q: %v", token, err)
	}
	return jws.Signatures[0].Header.KeyID
}

// TestExternalJWTSigner: with --service-account-signing-endpoint, kube's
// external signer signs the tokens of TokenRequests and of legacy token
// Secrets, and its keys verify them and are the issuer's published ones:
// a token longer than the signer's longest is shortened to it; a new
// signing key is fetched when a token names it, the old one's tokens
// still good; a key excluded from discovery signs nothing; kube's
// apiserver_externaljwt_* metrics count the calls.
func TestExternalJWTSigner(t *testing.T) {
	t.Parallel()
	signer := startJWTSigner(t, 7200)
	signer.key(t, "retired", true)
	k1 := signer.key(t, "k1", false)
	signer.signWith("k1")
	k := startKapi(t, func(c *server.Config) { c.ServiceAccountSigningEndpoint = signer.socket })
	ctx := context.Background()
	k.waitDefaultServiceAccount(t, "default")
	request := func(seconds int64) (*authenticationv1.TokenRequest, error) {
		return k.client.CoreV1().ServiceAccounts("default").CreateToken(ctx, "default",
			&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &seconds}}, metav1.CreateOptions{})
	}

	tr, err := request(36000)
	if err != nil {
		t.Fatal(err)
	}
	first := tr.Status.Token
	if kid := tokenKeyID(t, first); kid != "k1" {
		t.Errorf("token signed by %q, want k1", kid)
	}
	jws, _ := jose.ParseSigned(first, []jose.SignatureAlgorithm{jose.ES256})
	payload, err := jws.Verify(k1.Public())
	if err != nil {
		t.Fatalf("the signer's key does not verify the token: %v", err)
	}
	var claims struct {
		Issuer string `json:"iss"`
		Exp    int64  `json:"exp"`
		Iat    int64  `json:"iat"`
	}
	json.Unmarshal(payload, &claims)
	if claims.Issuer != server.DefaultIssuer || claims.Exp-claims.Iat != 7200 {
		t.Errorf("claims %+v: want kapi's issuer, and 10 hours shortened to the signer's 2", claims)
	}
	if u := whoami(t, k.asToken(t, first)); u.Username != "system:serviceaccount:default:default" {
		t.Errorf("the token is %q", u.Username)
	}
	// A kubelet's pod token (an hour and 7 s) is extended, as kube's, to
	// a year bounded by the signer's longest.
	pod, err := k.client.CoreV1().Pods("default").Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	kubelet := int64(3607)
	bound, err := k.client.CoreV1().ServiceAccounts("default").CreateToken(ctx, "default", &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		ExpirationSeconds: &kubelet, BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: "p", UID: pod.UID}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	jws, _ = jose.ParseSigned(bound.Status.Token, []jose.SignatureAlgorithm{jose.ES256})
	payload, _ = jws.Verify(k1.Public())
	json.Unmarshal(payload, &claims)
	if claims.Exp-claims.Iat != 7200 {
		t.Errorf("an extended pod token lives %d s, want the signer's 7200", claims.Exp-claims.Iat)
	}

	// The published keys: the signer's, less the one excluded.
	cfg := rest.CopyConfig(k.rest)
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	published := func() ([]string, string) {
		t.Helper()
		resp, err := hc.Get(k.srv.URL + "/openid/v1/jwks")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var set jose.JSONWebKeySet
		if err := json.NewDecoder(resp.Body).Decode(&set); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("jwks: %d %v", resp.StatusCode, err)
		}
		var kids []string
		for _, key := range set.Keys {
			kids = append(kids, key.KeyID)
		}
		return kids, resp.Header.Get("Cache-Control")
	}
	kids, cache := published()
	if strings.Join(kids, ",") != "k1" || !strings.HasPrefix(cache, "public, max-age=") || cache == "public, max-age=3600" {
		t.Errorf("published %v (%s), want k1 alone, cached until the signer's refresh hint (600 s)", kids, cache)
	}

	// A new signing key: its first token makes kapi fetch the keys.
	signer.key(t, "k2", false)
	signer.signWith("k2")
	tr, err = request(3600)
	if err != nil {
		t.Fatal(err)
	}
	if kid := tokenKeyID(t, tr.Status.Token); kid != "k2" {
		t.Errorf("token signed by %q, want k2", kid)
	}
	for _, tok := range []string{tr.Status.Token, first} {
		if u := whoami(t, k.asToken(t, tok)); u.Username != "system:serviceaccount:default:default" {
			t.Errorf("a token of %s is %q", tokenKeyID(t, tok), u.Username)
		}
	}
	if err := waitUntil(10*time.Second, func() bool { kids, _ := published(); return strings.Join(kids, ",") == "k1,k2" }); err != nil {
		kids, _ := published()
		t.Errorf("published %v after the rotation, want k1,k2", kids)
	}

	// A legacy token Secret is signed by the signer too.
	if _, err := k.client.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "legacy",
		Annotations: map[string]string{corev1.ServiceAccountNameKey: "default"}}, Type: corev1.SecretTypeServiceAccountToken}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var legacy string
	if err := waitUntil(20*time.Second, func() bool {
		s, err := k.client.CoreV1().Secrets("default").Get(ctx, "legacy", metav1.GetOptions{})
		legacy = string(s.Data[corev1.ServiceAccountTokenKey])
		return err == nil && legacy != ""
	}); err != nil {
		t.Fatal("the legacy token Secret got no token")
	}
	if kid := tokenKeyID(t, legacy); kid != "k2" {
		t.Errorf("legacy token signed by %q, want k2", kid)
	}
	if u := whoami(t, k.asToken(t, legacy)); u.Username != "system:serviceaccount:default:default" {
		t.Errorf("the legacy token is %q", u.Username)
	}

	// A key excluded from discovery signs no token.
	signer.signWith("retired")
	_, err = request(3600)
	if !apierrors.IsInternalError(err) || !strings.Contains(err.Error(), "key used for signing JWT (kid: retired) is excluded from OIDC discovery docs") {
		t.Errorf("signed by an excluded key: %v, want kube's 500", err)
	}

	for series, least := range map[string]float64{
		`apiserver_externaljwt_sign_request_total{code="OK"}`:                                                 3,
		`apiserver_externaljwt_sign_request_total{code="unknown-non-grpc"}`:                                   1,
		`apiserver_externaljwt_fetch_keys_request_total{code="OK"}`:                                           2,
		`apiserver_externaljwt_request_duration_seconds_count{code="OK",method="/v1.ExternalJWTSigner/Sign"}`: 3,
	} {
		if v, err := metricSeries(ctx, k.client, series); err != nil || v < least {
			t.Errorf("%s = %v (%v), want at least %v", series, v, err, least)
		}
	}
}

// TestExternalJWTSignerRefused: kube's start-up checks of an external
// signer, with its messages.
func TestExternalJWTSignerRefused(t *testing.T) {
	t.Parallel()
	short := startJWTSigner(t, 300)
	short.key(t, "k", false)
	long := startJWTSigner(t, 7200)
	long.key(t, "k", false)
	for _, c := range []struct {
		name string
		set  func(*server.Config)
		want string
	}{
		{"short-lived tokens", func(c *server.Config) { c.ServiceAccountSigningEndpoint = short.socket },
			"max token life supported by external-jwt-signer (300s) is less than acceptable (min 600s)"},
		{"a key file too", func(c *server.Config) {
			c.ServiceAccountSigningEndpoint, c.ServiceAccountKeyFiles = long.socket, []string{"sa.pub"}
		}, "can't set `--service-account-signing-key-file` and/or `--service-account-key-file` with `--service-account-signing-endpoint` (They are mutually exclusive)"},
		{"a longer maximum", func(c *server.Config) {
			c.ServiceAccountSigningEndpoint, c.ServiceAccountMaxTokenExpiration = long.socket, 3*time.Hour
		}, "service-account-max-token-expiration cannot be set longer than the token expiration supported by service-account-signing-endpoint: 3h0m0s > 2h0m0s"},
		{"a bad abstract socket", func(c *server.Config) { c.ServiceAccountSigningEndpoint = "@no/slash" },
			"invalid value \"@no/slash\" passed for `--service-account-signing-endpoint`, when prefixed with @ must be a valid abstract socket name"},
	} {
		t.Run(c.name, func(t *testing.T) { startRefused(t, c.want, c.set) })
	}
}
