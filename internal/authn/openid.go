package authn

import (
	"encoding/json"
	"fmt"
	"net/url"
	"sort"

	jose "github.com/go-jose/go-jose/v4"
)

// OpenIDMetadata renders the service-account issuer's discovery
// documents, as kube-apiserver's ServiceAccountIssuerDiscovery: the
// OpenID configuration served at /.well-known/openid-configuration (the
// issuer, where its keys are, how it signs) and the key set served at
// /openid/v1/jwks (the public keys tokens are checked with, each with its
// key id and algorithm). Relying parties outside the cluster (cloud
// workload identity) check service-account tokens with them. The issuer
// and the key set's URL must be https URLs without query or fragment,
// else the documents are not served (kube logs the same refusal).
func OpenIDMetadata(issuer, jwksURI string, keys []PublicKey) (config, jwks []byte, err error) {
	if err := httpsURL("issuer", issuer); err != nil {
		return nil, nil, err
	}
	if err := httpsURL("jwks uri", jwksURI); err != nil {
		return nil, nil, err
	}
	var set jose.JSONWebKeySet
	algs := map[string]bool{}
	for _, k := range keys {
		alg, err := algFor(k.Key)
		if err != nil {
			return nil, nil, err
		}
		algs[string(alg)] = true
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.Key, KeyID: k.ID, Algorithm: string(alg), Use: "sig"})
	}
	var signing []string
	for a := range algs {
		signing = append(signing, a)
	}
	sort.Strings(signing)
	config, err = json.Marshal(struct {
		Issuer        string   `json:"issuer"`
		JWKSURI       string   `json:"jwks_uri"`
		ResponseTypes []string `json:"response_types_supported"`
		SubjectTypes  []string `json:"subject_types_supported"`
		SigningAlgs   []string `json:"id_token_signing_alg_values_supported"`
	}{issuer, jwksURI, []string{"id_token"}, []string{"public"}, signing})
	if err != nil {
		return nil, nil, err
	}
	if set.Keys == nil {
		set.Keys = []jose.JSONWebKey{}
	}
	jwks, err = json.Marshal(set)
	return config, jwks, err
}

func httpsURL(what, s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%s %q is not a URL: %w", what, s, err)
	}
	if u.Scheme != "https" {
		return fmt.Errorf("%s %q must use the https scheme", what, s)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%s %q must not have a query or fragment", what, s)
	}
	return nil
}
