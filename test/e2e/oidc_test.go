package e2e

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"encoding/pem"
	authenticationv1 "k8s.io/api/authentication/v1"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"kapi/internal/server"
)

// testIdP is an identity provider written for the tests: HTTPS, an OIDC
// discovery document, a JWKS of its current key, and RS256 ID tokens.
type testIdP struct {
	srv   *httptest.Server
	mu    sync.Mutex
	key   *rsa.PrivateKey
	kid   string
	caPEM string
}

func newTestIdP(t *testing.T) *testIdP {
	t.Helper()
	idp := &testIdP{}
	idp.rotate(t, "key-1")
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"issuer": idp.srv.URL, "jwks_uri": idp.srv.URL + "/keys",
			"id_token_signing_alg_values_supported": []string{"RS256"}})
	})
	mux.HandleFunc("/keys", func(w http.ResponseWriter, r *http.Request) {
		idp.mu.Lock()
		defer idp.mu.Unlock()
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &idp.key.PublicKey, KeyID: idp.kid, Algorithm: "RS256", Use: "sig"}}})
	})
	idp.srv = httptest.NewTLSServer(mux)
	t.Cleanup(idp.srv.Close)
	idp.caPEM = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: idp.srv.Certificate().Raw}))
	return idp
}

// rotate makes a new signing key the only one published.
func (idp *testIdP) rotate(t *testing.T, kid string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	idp.mu.Lock()
	idp.key, idp.kid = key, kid
	idp.mu.Unlock()
}

