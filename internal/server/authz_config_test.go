package server

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apiserver/pkg/apis/apiserver"
)

// TestLegacyAuthorizationConfiguration: the flags make kube's
// configuration, with kube's messages for the combinations it refuses.
func TestLegacyAuthorizationConfiguration(t *testing.T) {
	base := Defaults()
	for _, c := range []struct {
		modes   []string
		webhook string
		want    string
	}{
		{modes: []string{"Node", "RBAC"}},
		{modes: []string{"Node", "Webhook", "RBAC"}, webhook: "/hook.kubeconfig"},
		{modes: nil, want: "at least one authorization-mode must be passed"},
		{modes: []string{"RBAC", "Magic"}, want: `authorization-mode "Magic" is not a valid mode`},
		{modes: []string{"RBAC", "RBAC"}, want: `authorization-mode ["RBAC" "RBAC"] has mode specified more than once`},
		{modes: []string{"Webhook"}, want: "authorization-mode Webhook's authorization config file not passed"},
		{modes: []string{"RBAC"}, webhook: "/hook.kubeconfig", want: "cannot specify --authorization-webhook-config-file without mode Webhook"},
	} {
		cfg := base
		cfg.AuthorizationModes, cfg.AuthorizationWebhookConfigFile = c.modes, c.webhook
		conf, err := legacyAuthorizationConfiguration(cfg)
		if c.want != "" {
			if err == nil || err.Error() != c.want {
				t.Errorf("%v: %v, want %q", c.modes, err, c.want)
			}
			continue
		}
		if err != nil || len(conf.Authorizers) != len(c.modes) {
			t.Fatalf("%v: %v %+v", c.modes, err, conf)
		}
		for i, a := range conf.Authorizers {
			if string(a.Type) != c.modes[i] || a.Name != strings.ToLower(c.modes[i]) {
				t.Errorf("%v: authorizer %d is %s %s", c.modes, i, a.Type, a.Name)
			}
			if a.Type == apiserver.TypeWebhook && (a.Webhook.Timeout.Duration.String() != "30s" || a.Webhook.FailurePolicy != "NoOpinion" ||
				!a.Webhook.CacheAuthorizedRequests || a.Webhook.AuthorizedTTL.Duration.String() != "5m0s" || a.Webhook.SubjectAccessReviewVersion != "v1beta1" ||
				*a.Webhook.ConnectionInfo.KubeConfigFile != c.webhook) {
				t.Errorf("the webhook of the flags: %+v", a.Webhook)
			}
		}
	}
}

// TestLoadAuthorizationConfiguration: kube's checks beside
// k8s.io/apiserver's validation; a reload must keep the types kapi
// started with.
func TestLoadAuthorizationConfiguration(t *testing.T) {
	doc := func(authorizers string) []byte {
		return []byte("apiVersion: apiserver.config.k8s.io/v1\nkind: AuthorizationConfiguration\nauthorizers:\n" + authorizers)
	}
	for _, c := range []struct {
		doc      []byte
		required []apiserver.AuthorizerType
		want     string
	}{
		{doc: doc("- {type: Node, name: node}\n- {type: RBAC, name: rbac}\n")},
		{doc: doc("- {type: RBAC, name: my-rbac}\n"), want: "expected name rbac for authorizer RBAC instead of my-rbac"},
		{doc: doc("- {type: RBAC, name: rbac}\n"), required: []apiserver.AuthorizerType{"Node", "RBAC"}, want: "missing required types: [Node]"},
		{doc: doc("- {type: Magic, name: magic}\n"), want: `authorizers[0].type: Unsupported value: "Magic"`},
		{doc: doc("- {type: RBAC, name: rbac}\n- {type: RBAC, name: rbac2}\n"), want: `authorizers[1].type: Duplicate value: "RBAC"`},
		{doc: []byte("apiVersion: apiserver.config.k8s.io/v1\nkind: AuthorizationConfiguration\nextra: 1\n"), want: `failed to load AuthorizationConfiguration from file: strict decoding error: unknown field "extra"`},
	} {
		_, err := loadAuthorizationConfiguration(c.doc, sets.New(c.required...))
		if (c.want == "" && err != nil) || (c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want))) {
			t.Errorf("%s: %v, want %q", c.doc, err, c.want)
		}
	}
}
