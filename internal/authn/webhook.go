package authn

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"k8s.io/apiserver/pkg/authentication/authenticator"
	tokencache "k8s.io/apiserver/pkg/authentication/token/cache"
	webhookutil "k8s.io/apiserver/pkg/util/webhook"
	"k8s.io/apiserver/plugin/pkg/authenticator/token/webhook"

	"kapi/internal/request"
)

// WebhookToken asks a remote service who a bearer token is, with a
// TokenReview (--authentication-token-webhook-config-file, a kubeconfig
// naming the service), and caches its answers for a while
// (--authentication-token-webhook-cache-ttl). It is k8s.io/apiserver's
// own webhook authenticator and token cache, as kube-apiserver builds
// them: the standard client of the TokenReview protocol.
type WebhookToken struct {
	token     authenticator.Token
	audiences []string
}

// NewWebhookToken reads the kubeconfig at configFile; version is the
// TokenReview version sent (v1 or v1beta1).
func NewWebhookToken(configFile, version string, ttl time.Duration, audiences []string) (*WebhookToken, error) {
	cfg, err := webhookutil.LoadKubeconfig(configFile, nil)
	if err != nil {
		return nil, fmt.Errorf("--authentication-token-webhook-config-file: %w", err)
	}
	w, err := webhook.New(cfg, version, authenticator.Audiences(audiences), webhookutil.DefaultRetryBackoffWithInitialDelay(500*time.Millisecond))
	if err != nil {
		return nil, fmt.Errorf("--authentication-token-webhook-config-file: %w", err)
	}
	return &WebhookToken{token: tokencache.New(w, false, ttl, ttl), audiences: audiences}, nil
}

// AuthenticateRequest implements Authenticator.
func (w *WebhookToken) AuthenticateRequest(r *http.Request) (*request.User, bool, error) {
	token, ok := BearerToken(r)
	if !ok {
		return nil, false, nil
	}
	return w.AuthenticateToken(r.Context(), token, nil)
}

// AuthenticateToken asks the webhook (or the cache) about token for the
// audiences auds (none: the API server's, as kube's authentication filter
// and TokenReview give them), which the TokenReview carries.
func (w *WebhookToken) AuthenticateToken(ctx context.Context, token string, auds []string) (*request.User, bool, error) {
	if len(auds) == 0 {
		auds = w.audiences
	}
	if len(auds) > 0 {
		ctx = authenticator.WithAudiences(ctx, auds)
	}
	resp, ok, err := w.token.AuthenticateToken(ctx, token)
	if err != nil || !ok {
		return nil, false, err
	}
	return userOf(resp), true, nil
}
