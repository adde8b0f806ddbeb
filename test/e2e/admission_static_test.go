package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	admissionmanifest "kapi/internal/admission/manifest"
	"kapi/internal/server"
)

// writeManifests writes objects as one multi-document YAML file of dir,
// at once (a rename), as kube's tests do.
func writeManifests(t *testing.T, dir, name string, objs ...any) {
	t.Helper()
	var docs []string
	for _, o := range objs {
		b, err := yaml.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, string(b))
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p+".tmp", []byte(strings.Join(docs, "---\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(p+".tmp", p); err != nil {
		t.Fatal(err)
	}
}

// staticWebhook is a ValidatingWebhookConfiguration of a static manifest:
// its webhook, by URL, sees the creation of ConfigMaps in namespace ns, of
// ValidatingWebhookConfigurations and of SelfSubjectReviews.
func staticWebhook(name string, cc admissionregistrationv1.WebhookClientConfig, ns string) *admissionregistrationv1.ValidatingWebhookConfiguration {
	create := []admissionregistrationv1.OperationType{admissionregistrationv1.Create}
	return &admissionregistrationv1.ValidatingWebhookConfiguration{
		TypeMeta:   metav1.TypeMeta{APIVersion: "admissionregistration.k8s.io/v1", Kind: "ValidatingWebhookConfiguration"},
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name: "static.kapi.test", ClientConfig: cc, NamespaceSelector: inNamespace(ns),
			Rules: []admissionregistrationv1.RuleWithOperations{
				{Operations: create, Rule: admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"}}},
				{Operations: create, Rule: admissionregistrationv1.Rule{APIGroups: []string{"admissionregistration.k8s.io"}, APIVersions: []string{"v1"},
					Resources: []string{"validatingwebhookconfigurations"}}},
				{Operations: create, Rule: admissionregistrationv1.Rule{APIGroups: []string{"authentication.k8s.io"}, APIVersions: []string{"v1"},
					Resources: []string{"selfsubjectreviews"}}},
			},
			SideEffects: ptr(admissionregistrationv1.SideEffectClassNone), AdmissionReviewVersions: []string{"v1"},
		}},
	}
}

// staticPolicy is a ValidatingAdmissionPolicy of a static manifest, with
// its binding: no ConfigMap and no ValidatingAdmissionPolicy may be
// created with a name that starts with prefix.
func staticPolicy(prefix string) []any {
	create := []admissionregistrationv1.OperationType{admissionregistrationv1.Create}
	return []any{
		&admissionregistrationv1.ValidatingAdmissionPolicy{
			TypeMeta:   metav1.TypeMeta{APIVersion: "admissionregistration.k8s.io/v1", Kind: "ValidatingAdmissionPolicy"},
			ObjectMeta: metav1.ObjectMeta{Name: "names.static.k8s.io"},
			Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
				MatchConstraints: &admissionregistrationv1.MatchResources{ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
					RuleWithOperations: admissionregistrationv1.RuleWithOperations{Operations: create, Rule: admissionregistrationv1.Rule{
						APIGroups: []string{"", "admissionregistration.k8s.io"}, APIVersions: []string{"v1"},
						Resources: []string{"configmaps", "validatingadmissionpolicies"}}}}}},
				Validations: []admissionregistrationv1.Validation{{Expression: "!object.metadata.name.startsWith('" + prefix + "')", Message: "no " + prefix + " names"}},
			},
		},
		&admissionregistrationv1.ValidatingAdmissionPolicyBinding{
			TypeMeta:   metav1.TypeMeta{APIVersion: "admissionregistration.k8s.io/v1", Kind: "ValidatingAdmissionPolicyBinding"},
			ObjectMeta: metav1.ObjectMeta{Name: "names-binding.static.k8s.io"},
			Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: "names.static.k8s.io",
				ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny}},
		},
	}
}

