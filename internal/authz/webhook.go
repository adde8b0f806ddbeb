package authz

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	authorizationcel "k8s.io/apiserver/pkg/authorization/cel"
	webhookutil "k8s.io/apiserver/pkg/util/webhook"
	"k8s.io/apiserver/plugin/pkg/authorizer/webhook"
	"k8s.io/apiserver/plugin/pkg/authorizer/webhook/metrics"
	"k8s.io/klog/v2"
)

// Webhook asks a remote service with a SubjectAccessReview
// (--authorization-mode=...,Webhook, --authorization-webhook-config-file,
// a kubeconfig naming the service), caching allowed and refused answers
// for their TTLs. It is k8s.io/apiserver's own webhook authorizer, as
// kube-apiserver builds it: the standard client of the protocol. The
// webhook's "no opinion" (neither allowed nor denied) and its errors pass
// to the next authorizer, as in kube's union.
type Webhook struct {
	w *webhook.WebhookAuthorizer
}

// NewWebhook reads the kubeconfig at configFile; version is the
// SubjectAccessReview version sent (v1 or v1beta1).
func NewWebhook(configFile, version string, authorizedTTL, unauthorizedTTL time.Duration) (*Webhook, error) {
	cfg, err := webhookutil.LoadKubeconfig(configFile, nil)
	if err != nil {
		return nil, fmt.Errorf("--authorization-webhook-config-file: %w", err)
	}
	w, err := webhook.New(cfg, version, authorizedTTL, unauthorizedTTL, webhookutil.DefaultRetryBackoffWithInitialDelay(500*time.Millisecond),
		authorizer.DecisionNoOpinion, nil, "webhook", metrics.NoopAuthorizerMetrics{}, authorizationcel.NewDefaultCompiler())
	if err != nil {
		return nil, fmt.Errorf("--authorization-webhook-config-file: %w", err)
	}
	return &Webhook{w: w}, nil
}

// Authorize implements Authorizer.
func (w *Webhook) Authorize(ctx context.Context, a Attributes) (Decision, string, error) {
	rec := authorizer.AttributesRecord{Verb: a.Verb, ResourceRequest: a.ResourceRequest, Path: a.Path,
		APIGroup: a.APIGroup, APIVersion: a.APIVersion, Resource: a.Resource, Subresource: a.Subresource,
		Namespace: a.Namespace, Name: a.Name}
	if a.User != nil {
		rec.User = &user.DefaultInfo{Name: a.User.Name, UID: a.User.UID, Groups: a.User.Groups, Extra: a.User.Extra}
	}
	d, reason, err := w.w.Authorize(ctx, rec)
	if err != nil {
		klog.FromContext(ctx).Error(err, "authorization webhook")
	}
	switch d {
	case authorizer.DecisionAllow:
		return Allow, reason, nil
	case authorizer.DecisionDeny:
		return Deny, reason, nil
	}
	return NoOpinion, reason, nil
}
