package authn

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// TestOpenIDMetadata: kube's discovery documents: the issuer, the key
// set's URL, the algorithms of the keys; each key once, with its key id,
// algorithm and use; issuers and URLs that are not https refused.
func TestOpenIDMetadata(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rs, _ := rsa.GenerateKey(rand.Reader, 2048)
	keys := StaticKeys{ec.Public(), rs.Public(), ec.Public()}.Published()
	config, jwks, err := OpenIDMetadata("https://kubernetes.default.svc.cluster.local", "https://10.0.0.1:6443/openid/v1/jwks", keys)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"issuer":"https://kubernetes.default.svc.cluster.local","jwks_uri":"https://10.0.0.1:6443/openid/v1/jwks",` +
		`"response_types_supported":["id_token"],"subject_types_supported":["public"],"id_token_signing_alg_values_supported":["ES256","RS256"]}`
	if string(config) != want {
		t.Errorf("configuration:\n%s\nwant\n%s", config, want)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(jwks, &set); err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 2 {
		t.Fatalf("keys: %s", jwks)
	}
	for i, pub := range []crypto.PublicKey{ec.Public(), rs.Public()} {
		kid, _ := KeyID(pub)
		k := set.Keys[i]
		if k.KeyID != kid || k.Use != "sig" || !k.IsPublic() || k.Algorithm != []string{"ES256", "RS256"}[i] {
			t.Errorf("key %d: %+v", i, k)
		}
	}
	for _, c := range [][2]string{{"kapi", "https://x/openid/v1/jwks"}, {"http://kapi", "https://x/openid/v1/jwks"}, {"https://kapi", "https://x/jwks?a=b"}} {
		if _, _, err := OpenIDMetadata(c[0], c[1], keys); err == nil || !strings.Contains(err.Error(), "must") && !strings.Contains(err.Error(), "not a URL") {
			t.Errorf("issuer %q, key set %q: %v, want an error", c[0], c[1], err)
		}
	}
}
