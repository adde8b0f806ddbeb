package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"

	"kapi/internal/authn"
	"kapi/internal/registry"
	"kapi/internal/registry/authentication"
	"kapi/internal/registry/builtin"
	"kapi/internal/request"
)

// authnParts are the authenticators and what serves tokens: the
// TokenReview and SelfSubjectReview rows, and serviceaccounts/token.
type authnParts struct {
	union authn.Union
	sa    *authn.ServiceAccounts
	rows  []*registry.Resource
	token *registry.Subresource
	jwt   *authn.JWT // nil without identity providers
	// extendedSeconds is an extended token's lifetime (kube's
	// MaxExtendedExpiration).
	extendedSeconds int64
}

// newAuthn builds the authenticators in kube-apiserver's order:
// request headers from a front proxy, client certificates, --token-auth-file,
// service-account tokens, bootstrap tokens, identity providers' JWTs, a
// token webhook. Without
// --service-account-signing-key-file kapi signs with a key it keeps in
// <data-dir>/pki/sa.key, so that `kubectl create token` works out of the
// box.
func (s *Server) newAuthn(ctx context.Context, cfg Config, stores []*registry.Store) (*authnParts, error) {
	p := &authnParts{}
	roots, err := s.clientCAs(cfg)
	if err != nil {
		return nil, err
	}
	// As kube-apiserver, request-header authentication comes before
	// client certificates: a front proxy's certificate is not a user.
	rh, err := requestHeaderAuthn(s.FrontProxy.RequestHeader)
	if err != nil {
		return nil, err
	}
	p.union = append(p.union, rh, &authn.X509{Roots: roots})
	if err := checkIssuerFlags(cfg); err != nil {
		return nil, err
	}
	issuers := cfg.ServiceAccountIssuers
	if len(issuers) == 0 {
		issuers = []string{DefaultIssuer}
	}
	audiences := cfg.APIAudiences
	if len(audiences) == 0 {
		audiences = issuers[:1]
	}
	var tokens authn.TokenUnion
	if cfg.TokenAuthFile != "" {
		tokenFile, err := authn.NewTokenFile(cfg.TokenAuthFile)
		if err != nil {
			return nil, err
		}
		tokens = append(tokens, authn.AudienceAgnostic{APIAudiences: audiences, Tokens: tokenFile})
	}

	signing, err := s.newTokenSigning(ctx, cfg)
	if err != nil {
		return nil, err
	}
	p.extendedSeconds = signing.extendedSeconds
	p.sa = &authn.ServiceAccounts{Issuers: issuers, Audiences: audiences, Signer: signing.signer, Keys: signing.keys,
		MaxExpiration: signing.maxExpiration, Lookup: lookup(stores), NoLegacyLookup: !cfg.ServiceAccountLookup,
		LegacySecret:         legacySecret(findStore(stores, "", "v1", "secrets")),
		LegacyServiceAccount: legacyServiceAccount(findStore(stores, "", "v1", "serviceaccounts"))}
	tokens = append(tokens, p.sa)
	if cfg.EnableBootstrapTokenAuth {
		tokens = append(tokens, authn.AudienceAgnostic{APIAudiences: audiences,
			Tokens: &authn.BootstrapTokens{Secret: bootstrapSecret(findStore(stores, "", "v1", "secrets"))}})
	}
	// Identity providers' tokens, after the service accounts', as in kube.
	jwt, err := newJWT(ctx, cfg, issuers)
	if err != nil {
		return nil, err
	}
	if jwt != nil {
		// Their audiences are the identity providers' clients: as in kube,
		// good for the API audiences.
		tokens = append(tokens, authn.AudienceAgnostic{APIAudiences: audiences, Tokens: jwt})
		p.jwt = jwt
	}
	// Last, a token webhook (with a cache of its own), as in kube.
	if cfg.AuthenticationTokenWebhookConfigFile != "" {
		hook, err := authn.NewWebhookToken(cfg.AuthenticationTokenWebhookConfigFile, cfg.AuthenticationTokenWebhookVersion,
			cfg.AuthenticationTokenWebhookCacheTTL, audiences)
		if err != nil {
			return nil, err
		}
		tokens = append(tokens, hook)
	}
	// As kube-apiserver, the token authenticators' answers are cached:
	// an accepted token for tokenSuccessCacheTTL, a refused one not. Bearer
	// tokens of requests and of TokenReviews go through the same cache.
	cached := authn.NewTokenCache(tokens, authn.TokenCacheOptions{SuccessTTL: tokenSuccessCacheTTL,
		CacheErrors: true, Audiences: audiences})
	p.union = append(p.union, authn.Bearer{Tokens: cached})
	review := func(ctx context.Context, token string, auds []string) (*request.User, []string, bool, error) {
		return authn.AuthenticateToken(ctx, cached, token, auds)
	}
	p.rows = builtin.Typed(authentication.Resources(review, audiences)...)
	p.token = registry.ActionSubresource("token", authenticationv1.SchemeGroupVersion.WithKind("TokenRequest"),
		func() runtime.Object { return &authenticationv1.TokenRequest{} },
		p.tokenRequest(findStore(stores, "", "v1", "serviceaccounts"), stores, cfg.ServiceAccountExtendTokenExpiration))
	return p, nil
}

