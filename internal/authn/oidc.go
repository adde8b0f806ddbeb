package authn

import (
	"context"
	"errors"
	"fmt"
	"os"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apiserver/pkg/apis/apiserver"
	"k8s.io/apiserver/pkg/apis/apiserver/install"
	apiservervalidation "k8s.io/apiserver/pkg/apis/apiserver/validation"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	authenticationcel "k8s.io/apiserver/pkg/authentication/cel"
	"k8s.io/apiserver/plugin/pkg/authenticator/token/oidc"

	"kapi/internal/request"
)

// JWT authenticates bearer tokens issued by identity providers (OIDC): the
// jwt issuers of kube's AuthenticationConfiguration (--authentication-config)
// or of the legacy --oidc-* flags. Each issuer is k8s.io/apiserver's own JWT
// authenticator (plugin/pkg/authenticator/token/oidc: discovery and JWKS
// fetched and refreshed, audiences, claim mappings and the CEL claim and
// user validation rules), the domain's standard algorithm; kapi asks them
// in order, as kube-apiserver's union does.
type JWT struct {
	issuers []oidc.AuthenticatorTokenWithHealthCheck
}

// OIDCFlags are kube-apiserver's legacy --oidc-* flags.
type OIDCFlags struct {
	IssuerURL, ClientID, CAFile   string
	UsernameClaim, UsernamePrefix string
	GroupsClaim, GroupsPrefix     string
	RequiredClaims                map[string]string
	SigningAlgs                   []string
}

// Set reports whether the flags configure an issuer.
func (f OIDCFlags) Set() bool { return f.IssuerURL != "" || f.ClientID != "" }

var authnConfigCodecs = func() serializer.CodecFactory {
	s := runtime.NewScheme()
	install.Install(s)
	return serializer.NewCodecFactory(s, serializer.EnableStrict)
}()

// LoadAuthenticationConfiguration reads an AuthenticationConfiguration
// file (apiserver.config.k8s.io v1, v1beta1 or v1alpha1), strictly, as
// kube-apiserver does.
func LoadAuthenticationConfiguration(path string) (*apiserver.AuthenticationConfiguration, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(data) == 0 {
		return nil, errors.New("empty config file")
	}
	obj, gvk, err := authnConfigCodecs.UniversalDecoder().Decode(data, nil, nil)
	if err != nil {
		return nil, err
	}
	c, ok := obj.(*apiserver.AuthenticationConfiguration)
	if !ok {
		return nil, fmt.Errorf("expected AuthenticationConfiguration, got %v", gvk)
	}
	return c, nil
}

// LegacyOIDCConfiguration is the configuration the --oidc-* flags stand
// for, made as kube-apiserver makes it: the client id as the audience, a
// username claim other than email prefixed with "<issuer>#" unless
// --oidc-username-prefix says otherwise ("-": none), the required claims as
// claim validation rules.
func LegacyOIDCConfiguration(f OIDCFlags) (*apiserver.AuthenticationConfiguration, error) {
	if f.IssuerURL == "" || f.ClientID == "" {
		return nil, errors.New("oidc-issuer-url and oidc-client-id must be specified together")
	}
	claim := f.UsernameClaim
	if claim == "" {
		claim = "sub"
	}
	prefix := f.UsernamePrefix
	if prefix == "" && claim != "email" {
		prefix = f.IssuerURL + "#"
	}
	if prefix == "-" {
		prefix = ""
	}
	j := apiserver.JWTAuthenticator{
		Issuer: apiserver.Issuer{URL: f.IssuerURL, Audiences: []string{f.ClientID}, AudienceMatchPolicy: apiserver.AudienceMatchPolicyMatchAny},
		ClaimMappings: apiserver.ClaimMappings{
			Username: apiserver.PrefixedClaimOrExpression{Prefix: &prefix, Claim: claim},
		},
	}
	if f.GroupsClaim != "" {
		gp := f.GroupsPrefix
		j.ClaimMappings.Groups = apiserver.PrefixedClaimOrExpression{Prefix: &gp, Claim: f.GroupsClaim}
	}
	for c, v := range f.RequiredClaims {
		j.ClaimValidationRules = append(j.ClaimValidationRules, apiserver.ClaimValidationRule{Claim: c, RequiredValue: v})
	}
	if f.CAFile != "" {
		ca, err := os.ReadFile(f.CAFile)
		if err != nil {
			return nil, fmt.Errorf("--oidc-ca-file: %w", err)
		}
		j.Issuer.CertificateAuthority = string(ca)
	}
	return &apiserver.AuthenticationConfiguration{JWT: []apiserver.JWTAuthenticator{j}}, nil
}

// staticCA is an issuer's certificateAuthority.
type staticCA []byte

func (c staticCA) CurrentCABundleContent() []byte { return c }

// NewJWT validates c as kube-apiserver does and starts an authenticator per
// issuer; they fetch their keys in the background until ctx ends.
// signingAlgs nil accepts every algorithm kube accepts (the structured
// configuration); disallowed are the service-account issuers, which no
// identity provider may claim.
func NewJWT(ctx context.Context, c *apiserver.AuthenticationConfiguration, signingAlgs, disallowed []string, serverID string) (*JWT, error) {
	compiler := authenticationcel.NewDefaultCompiler()
	if errs := apiservervalidation.ValidateAuthenticationConfiguration(compiler, c, disallowed); len(errs) > 0 {
		return nil, errs.ToAggregate()
	}
	if signingAlgs == nil {
		signingAlgs = oidc.AllValidSigningAlgorithms()
	}
	j := &JWT{}
	for _, issuer := range c.JWT {
		opts := oidc.Options{JWTAuthenticator: issuer, SupportedSigningAlgs: signingAlgs, DisallowedIssuers: disallowed,
			APIServerID: serverID, Compiler: compiler}
		if issuer.Issuer.CertificateAuthority != "" {
			opts.CAContentProvider = staticCA(issuer.Issuer.CertificateAuthority)
		}
		a, err := oidc.New(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("jwt issuer %s: %w", issuer.Issuer.URL, err)
		}
		j.issuers = append(j.issuers, a)
	}
	return j, nil
}

// AuthenticateToken implements TokenAuthenticator: a token that one of
// the issuers recognises. Each issuer checks the audiences of its own
// configuration, not the ones asked for.
func (j *JWT) AuthenticateToken(ctx context.Context, token string, _ []string, _ *TokenUse) (*request.User, bool, error) {
	var errs []error
	for _, a := range j.issuers {
		resp, ok, err := a.AuthenticateToken(ctx, token)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok {
			return userOf(resp), true, nil
		}
	}
	return nil, false, errors.Join(errs...)
}

func userOf(resp *authenticator.Response) *request.User {
	u := resp.User
	return &request.User{Name: u.GetName(), UID: u.GetUID(), Groups: u.GetGroups(), Extra: u.GetExtra()}
}

// Healthy reports whether every issuer has fetched its keys (kube's health
// check of the JWT authenticators).
func (j *JWT) Healthy() error {
	for _, a := range j.issuers {
		if err := a.HealthCheck(); err != nil {
			return err
		}
	}
	return nil
}
