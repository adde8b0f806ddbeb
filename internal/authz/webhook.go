package authz

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apiserver/pkg/apis/apiserver"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	authorizationcel "k8s.io/apiserver/pkg/authorization/cel"
	webhookutil "k8s.io/apiserver/pkg/util/webhook"
	"k8s.io/apiserver/plugin/pkg/authorizer/webhook"
	"k8s.io/apiserver/plugin/pkg/authorizer/webhook/metrics"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	"kapi/internal/request"
	"kapi/internal/x509metrics"
)

// Webhook asks a remote service with a SubjectAccessReview
// (--authorization-mode=...,Webhook, --authorization-webhook-config-file,
// a kubeconfig naming the service, or an authorizer of type Webhook in
// --authorization-config), caching allowed and refused answers for their
// TTLs; one with match conditions is asked only what they all match. It is k8s.io/apiserver's own webhook authorizer, as
// kube-apiserver builds it: the standard client of the protocol. The
// webhook's "no opinion" (neither allowed nor denied) passes to the next
// authorizer, as in kube's union, and so do its errors unless its
// failurePolicy is Deny.
type Webhook struct {
	w *webhook.WebhookAuthorizer
}

// NewWebhook is the webhook c describes (an authorizer of
// --authorization-config, or the one kube builds from the
// --authorization-webhook-* flags), named name in its metrics and match
// conditions: its kubeconfig (or the in-cluster configuration), timeout,
// SubjectAccessReview version, TTLs, failure policy and CEL match
// conditions, compiled by k8s.io/apiserver's compiler.
func NewWebhook(name string, c *apiserver.WebhookConfiguration) (*Webhook, error) {
	var cfg *rest.Config
	var err error
	switch c.ConnectionInfo.Type {
	case apiserver.AuthorizationWebhookConnectionInfoTypeInCluster:
		cfg, err = rest.InClusterConfig()
	default:
		cfg, err = webhookutil.LoadKubeconfig(*c.ConnectionInfo.KubeConfigFile, nil)
	}
	if err != nil {
		return nil, fmt.Errorf("authorization webhook %s: %w", name, err)
	}
	if c.Timeout.Duration != 0 {
		cfg.Timeout = c.Timeout.Duration
	}
	cfg.Wrap(x509metrics.Wrap)
	onError := authorizer.DecisionNoOpinion
	if c.FailurePolicy == apiserver.FailurePolicyDeny {
		onError = authorizer.DecisionDeny
	}
	authorizedTTL, unauthorizedTTL := c.AuthorizedTTL.Duration, c.UnauthorizedTTL.Duration
	if !c.CacheAuthorizedRequests {
		authorizedTTL = 0
	}
	if !c.CacheUnauthorizedRequests {
		unauthorizedTTL = 0
	}
	w, err := webhook.New(cfg, c.SubjectAccessReviewVersion, authorizedTTL, unauthorizedTTL, webhookutil.DefaultRetryBackoffWithInitialDelay(500*time.Millisecond),
		onError, c.MatchConditions, name, webhookMetrics{WebhookMetrics: metrics.NewWebhookMetrics(), MatcherMetrics: authorizationcel.NewMatcherMetrics()},
		authorizationcel.NewDefaultCompiler())
	if err != nil {
		return nil, fmt.Errorf("authorization webhook %s: %w", name, err)
	}
	return &Webhook{w: w}, nil
}

// webhookMetrics are the ones kube-apiserver keeps of its authorization
// webhooks (apiserver_authorization_webhook_*, and
// apiserver_authorization_match_condition_* of their match conditions),
// in component-base's legacy registry; not the request metrics.
type webhookMetrics struct {
	metrics.NoopRequestMetrics
	metrics.WebhookMetrics
	authorizationcel.MatcherMetrics
}

func init() {
	metrics.RegisterWebhookMetrics()
	authorizationcel.RegisterMetrics()
}

// Authorize implements Authorizer.
func (w *Webhook) Authorize(ctx context.Context, a Attributes) (Decision, string, error) {
	rec := authorizer.AttributesRecord{Verb: a.Verb, ResourceRequest: a.ResourceRequest, Path: a.Path,
		APIGroup: a.APIGroup, APIVersion: a.APIVersion, Resource: a.Resource, Subresource: a.Subresource,
		Namespace: a.Namespace, Name: a.Name}
	// The selectors, as kube's authorization filter parses them.
	if a.FieldSelector != "" {
		if sel, err := fields.ParseSelector(a.FieldSelector); err != nil {
			rec.FieldSelectorParsingErr = err
		} else {
			rec.FieldSelectorRequirements = sel.Requirements()
		}
	}
	if a.LabelSelector != "" {
		if sel, err := labels.Parse(a.LabelSelector); err != nil {
			rec.LabelSelectorParsingErr = err
		} else {
			rec.LabelSelectorRequirements, _ = sel.Requirements()
		}
	}
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

// RulesFor implements RuleResolver: what a webhook allows cannot be
// listed (kube's answer: incomplete, with this error).
func (w *Webhook) RulesFor(context.Context, *request.User, string) ([]ResourceRule, []NonResourceRule, bool, error) {
	return nil, nil, true, fmt.Errorf("webhook authorizer does not support user rule resolution")
}
