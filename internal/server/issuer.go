package server

import (
	"net"
	"net/http"
	"strconv"

	"kapi/internal/authn"
)

// issuerDiscovery adds to extra the service-account issuer's OpenID
// discovery documents (GET /.well-known/openid-configuration and
// /openid/v1/jwks), rendered once, as kube-apiserver renders them at
// start-up: for the first issuer, with the keys tokens are checked
// with. The key set's URL is --service-account-jwks-uri, or kapi's own at
// its external address (externalAddress). RBAC lets service accounts read them
// (system:service-account-issuer-discovery). An issuer that is not an
// https URL has no documents, as in kube.
func issuerDiscovery(cfg Config, sa *authn.ServiceAccounts, ln net.Listener, extra map[string]http.Handler) error {
	jwksURI := cfg.ServiceAccountJWKSURI
	if jwksURI == "" {
		jwksURI = "https://" + externalAddress(cfg, ln) + "/openid/v1/jwks"
	}
	config, jwks, err := authn.OpenIDMetadata(sa.Issuers[0], jwksURI, sa.Keys.Published())
	if err != nil {
		return err
	}
	serve := func(body []byte, contentType string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", contentType)
			w.Header().Set("Cache-Control", "public, max-age=3600")
			w.Write(body)
		})
	}
	extra["GET /.well-known/openid-configuration"] = serve(config, "application/json")
	extra["GET /openid/v1/jwks"] = serve(jwks, "application/jwk-set+json")
	return nil
}

// externalAddress is where clients outside reach kapi, as kube's
// ExternalAddress: --external-hostname (with the serving port unless it
// names one), else the advertised address and the serving port. It is in
// the key set's default URL and in /api's serverAddressByClientCIDRs.
func externalAddress(cfg Config, ln net.Listener) string {
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	if h := cfg.ExternalHostname; h != "" {
		if _, _, err := net.SplitHostPort(h); err == nil {
			return h
		}
		return net.JoinHostPort(h, port)
	}
	return net.JoinHostPort(advertiseAddress(cfg), port)
}