// checkIssuerFlags checks --service-account-issuer and
// --service-account-jwks-uri as kube-apiserver does, with its messages
// (kapi, unlike kube, takes no issuer for DefaultIssuer).
func checkIssuerFlags(cfg Config) error {
	var errs []error
	seen := map[string]bool{}
	for _, issuer := range cfg.ServiceAccountIssuers {
		if strings.Contains(issuer, ":") {
			if _, err := url.Parse(issuer); err != nil {
				errs = append(errs, fmt.Errorf("service-account-issuer %q contained a ':' but was not a valid URL: %v", issuer, err))
				continue
			}
		}
		switch {
		case issuer == "":
			errs = append(errs, errors.New("service-account-issuer should not be an empty string"))
		case seen[issuer]:
			errs = append(errs, fmt.Errorf("service-account-issuer %q is already specified", issuer))
		}
		seen[issuer] = true
	}
	if uri := cfg.ServiceAccountJWKSURI; uri != "" {
		if u, err := url.Parse(uri); err != nil {
			errs = append(errs, fmt.Errorf("service-account-jwks-uri must be a valid URL: %v", err))
		} else if u.Scheme != "https" {
			errs = append(errs, fmt.Errorf("service-account-jwks-uri requires https scheme, parsed as: %v", u.String()))
		}
	}
	return utilerrors.NewAggregate(errs)
}

// tokenSigning is what signs and verifies service-account tokens, the
// longest token a TokenRequest gets (0: no limit), and an extended
// token's lifetime (kube's MaxExtendedExpiration).
type tokenSigning struct {
	signer          authn.TokenSigner
	keys            authn.KeySet
	maxExpiration   time.Duration
	extendedSeconds int64
}

// newTokenSigning is kube's external signer at
// --service-account-signing-endpoint, else --service-account-signing-key-file
// (or the key kapi keeps in <data-dir>/pki/sa.key) and
// --service-account-key-file (or the signing key), with
// --service-account-max-token-expiration (0, or between an hour and 2^32
// seconds, as kube checks it) and a year for extended tokens.
func (s *Server) newTokenSigning(ctx context.Context, cfg Config) (*tokenSigning, error) {
	if m := cfg.ServiceAccountMaxTokenExpiration; m != 0 && (m < time.Hour || m > (1<<32)*time.Second) {
		return nil, errors.New("the service-account-max-token-expiration must be between 1 hour and 2^32 seconds")
	}
	if ep := cfg.ServiceAccountSigningEndpoint; ep != "" {
		return externalSigning(ctx, cfg, ep)
	}
	signingKey := cfg.ServiceAccountSigningKeyFile
	if signingKey == "" {
		signingKey = filepath.Join(s.PKI.Dir, "sa.key")
		if err := ensureSAKey(signingKey); err != nil {
			return nil, err
		}
	}
	key, err := authn.ReadPrivateKey(signingKey)
	if err != nil {
		return nil, fmt.Errorf("--service-account-signing-key-file: %w", err)
	}
	signer, err := authn.NewSigner(key)
	if err != nil {
		return nil, err
	}
	keyFiles := cfg.ServiceAccountKeyFiles
	if len(keyFiles) == 0 {
		keyFiles = []string{signingKey}
	}
	var keys authn.StaticKeys
	for _, f := range keyFiles {
		ks, err := authn.ReadPublicKeys(f)
		if err != nil {
			return nil, fmt.Errorf("--service-account-key-file: %w", err)
		}
		keys = append(keys, ks...)
	}
	return &tokenSigning{signer: signer, keys: keys, maxExpiration: cfg.ServiceAccountMaxTokenExpiration,
		extendedSeconds: extendedTokenSeconds}, nil
}

