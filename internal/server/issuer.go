package server

import (
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"k8s.io/klog/v2"

	"kapi/internal/authn"
)

// issuerDiscovery adds to extra the service-account issuer's OpenID
// discovery documents (GET /.well-known/openid-configuration and
// /openid/v1/jwks), as kube-apiserver renders them: for the first
// issuer, with the published keys of those tokens are checked with,
// rendered again whenever the keys change (an external signer's) and
// cached by clients for as long as the keys say (an hour for key files,
// until an external signer is next asked for them). The key set's URL is
// --service-account-jwks-uri, or kapi's own at its external address
// (externalAddress). RBAC lets service accounts read them
// (system:service-account-issuer-discovery). An issuer that is not an
// https URL has no documents, as in kube.
func issuerDiscovery(cfg Config, sa *authn.ServiceAccounts, ln net.Listener, extra map[string]http.Handler) error {
	jwksURI := cfg.ServiceAccountJWKSURI
	if jwksURI == "" {
		jwksURI = "https://" + externalAddress(cfg, ln) + "/openid/v1/jwks"
	}
	type documents struct{ config, jwks []byte }
	var docs atomic.Pointer[documents]
	render := func() error {
		config, jwks, err := authn.OpenIDMetadata(sa.Issuers[0], jwksURI, sa.Keys.Published())
		if err == nil {
			docs.Store(&documents{config, jwks})
		}
		return err
	}
	if err := render(); err != nil {
		return err
	}
	sa.Keys.OnChange(func() {
		if err := render(); err != nil {
			klog.ErrorS(err, "failed to update openid config metadata")
		}
	})
	serve := func(body func(*documents) []byte, contentType string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", contentType)
			w.Header().Set("Cache-Control", fmt.Sprintf("public, max-age=%d", int(sa.Keys.MaxAge()/time.Second)))
			w.Write(body(docs.Load()))
		})
	}
	extra["GET /.well-known/openid-configuration"] = serve(func(d *documents) []byte { return d.config }, "application/json")
	extra["GET /openid/v1/jwks"] = serve(func(d *documents) []byte { return d.jwks }, "application/jwk-set+json")
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
