package authn

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apiserver/pkg/authentication/authenticator"
	webhookutil "k8s.io/apiserver/pkg/util/webhook"
	"k8s.io/apiserver/plugin/pkg/authenticator/token/webhook"

	"kapi/internal/request"
	"kapi/internal/x509metrics"
)

// WebhookToken asks a remote service who a bearer token is, with a
// TokenReview (--authentication-token-webhook-config-file, a kubeconfig
// naming the service), and caches its answers for a while
// (--authentication-token-webhook-cache-ttl). The client is
// k8s.io/apiserver's own webhook authenticator, as kube-apiserver builds
// it: the standard client of the TokenReview protocol. The cache is
// kapi's TokenCache with the settings of kube's webhook cache: answers
// (a token the webhook refuses too, not an error reaching it) kept for
// the TTL, per token and audiences; it shares kube's
// authentication_token_cache_* metrics with the cache in front of all
// token authenticators, as kube's two caches do.
type WebhookToken struct {
	cache *TokenCache
}

// NewWebhookToken reads the kubeconfig at configFile; version is the
// TokenReview version sent (v1 or v1beta1); audiences are the API
// audiences, which a TokenReview for a request carries.
func NewWebhookToken(configFile, version string, ttl time.Duration, audiences []string) (*WebhookToken, error) {
	cfg, err := webhookutil.LoadKubeconfig(configFile, nil)
	if err != nil {
		return nil, fmt.Errorf("--authentication-token-webhook-config-file: %w", err)
	}
	cfg.Wrap(x509metrics.Wrap)
	w, err := webhook.New(cfg, version, authenticator.Audiences(audiences), webhookutil.DefaultRetryBackoffWithInitialDelay(500*time.Millisecond))
	if err != nil {
		return nil, fmt.Errorf("--authentication-token-webhook-config-file: %w", err)
	}
	return &WebhookToken{cache: NewTokenCache(webhookTokens{w}, TokenCacheOptions{SuccessTTL: ttl, FailureTTL: ttl, Audiences: audiences})}, nil
}

// AuthenticateToken implements TokenAuthenticator: asks the webhook (or
// the cache) about token for the audiences auds (none: the API server's,
// as kube's authentication filter and TokenReview give them), which the
// TokenReview carries.
func (w *WebhookToken) AuthenticateToken(ctx context.Context, token string, auds []string, use *TokenUse) (*request.User, bool, error) {
	return w.cache.AuthenticateToken(ctx, token, auds, use)
}

// webhookTokens is k8s.io/apiserver's webhook authenticator as a
// TokenAuthenticator; the audiences go to it in the context.
type webhookTokens struct{ hook authenticator.Token }

func (w webhookTokens) AuthenticateToken(ctx context.Context, token string, auds []string, use *TokenUse) (*request.User, bool, error) {
	if len(auds) > 0 {
		ctx = authenticator.WithAudiences(ctx, auds)
	}
	resp, ok, err := w.hook.AuthenticateToken(ctx, token)
	if err != nil || !ok {
		return nil, false, err
	}
	use.Audiences(resp.Audiences)
	return userOf(resp), true, nil
}
