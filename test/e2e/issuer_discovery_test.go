package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"kapi/internal/server"
)

// TestServiceAccountIssuerDiscovery: a relying party outside the cluster
// checks a service account's token for it (audience sts.example.com) as
// kube-apiserver's discovery lets it:
// it reads /.well-known/openid-configuration (as the service account,
// which RBAC lets read it), follows jwks_uri to the key set, and verifies
// the token's signature and issuer with it. Anonymous requests are
// refused, as kube's RBAC refuses them.
func TestServiceAccountIssuerDiscovery(t *testing.T) {
	t.Parallel()
	k := startKapi(t, withoutLoops(rootCAPublisher))
	ctx := context.Background()
	k.waitDefaultServiceAccount(t, "default")
	tr, err := k.client.CoreV1().ServiceAccounts("default").CreateToken(ctx, "default",
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{Audiences: []string{"sts.example.com"}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	token := tr.Status.Token
	// The reader's own token is for kapi (its default audience).
	own, err := k.client.CoreV1().ServiceAccounts("default").CreateToken(ctx, "default", &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := rest.AnonymousClientConfig(k.rest)
	anonymous, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.BearerToken = own.Status.Token
	asSA, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	get := func(c *http.Client, url string) (int, string, []byte) {
		t.Helper()
		resp, err := c.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), body
	}

	if code, _, _ := get(anonymous, k.srv.URL+"/.well-known/openid-configuration"); code != http.StatusForbidden {
		t.Errorf("anonymous discovery: %d, want 403", code)
	}
	code, ct, body := get(asSA, k.srv.URL+"/.well-known/openid-configuration")
	if code != 200 || ct != "application/json" {
		t.Fatalf("discovery: %d %s %s", code, ct, body)
	}
	var doc struct {
		Issuer  string   `json:"issuer"`
		JWKSURI string   `json:"jwks_uri"`
		Algs    []string `json:"id_token_signing_alg_values_supported"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Issuer != "https://kubernetes.default.svc.cluster.local" || doc.JWKSURI != k.srv.URL+"/openid/v1/jwks" || len(doc.Algs) != 1 || doc.Algs[0] != "ES256" {
		t.Errorf("discovery document: %s", body)
	}
	code, ct, body = get(asSA, doc.JWKSURI)
	if code != 200 || ct != "application/jwk-set+json" {
		t.Fatalf("key set: %d %s %s", code, ct, body)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		t.Fatal(err)
	}

	jws, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256, jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	keys := set.Key(jws.Signatures[0].Header.KeyID)
	if len(keys) != 1 {
		t.Fatalf("the token's key %q in the key set: %d keys (%s)", jws.Signatures[0].Header.KeyID, len(keys), body)
	}
	payload, err := jws.Verify(keys[0].Key)
	if err != nil {
		t.Fatalf("verifying the token with the published key: %v", err)
	}
	var claims struct {
		Issuer string `json:"iss"`
		Sub    string `json:"sub"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	if claims.Issuer != doc.Issuer || !strings.HasPrefix(claims.Sub, "system:serviceaccount:default:default") {
		t.Errorf("claims: %s", payload)
	}
}

// TestExternalHostname: --external-hostname is kube's external address:
// the key set's default URL in the issuer's discovery document, and the
// server address /api gives every client (serverAddressByClientCIDRs),
// with the serving port when it names none. Without it, both are the
// advertised address and port.
func TestExternalHostname(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct{ hostname, want string }{
		{"kapi.example.com", "kapi.example.com:%s"},
		{"kapi.example.com:443", "kapi.example.com:443"},
		{"", "127.0.0.1:%s"},
	} {
		k := startKapi(t, func(cfg *server.Config) { cfg.ExternalHostname = c.hostname })
		u, err := url.Parse(k.srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		want := c.want
		if strings.Contains(want, "%s") {
			want = fmt.Sprintf(want, u.Port())
		}
		var versions metav1.APIVersions
		raw, err := k.client.CoreV1().RESTClient().Get().AbsPath("/api").DoRaw(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &versions); err != nil {
			t.Fatal(err)
		}
		if len(versions.ServerAddressByClientCIDRs) != 1 || versions.ServerAddressByClientCIDRs[0] != (metav1.ServerAddressByClientCIDR{ClientCIDR: "0.0.0.0/0", ServerAddress: want}) {
			t.Errorf("--external-hostname=%q: /api %s, want the server address %s", c.hostname, raw, want)
		}
		raw, err = k.client.CoreV1().RESTClient().Get().AbsPath("/.well-known/openid-configuration").DoRaw(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			JWKSURI string `json:"jwks_uri"`
		}
		if err := json.Unmarshal(raw, &doc); err != nil || doc.JWKSURI != "https://"+want+"/openid/v1/jwks" {
			t.Errorf("--external-hostname=%q: jwks_uri %q, want https://%s/openid/v1/jwks (%v)", c.hostname, doc.JWKSURI, want, err)
		}
		k.stop()
	}
}

// TestIssuerFlags: --service-account-issuer and --service-account-jwks-uri
// are checked as kube checks them, with its messages.
func TestIssuerFlags(t *testing.T) {
	t.Parallel()
	for want, set := range map[string]func(*server.Config){
		`service-account-issuer "https://a.example" is already specified`: func(c *server.Config) {
			c.ServiceAccountIssuers = []string{"https://a.example", "https://a.example"}
		},
		"service-account-issuer should not be an empty string": func(c *server.Config) { c.ServiceAccountIssuers = []string{""} },
		"service-account-jwks-uri requires https scheme, parsed as: http://a.example/jwks": func(c *server.Config) {
			c.ServiceAccountJWKSURI = "http://a.example/jwks"
		},
	} {
		startRefused(t, want, set)
	}
}