// staticAdmissionConfig is an AdmissionConfiguration giving the
// validating webhooks and policies their staticManifestsDir.
func staticAdmissionConfig(t *testing.T, webhooks, policies string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "admission.yaml")
	conf := `apiVersion: apiserver.config.k8s.io/v1
kind: AdmissionConfiguration
plugins:
- name: ValidatingAdmissionWebhook
  configuration:
    apiVersion: apiserver.config.k8s.io/v1
    kind: WebhookAdmissionConfiguration
    staticManifestsDir: "` + webhooks + `"
- name: ValidatingAdmissionPolicy
  configuration:
    apiVersion: apiserver.config.k8s.io/v1
    kind: ValidatingAdmissionPolicyConfiguration
    staticManifestsDir: "` + policies + `"
`
	if err := os.WriteFile(p, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestStaticAdmission: kube-apiserver's manifest-based admission
// configuration (ManifestBasedAdmissionControlConfig): a webhook and a
// policy of the AdmissionConfiguration's staticManifestsDirs are in force
// from the start, see the writes of webhook configurations and policies
// (which the API's cannot), but not the virtual resources; the
// directories reload as they change, a bad reload keeping what is in
// force; a bad directory or manifest fails the start with kube's errors.
func TestStaticAdmission(t *testing.T) {
	defer func(d time.Duration) { admissionmanifest.ReloadInterval = d }(admissionmanifest.ReloadInterval)
	admissionmanifest.ReloadInterval = 100 * time.Millisecond
	srv := newAdmissionServer(t)
	srv.on("/static", func(r *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
		if r.Resource.Resource == "selfsubjectreviews" || strings.HasPrefix(objectOf(t, r.Object.Raw).GetName(), "deny-") {
			return &admissionv1.AdmissionResponse{Result: &metav1.Status{Message: "static webhook says no"}}
		}
		return &admissionv1.AdmissionResponse{Allowed: true}
	})
	webhooks, policies := t.TempDir(), t.TempDir()
	writeManifests(t, webhooks, "webhook.yaml", staticWebhook("deny.static.k8s.io", srv.clientConfig("/static"), "static-adm"))
	writeManifests(t, policies, "policy.yaml", staticPolicy("bad-")...)
	config := staticAdmissionConfig(t, webhooks, policies)
	k := startKapi(t, func(c *server.Config) { c.AdmissionControlConfigFile = config })
	ctx := context.Background()
	if _, err := k.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "static-adm"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	createCM := func(name string) error {
		_, err := k.client.CoreV1().ConfigMaps("static-adm").Create(ctx, cm(name, nil), metav1.CreateOptions{})
		return err
	}
	refused := func(what string, err error, want string) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", what, err, want)
		}
	}

	// In force from the start, without waiting.
	if err := createCM("ok-1"); err != nil {
		t.Errorf("a ConfigMap both allow: %v", err)
	}
	refused("a ConfigMap the webhook refuses", createCM("deny-1"), `admission webhook "static.kapi.test" denied the request: static webhook says no`)
	refused("a ConfigMap the policy refuses", createCM("bad-1"),
		`ValidatingAdmissionPolicy 'names.static.k8s.io' with binding 'names-binding.static.k8s.io' denied request: no bad- names`)

	// They see the admission configuration objects.
	vwcs := k.client.AdmissionregistrationV1().ValidatingWebhookConfigurations()
	apiWebhook := func(name string) *admissionregistrationv1.ValidatingWebhookConfiguration {
		c := staticWebhook(name, srv.clientConfig("/api"), "nowhere")
		c.Webhooks[0].Rules = configMapRules()
		return c
	}
	if _, err := vwcs.Create(ctx, apiWebhook("ok-api"), metav1.CreateOptions{}); err != nil {
		t.Errorf("a webhook configuration the static webhook allows: %v", err)
	}
	var names []string
	for _, r := range srv.requests("/static") {
		if r.Resource.Resource == "validatingwebhookconfigurations" {
			names = append(names, r.Name)
		}
	}
	if len(names) != 1 || names[0] != "ok-api" {
		t.Errorf("the static webhook saw the creation of webhook configurations %v", names)
	}
	_, err := vwcs.Create(ctx, apiWebhook("deny-api"), metav1.CreateOptions{})
	refused("a webhook configuration the static webhook refuses", err, `admission webhook "static.kapi.test" denied the request`)
	vap := staticPolicy("bad-")[0].(*admissionregistrationv1.ValidatingAdmissionPolicy)
	vap.Name = "bad-api"
	_, err = k.client.AdmissionregistrationV1().ValidatingAdmissionPolicies().Create(ctx, vap, metav1.CreateOptions{})
	refused("a policy the static policy refuses", err, `ValidatingAdmissionPolicy 'names.static.k8s.io' with binding 'names-binding.static.k8s.io' denied request: no bad- names`)
	// But not the virtual resources.
	if _, err := k.client.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{}); err != nil {
		t.Errorf("a SelfSubjectReview the static webhook would refuse: %v", err)
	}

	// A change of the files is taken; a bad one is not, and is counted.
	writeManifests(t, policies, "policy.yaml", staticPolicy("worse-")...)
	settle(t, "the policy's new version", func() bool {
		err := createCM("worse-" + time.Now().Format("150405.000000"))
		return err != nil && strings.Contains(err.Error(), "no worse- names")
	})
	if err := createCM("bad-2"); err != nil {
		t.Errorf("a name the policy no longer refuses: %v", err)
	}
	bad := staticPolicy("bad-")
	bad[0].(*admissionregistrationv1.ValidatingAdmissionPolicy).Name = "names"
	writeManifests(t, policies, "policy.yaml", bad...)
	failure := `apiserver_manifest_admission_config_controller_automatic_reloads_total{apiserver_id_hash="sha256:`
	settle(t, "the failed reload's metric", func() bool {
		raw, err := k.client.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
		if err != nil {
			return false
		}
		for _, line := range strings.Split(string(raw), "\n") {
			if strings.HasPrefix(line, failure) && strings.Contains(line, `plugin="ValidatingAdmissionPolicy",status="failure"`) {
				return true
			}
		}
		return false
	})
	refused("after a bad reload, the policy in force", createCM("worse-2"), "no worse- names")
	if err := createCM("bad-3"); err != nil {
		t.Errorf("after a bad reload, the bad policy: %v", err)
	}

	// A bad directory or manifest fails the start.
	goodPolicies := t.TempDir()
	writeManifests(t, goodPolicies, "policy.yaml", staticPolicy("bad-")...)
	service := staticWebhook("svc.static.k8s.io", admissionregistrationv1.WebhookClientConfig{
		Service: &admissionregistrationv1.ServiceReference{Namespace: "default", Name: "hook", Path: ptr("/static")}}, "static-adm")
	for _, c := range []struct {
		name    string
		webhook any
		dir     string
		want    string
	}{
		{name: "suffix", webhook: staticWebhook("deny", srv.clientConfig("/static"), "static-adm"),
			want: `failed to initialize admission plugin "ValidatingAdmissionWebhook": failed to load static webhook manifests from "DIR": error loading DIR/webhook.yaml: "deny" in file "DIR/webhook.yaml" must have a name ending with ".static.k8s.io"`},
		{name: "service", webhook: service,
			want: `failed to initialize admission plugin "ValidatingAdmissionWebhook": failed to load static webhook manifests from "DIR": error loading DIR/webhook.yaml: webhook "static.kapi.test" in "svc.static.k8s.io" (file "DIR/webhook.yaml"): clientConfig.service is not supported for static manifests; use clientConfig.url instead`},
		{name: "relative", dir: "static",
			want: `couldn't init admission plugin "ValidatingAdmissionWebhook": staticManifestsDir: Invalid value: "static": must be an absolute file path`},
		{name: "missing", dir: "/no/such/dir",
			want: `couldn't init admission plugin "ValidatingAdmissionWebhook": staticManifestsDir: Invalid value: "/no/such/dir": unable to read: stat /no/such/dir: no such file or directory`},
	} {
		dir := c.dir
		if dir == "" {
			dir = t.TempDir()
			writeManifests(t, dir, "webhook.yaml", c.webhook)
		}
		config := staticAdmissionConfig(t, dir, goodPolicies)
		t.Run(c.name, func(t *testing.T) {
			startRefused(t, strings.ReplaceAll(c.want, "DIR", dir), func(cfg *server.Config) { cfg.AdmissionControlConfigFile = config })
		})
	}
}