// externalSigning connects to kube's external JWT signer as
// kube-apiserver does at start, with its checks and messages: the
// signer's keys fetched within a minute, its longest token asked within
// 10 s, at least 10 minutes, and at least --service-account-max-token-expiration
// (which it sets when 0); an extended token lives at most that longest.
func externalSigning(ctx context.Context, cfg Config, endpoint string) (*tokenSigning, error) {
	if cfg.ServiceAccountSigningKeyFile != "" || len(cfg.ServiceAccountKeyFiles) != 0 {
		return nil, errors.New("can't set `--service-account-signing-key-file` and/or `--service-account-key-file` with `--service-account-signing-endpoint` (They are mutually exclusive)")
	}
	if strings.HasPrefix(endpoint, "@") && !abstractSocket.MatchString(endpoint) {
		return nil, fmt.Errorf("invalid value %q passed for `--service-account-signing-endpoint`, when prefixed with @ must be a valid abstract socket name", endpoint)
	}
	ext, err := authn.DialExternalSigner(ctx, endpoint, time.Minute)
	if err != nil {
		return nil, fmt.Errorf("while setting up external-jwt-signer: %w", err)
	}
	longest, err := ext.MaxTokenExpiration(ctx, 10*time.Second)
	if err != nil {
		return nil, fmt.Errorf("while setting up external-jwt-signer: %w", err)
	}
	if longest < minTokenSeconds*time.Second {
		return nil, fmt.Errorf("max token life supported by external-jwt-signer (%ds) is less than acceptable (min %ds)", int64(longest/time.Second), minTokenSeconds)
	}
	maxExpiration := cfg.ServiceAccountMaxTokenExpiration
	switch {
	case maxExpiration == 0:
		maxExpiration = longest
	case maxExpiration > longest:
		return nil, fmt.Errorf("service-account-max-token-expiration cannot be set longer than the token expiration supported by service-account-signing-endpoint: %s > %s", maxExpiration, longest)
	}
	return &tokenSigning{signer: ext, keys: ext, maxExpiration: maxExpiration,
		extendedSeconds: min(extendedTokenSeconds, int64(longest/time.Second))}, nil
}

// abstractSocket is kube's check of an abstract socket's name.
var abstractSocket = regexp.MustCompile(`^@([a-zA-Z0-9_-]+\.)*[a-zA-Z0-9_-]+$`)

// newJWT starts the JWT authenticators of --authentication-config or of
// the --oidc-* flags; nil when neither is set. saIssuers are refused as
// identity providers' issuers, as kube refuses them.
func newJWT(ctx context.Context, cfg Config, saIssuers []string) (*authn.JWT, error) {
	switch {
	case cfg.AuthenticationConfig != "" && cfg.OIDC.Set():
		return nil, errors.New("authentication-config file and oidc-* flags are mutually exclusive")
	case cfg.AuthenticationConfig != "":
		c, err := authn.LoadAuthenticationConfiguration(cfg.AuthenticationConfig)
		if err != nil {
			return nil, fmt.Errorf("--authentication-config: %w", err)
		}
		if len(c.JWT) == 0 {
			return nil, nil
		}
		j, err := authn.NewJWT(ctx, c, nil, saIssuers, cfg.APIServerID)
		if err != nil {
			return nil, fmt.Errorf("--authentication-config: %w", err)
		}
		return j, nil
	case cfg.OIDC.Set():
		c, err := authn.LegacyOIDCConfiguration(cfg.OIDC)
		if err != nil {
			return nil, err
		}
		algs := cfg.OIDC.SigningAlgs
		if len(algs) == 0 {
			algs = []string{"RS256"}
		}
		j, err := authn.NewJWT(ctx, c, algs, saIssuers, cfg.APIServerID)
		if err != nil {
			return nil, fmt.Errorf("--oidc-*: %w", err)
		}
		return j, nil
	}
	return nil, nil
}

// tokenSuccessCacheTTL is how long kube-apiserver's token cache keeps an
// accepted token (pkg/kubeapiserver/options/authentication.go:
// TokenSuccessCacheTTL, 10 s, and TokenFailureCacheTTL, 0: no flag sets
// them).
const tokenSuccessCacheTTL = 10 * time.Second

// DefaultIssuer is kube-apiserver's usual --service-account-issuer.
const DefaultIssuer = "https://kubernetes.default.svc.cluster.local"

// ensureSAKey creates an ECDSA P-256 service-account key if there is none.
func ensureSAKey(path string) error {
	if exists(path) {
		return nil
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	b, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		return err
	}
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: b}), 0o600)
}

// lookup finds the objects tokens are bound to.
func lookup(stores []*registry.Store) authn.Lookup {
	byKind := map[string]*registry.Store{
		"ServiceAccount": findStore(stores, "", "v1", "serviceaccounts"),
		"Pod":            findStore(stores, "", "v1", "pods"),
		"Secret":         findStore(stores, "", "v1", "secrets"),
		"Node":           findStore(stores, "", "v1", "nodes"),
	}
	return func(ctx context.Context, kind, ns, name string) (string, bool, error) {
		st := byKind[kind]
		if st == nil {
			return "", false, fmt.Errorf("tokens cannot be bound to a %s", kind)
		}
		obj, err := st.Get(ctx, ns, name, nil)
		if apierrors.IsNotFound(err) {
			return "", false, nil
		}
		if err != nil {
			return "", false, err
		}
		m, err := meta.Accessor(obj)
		if err != nil {
			return "", false, err
		}
		return string(m.GetUID()), true, nil
	}
}
