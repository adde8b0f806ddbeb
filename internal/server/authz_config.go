package server

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apiserver/pkg/apis/apiserver"
	"k8s.io/apiserver/pkg/apis/apiserver/load"
	"k8s.io/apiserver/pkg/apis/apiserver/validation"
	authorizationcel "k8s.io/apiserver/pkg/authorization/cel"
)

// authorizationModes are kube-apiserver's modes (its
// AuthorizationModeChoices); kapi implements all but ABAC.
var authorizationModes = []string{"AlwaysAllow", "AlwaysDeny", "ABAC", "Webhook", "RBAC", "Node"}

// authorizationConfiguration is the chain of authorizers, as
// kube-apiserver has it: the AuthorizationConfiguration of
// --authorization-config (any of apiserver.config.k8s.io v1, v1beta1,
// v1alpha1), loaded and validated by k8s.io/apiserver's own load and
// validation packages with kube's own checks beside them; or, without
// it, the one kube builds from --authorization-mode and the
// --authorization-webhook-* flags.
func authorizationConfiguration(cfg Config) (*apiserver.AuthorizationConfiguration, error) {
	if cfg.AuthorizationConfig != "" {
		return loadAuthorizationConfiguration(cfg.AuthorizationConfig)
	}
	return legacyAuthorizationConfiguration(cfg)
}

func loadAuthorizationConfiguration(file string) (*apiserver.AuthorizationConfiguration, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	c, err := load.LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("failed to load AuthorizationConfiguration from file: %w", err)
	}
	if errs := validation.ValidateAuthorizationConfiguration(authorizationcel.NewDefaultCompiler(), nil, c,
		sets.New(authorizationModes...), sets.New("Webhook")); len(errs) != 0 {
		return nil, errs.ToAggregate()
	}
	// kube-apiserver's own check: an authorizer other than a webhook is
	// named after its type.
	var errs []error
	for _, a := range c.Authorizers {
		if a.Type == apiserver.TypeWebhook {
			continue
		}
		if want := strings.ToLower(string(a.Type)); a.Name != want {
			errs = append(errs, fmt.Errorf("expected name %s for authorizer %s instead of %s", want, a.Type, a.Name))
		}
	}
	if len(errs) > 0 {
		return nil, utilerrors.NewAggregate(errs)
	}
	return c, nil
}

// legacyAuthorizationConfiguration is kube's
// buildAuthorizationConfiguration, after its flag checks.
func legacyAuthorizationConfiguration(cfg Config) (*apiserver.AuthorizationConfiguration, error) {
	modes := cfg.AuthorizationModes
	if len(modes) == 0 {
		return nil, fmt.Errorf("at least one authorization-mode must be passed")
	}
	for _, m := range modes {
		if !slices.Contains(authorizationModes, m) {
			return nil, fmt.Errorf("authorization-mode %q is not a valid mode", m)
		}
	}
	if sets.New(modes...).Len() != len(modes) {
		return nil, fmt.Errorf("authorization-mode %q has mode specified more than once", modes)
	}
	webhook := slices.Contains(modes, "Webhook")
	if webhook && cfg.AuthorizationWebhookConfigFile == "" {
		return nil, fmt.Errorf("authorization-mode Webhook's authorization config file not passed")
	}
	if !webhook && cfg.AuthorizationWebhookConfigFile != "" {
		return nil, fmt.Errorf("cannot specify --authorization-webhook-config-file without mode Webhook")
	}
	c := &apiserver.AuthorizationConfiguration{}
	for _, m := range modes {
		a := apiserver.AuthorizerConfiguration{Type: apiserver.AuthorizerType(m), Name: strings.ToLower(m)}
		if m == "Webhook" {
			a.Name = "webhook"
			file := cfg.AuthorizationWebhookConfigFile
			a.Webhook = &apiserver.WebhookConfiguration{
				AuthorizedTTL:             metav1.Duration{Duration: cfg.AuthorizationWebhookCacheAuthorizedTTL},
				CacheAuthorizedRequests:   cfg.AuthorizationWebhookCacheAuthorizedTTL != 0,
				UnauthorizedTTL:           metav1.Duration{Duration: cfg.AuthorizationWebhookCacheUnauthorizedTTL},
				CacheUnauthorizedRequests: cfg.AuthorizationWebhookCacheUnauthorizedTTL != 0,
				// kube's implicit values for the flags.
				Timeout:                    metav1.Duration{Duration: 30 * time.Second},
				FailurePolicy:              apiserver.FailurePolicyNoOpinion,
				SubjectAccessReviewVersion: cfg.AuthorizationWebhookVersion,
				ConnectionInfo: apiserver.WebhookConnectionInfo{
					Type:           apiserver.AuthorizationWebhookConnectionInfoTypeKubeConfigFile,
					KubeConfigFile: &file,
				},
			}
		}
		c.Authorizers = append(c.Authorizers, a)
	}
	return c, nil
}