// token mints an ID token with the usual claims, changed by edit.
func (idp *testIdP) token(t *testing.T, edit func(map[string]any)) string {
	t.Helper()
	idp.mu.Lock()
	key, kid := idp.key, idp.kid
	idp.mu.Unlock()
	now := time.Now()
	claims := map[string]any{"iss": idp.srv.URL, "aud": "kapi", "sub": "alice", "email": "alice@example.com", "email_verified": true,
		"groups": []string{"devs"}, "tier": "gold", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	if edit != nil {
		edit(claims)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func indent(s, by string) string {
	return by + strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n"+by)
}

// TestOIDCAuthenticationConfig: a JWT issuer of --authentication-config
// authenticates its tokens with the claim mappings (prefixed username and
// groups, which RBAC then grants), refuses a wrong audience, an expired or
// foreign-signed token, a token failing a CEL claim rule and a user
// failing a CEL user rule (401 each), follows the issuer's key rotation;
// the legacy --oidc-* flags do the same for one issuer; both at once are
// refused with kube's message.
func TestOIDCAuthenticationConfig(t *testing.T) {
	idp := newTestIdP(t)
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "authn.yaml")
	os.WriteFile(cfgFile, []byte(`apiVersion: apiserver.config.k8s.io/v1
kind: AuthenticationConfiguration
jwt:
- issuer:
    url: `+idp.srv.URL+`
    audiences: [kapi]
    certificateAuthority: |
`+indent(idp.caPEM, "      ")+`
  claimValidationRules:
  - expression: 'claims.tier == "gold"'
    message: tier must be gold
  claimMappings:
    username:
      claim: sub
      prefix: "oidc:"
    groups:
      claim: groups
      prefix: "oidc:"
  userValidationRules:
  - expression: "!user.username.startsWith('oidc:system:')"
    message: "username cannot use the reserved system: prefix"
`), 0o600)
	k := startKapi(t, withoutLoops(rootCAPublisher), func(c *server.Config) { c.AuthenticationConfig = cfgFile })
	ctx := context.Background()

	// The issuer's keys are fetched in the background.
	var last string
	if err := waitUntil(30*time.Second, func() bool {
		code, body := k.rawGet(t, "/apis/authentication.k8s.io/v1", idp.token(t, nil))
		last = body
		return code == http.StatusOK
	}); err != nil {
		t.Fatalf("a good token was never accepted: %s", last)
	}
	alice := k.asToken(t, idp.token(t, nil))
	who := whoami(t, alice)
	if who.Username != "oidc:alice" || !strings.Contains(strings.Join(who.Groups, ","), "oidc:devs") {
		t.Fatalf("the token's user: %+v", who)
	}
	if _, err := alice.CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("before any grant: %v", err)
	}
	if _, err := k.client.RbacV1().RoleBindings("default").Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "devs"},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "view"},
		Subjects: []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "Group", Name: "oidc:devs"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := waitUntil(10*time.Second, func() bool {
		_, err := alice.CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{})
		return err == nil
	}); err != nil {
		t.Fatal("the group's RoleBinding never took effect")
	}

	for name, edit := range map[string]func(map[string]any){
		"wrong audience":  func(c map[string]any) { c["aud"] = "someone-else" },
		"expired":         func(c map[string]any) { c["exp"] = time.Now().Add(-time.Hour).Unix() },
		"claim rule":      func(c map[string]any) { c["tier"] = "silver" },
		"user rule":       func(c map[string]any) { c["sub"] = "system:admin" },
		"no required sub": func(c map[string]any) { delete(c, "sub") },
	} {
		if code, body := k.rawGet(t, "/api/v1/namespaces/default/configmaps", idp.token(t, edit)); code != http.StatusUnauthorized {
			t.Errorf("%s: %d %s", name, code, body)
		}
	}
	// As in kube, an identity provider's token is good for the API
	// audiences only (its own audience is its client's): a TokenReview
	// for another audience does not accept it.
	for _, c := range []struct {
		auds []string
		want bool
	}{{nil, true}, {[]string{"vault"}, false}, {[]string{"vault", server.DefaultIssuer}, true}} {
		review, err := k.client.AuthenticationV1().TokenReviews().Create(ctx, &authenticationv1.TokenReview{
			Spec: authenticationv1.TokenReviewSpec{Token: idp.token(t, nil), Audiences: c.auds}}, metav1.CreateOptions{})
		wantAuds := []string(nil)
		if c.want {
			wantAuds = []string{server.DefaultIssuer}
		}
		if err != nil || review.Status.Authenticated != c.want || !slices.Equal(review.Status.Audiences, wantAuds) {
			t.Errorf("TokenReview for %q: %+v, %v; want authenticated %v, audiences %q", c.auds, review.Status, err, c.want, wantAuds)
		}
	}
	other := newTestIdP(t)
	forged := other.token(t, func(c map[string]any) { c["iss"] = idp.srv.URL })
	if code, body := k.rawGet(t, "/api/v1/namespaces/default/configmaps", forged); code != http.StatusUnauthorized {
		t.Errorf("a token signed by another key: %d %s", code, body)
	}

	// The issuer rotates its key: tokens of the new key are accepted once
	// kapi fetches the new JWKS (on the unknown key id).
	idp.rotate(t, "key-2")
	if err := waitUntil(60*time.Second, func() bool {
		code, _ := k.rawGet(t, "/api/v1/namespaces/default/configmaps", idp.token(t, nil))
		return code == http.StatusOK
	}); err != nil {
		t.Fatal("a token of the issuer's new key was never accepted")
	}

	// The legacy flags: the email claim, not prefixed.
	caFile := filepath.Join(dir, "idp-ca.crt")
	os.WriteFile(caFile, []byte(idp.caPEM), 0o600)
	legacy := func(c *server.Config) {
		c.OIDC.IssuerURL, c.OIDC.ClientID, c.OIDC.CAFile = idp.srv.URL, "kapi", caFile
		c.OIDC.UsernameClaim, c.OIDC.GroupsClaim, c.OIDC.GroupsPrefix = "email", "groups", "idp:"
		c.OIDC.RequiredClaims = map[string]string{"tier": "gold"}
	}
	k2 := startKapi(t, withoutLoops(rootCAPublisher), legacy)
	if err := waitUntil(30*time.Second, func() bool {
		code, _ := k2.rawGet(t, "/apis/authentication.k8s.io/v1", idp.token(t, nil))
		return code == http.StatusOK
	}); err != nil {
		t.Fatal("the legacy flags never accepted a good token")
	}
	if who := whoami(t, k2.asToken(t, idp.token(t, nil))); who.Username != "alice@example.com" || !strings.Contains(strings.Join(who.Groups, ","), "idp:devs") {
		t.Errorf("the legacy flags' user: %+v", who)
	}
	if code, _ := k2.rawGet(t, "/apis/authentication.k8s.io/v1", idp.token(t, func(c map[string]any) { c["tier"] = "bronze" })); code != http.StatusUnauthorized {
		t.Errorf("a required claim missing: %d", code)
	}

	cfg := server.Defaults()
	cfg.DataDir, cfg.SecurePort, cfg.AuthenticationConfig = t.TempDir(), 0, cfgFile
	legacy(&cfg)
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if srv, err := server.Start(sctx, cfg); err == nil {
		srv.Stop()
		t.Fatal("kapi started with both --authentication-config and --oidc-*")
	} else if !strings.Contains(err.Error(), "authentication-config file and oidc-* flags are mutually exclusive") {
		t.Errorf("both: %v", err)
	}
}
