package server

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apiserver/pkg/apis/apiserver"
	"k8s.io/apiserver/pkg/apis/apiserver/load"
	"k8s.io/apiserver/pkg/apis/apiserver/validation"
	authorizationcel "k8s.io/apiserver/pkg/authorization/cel"
	authzconfigmetrics "k8s.io/apiserver/pkg/server/options/authorizationconfig/metrics"
	"k8s.io/component-base/metrics/legacyregistry"
	"k8s.io/klog/v2"

	"kapi/internal/authz"
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
// data is the file read, for its reloads.
func authorizationConfiguration(cfg Config) (c *apiserver.AuthorizationConfiguration, data []byte, err error) {
	if cfg.AuthorizationConfig == "" {
		c, err = legacyAuthorizationConfiguration(cfg)
		return c, nil, err
	}
	if data, err = os.ReadFile(cfg.AuthorizationConfig); err != nil {
		return nil, nil, err
	}
	c, err = loadAuthorizationConfiguration(data, nil)
	return c, data, err
}

// loadAuthorizationConfiguration is kube's LoadAndValidateData: required
// are the types other than Webhook a reloaded file must keep (those it
// started with).
func loadAuthorizationConfiguration(data []byte, required sets.Set[apiserver.AuthorizerType]) (*apiserver.AuthorizationConfiguration, error) {
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
	seen := sets.New[apiserver.AuthorizerType]()
	for _, a := range c.Authorizers {
		if a.Type == apiserver.TypeWebhook {
			continue
		}
		seen.Insert(a.Type)
		if want := strings.ToLower(string(a.Type)); a.Name != want {
			errs = append(errs, fmt.Errorf("expected name %s for authorizer %s instead of %s", want, a.Type, a.Name))
		}
	}
	if missing := required.Difference(seen); missing.Len() > 0 {
		errs = append(errs, fmt.Errorf("missing required types: %v", sets.List(missing)))
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
	abac := slices.Contains(modes, "ABAC")
	if abac && cfg.AuthorizationPolicyFile == "" {
		return nil, fmt.Errorf("authorization-mode ABAC's authorization policy file not passed")
	}
	if !abac && cfg.AuthorizationPolicyFile != "" {
		return nil, fmt.Errorf("cannot specify --authorization-policy-file without mode ABAC")
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

// authzReload is kube's reload of --authorization-config: the file is
// read every interval (a minute); when its content changed and it loads,
// validates and builds, its union replaces the one in use; otherwise the
// one in use stays and the failure is logged and counted. Node and RBAC
// must stay where they were at start and cannot be added. Its metrics are
// kube's apiserver_authorization_config_controller_* (k8s.io/apiserver's).
type authzReload struct {
	file     string
	serverID string // Config.APIServerID, for the metrics
	interval time.Duration
	last     []byte
	lastConf *apiserver.AuthorizationConfiguration
	required sets.Set[apiserver.AuthorizerType]
	build    *authzBuilder
	into     *authz.Swappable
}

func newAuthzReload(serverID, file string, data []byte, conf *apiserver.AuthorizationConfiguration, b *authzBuilder, into *authz.Swappable) *authzReload {
	required := sets.New[apiserver.AuthorizerType]()
	for _, a := range conf.Authorizers {
		if a.Type != apiserver.TypeWebhook {
			required.Insert(a.Type)
		}
	}
	return &authzReload{serverID: serverID, file: file, interval: time.Minute, last: data, lastConf: conf, required: required, build: b, into: into}
}

func (r *authzReload) run(ctx context.Context) {
	authzconfigmetrics.RegisterMetrics()
	authzconfigmetrics.RecordAuthorizationConfigLastConfigInfo(r.serverID, string(r.last))
	t := time.NewTicker(r.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.check()
		}
	}
}

func (r *authzReload) check() {
	data, err := os.ReadFile(r.file)
	if err != nil {
		klog.ErrorS(err, "reloading authorization config")
		authzconfigmetrics.RecordAuthorizationConfigAutomaticReloadFailure(r.serverID)
		return
	}
	if bytes.Equal(data, r.last) {
		return
	}
	klog.InfoS("found new authorization config data")
	r.last = data
	conf, err := loadAuthorizationConfiguration(data, r.required)
	if err != nil {
		klog.ErrorS(err, "reloading authorization config")
		authzconfigmetrics.RecordAuthorizationConfigAutomaticReloadFailure(r.serverID)
		return
	}
	if reflect.DeepEqual(conf, r.lastConf) {
		return
	}
	r.lastConf = conf
	u, err := r.build.union(conf)
	if err != nil {
		klog.ErrorS(err, "reloading authorization config")
		authzconfigmetrics.RecordAuthorizationConfigAutomaticReloadFailure(r.serverID)
		return
	}
	r.into.Store(u)
	klog.InfoS("reloaded authz config")
	authzconfigmetrics.RecordAuthorizationConfigAutomaticReloadSuccess(r.serverID, string(data))
}

// authMetrics are kube's metrics of the authorization webhooks, their
// match conditions and the reloads of --authorization-config, which
// k8s.io/apiserver records in component-base's legacy registry. (The
// token caches' authentication_token_cache_* are kapi's own:
// internal/authn's TokenCache records them in kapi's registry.)
var authMetrics prometheus.Gatherer = prefixGatherer{legacyregistry.DefaultGatherer, []string{
	"apiserver_authorization_webhook_",
	"apiserver_authorization_match_condition_",
	"apiserver_authorization_config_controller_",
}}
