package webhook

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"kapi/internal/admission"
	"kapi/internal/admission/manifest"
	"kapi/internal/registry"
)

// staticVWC is a ValidatingWebhookConfiguration manifest: one webhook by
// URL on ConfigMaps and on ValidatingWebhookConfigurations.
func staticVWC(name, webhook string) string {
	return `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: ` + name + `
webhooks:
- name: ` + webhook + `
  clientConfig:
    url: https://127.0.0.1:1/validate
  rules:
  - operations: ["CREATE"]
    apiGroups: ["", "admissionregistration.k8s.io", "authentication.k8s.io"]
    apiVersions: ["v1"]
    resources: ["configmaps", "validatingwebhookconfigurations", "tokenreviews"]
  sideEffects: None
  admissionReviewVersions: ["v1"]
`
}

// writeFiles writes files (name: content) into a new directory.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestStaticWebhookManifests: what a staticManifestsDir may hold, and
// kube-apiserver's errors for what it may not (its loader's tests' cases).
func TestStaticWebhookManifests(t *testing.T) {
	list := `{"apiVersion": "v1", "kind": "List", "items": [
	  {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration", "metadata": {"name": "c-list.static.k8s.io"},
	   "webhooks": [{"name": "c.kapi.test", "clientConfig": {"url": "https://127.0.0.1:1/c"}, "sideEffects": "None", "admissionReviewVersions": ["v1"]}]}]}`
	typedList := `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfigurationList
items:
- metadata:
    name: d-typed.static.k8s.io
  webhooks:
  - name: d.kapi.test
    clientConfig:
      url: https://127.0.0.1:1/d
    sideEffects: None
    admissionReviewVersions: ["v1"]
`
	service := strings.Replace(staticVWC("svc.static.k8s.io", "svc.kapi.test"), "url: https://127.0.0.1:1/validate",
		"service:\n      namespace: default\n      name: hook", 1)
	for _, c := range []struct {
		name     string
		mutating bool
		files    map[string]string
		want     string // the error, with DIR for the directory; or the names loaded
	}{
		{name: "empty", files: map[string]string{}, want: "[]"},
		{name: "documents, lists and other files", files: map[string]string{
			"b.yaml":     staticVWC("b.static.k8s.io", "b.kapi.test") + "---\n" + staticVWC("a.static.k8s.io", "a.kapi.test"),
			"c.json":     list,
			"d.yml":      typedList,
			"notes.txt":  "not a manifest",
			"empty.yaml": "",
		}, want: "[a.static.k8s.io b.static.k8s.io c-list.static.k8s.io d-typed.static.k8s.io]"},
		{name: "suffix", files: map[string]string{"a.yaml": staticVWC("no-suffix", "a.kapi.test")},
			want: `error loading DIR/a.yaml: "no-suffix" in file "DIR/a.yaml" must have a name ending with ".static.k8s.io"`},
		{name: "service", files: map[string]string{"a.yaml": service},
			want: `error loading DIR/a.yaml: webhook "svc.kapi.test" in "svc.static.k8s.io" (file "DIR/a.yaml"): clientConfig.service is not supported for static manifests; use clientConfig.url instead`},
		{name: "duplicate", files: map[string]string{"a.yaml": staticVWC("x.static.k8s.io", "a.kapi.test"), "b.yaml": staticVWC("x.static.k8s.io", "b.kapi.test")},
			want: `error loading DIR/b.yaml: duplicate name "x.static.k8s.io" found in file "DIR/b.yaml" (previously seen in "DIR/a.yaml")`},
		{name: "the API's validation", files: map[string]string{"a.yaml": strings.Replace(staticVWC("a.static.k8s.io", "a.kapi.test"), "  sideEffects: None\n", "", 1)},
			want: `error loading DIR/a.yaml: ValidatingWebhookConfiguration "a.static.k8s.io": webhooks[0].sideEffects: Required value: must specify one of None, NoneOnDryRun`},
		{name: "the other plugin's kind", mutating: true, files: map[string]string{"a.yaml": staticVWC("a.static.k8s.io", "a.kapi.test")},
			want: `error loading DIR/a.yaml: unsupported resource type *v1.ValidatingWebhookConfiguration`},
		{name: "another version", files: map[string]string{"a.yaml": strings.Replace(staticVWC("a.static.k8s.io", "a.kapi.test"), "/v1\n", "/v1beta1\n", 1)},
			want: `error loading DIR/a.yaml: unsupported resource type *v1beta1.ValidatingWebhookConfiguration`},
		{name: "strict", files: map[string]string{"a.yaml": staticVWC("a.static.k8s.io", "a.kapi.test") + "unknownField: 1\n"},
			want: `error loading DIR/a.yaml: strict decoding error: unknown field "unknownField"`},
		{name: "not admission", files: map[string]string{"a.yaml": "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n"},
			want: `error loading DIR/a.yaml: no kind "Pod" is registered for version "v1"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := writeFiles(t, c.files)
			h := newHooks(c.mutating, Deps{})
			hash, publish, err := h.LoadStatic(dir)
			got := ""
			if err != nil {
				got = strings.ReplaceAll(err.Error(), dir, "DIR")
			} else {
				if err := publish(); err != nil {
					t.Fatal(err)
				}
				var names []string
				for _, k := range h.static.Load().hooks {
					names = append(names, k.config)
				}
				got = fmt.Sprint(names)
				if (len(c.files) == 0) != (hash == "") || (hash != "" && !strings.HasPrefix(hash, "sha256:")) {
					t.Errorf("hash %q", hash)
				}
			}
			if !strings.HasPrefix(got, c.want) {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
		})
	}
	if _, _, err := newHooks(false, Deps{}).LoadStatic("/no/such/dir"); err == nil || !strings.HasPrefix(err.Error(), `failed to read manifest directory "/no/such/dir"`) {
		t.Errorf("a missing directory: %v", err)
	}
}

var (
	webhookConfigs = &registry.Resource{Group: "admissionregistration.k8s.io", Version: "v1", Name: "validatingwebhookconfigurations", Kind: "ValidatingWebhookConfiguration"}
	tokenReviews   = &registry.Resource{Group: "authentication.k8s.io", Version: "v1", Name: "tokenreviews", Kind: "TokenReview"}
)

// TestStaticWebhooksSee: the static hooks come first, and see the writes
// of admission configuration objects, which the API's do not; no hook
// sees the virtual resources.
func TestStaticWebhooksSee(t *testing.T) {
	v := NewValidating(Deps{})
	dir := writeFiles(t, map[string]string{"a.yaml": staticVWC("z.static.k8s.io", "static.kapi.test")})
	_, publish, err := v.LoadStatic(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := publish(); err != nil {
		t.Fatal(err)
	}
	api := strings.NewReplacer("z.static.k8s.io", "a-api", "static.kapi.test", "api.kapi.test").Replace(staticVWC("z.static.k8s.io", "static.kapi.test"))
	obj := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	if err := yaml.UnmarshalStrict([]byte(api), obj); err != nil {
		t.Fatal(err)
	}
	if err := manifest.DefaultAndValidate(obj); err != nil {
		t.Fatal(err)
	}
	v.Load([]runtime.Object{obj})
	seen := func(res *registry.Resource) string {
		var out []string
		for _, c := range v.candidatesFor(&admission.Attributes{Operation: admission.Create, Resource: res, Kind: res.GVK(), Name: "x",
			Object: &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x"}}}) {
			out = append(out, c.h.name)
		}
		return fmt.Sprint(out)
	}
	for _, c := range []struct {
		res  *registry.Resource
		want string
	}{
		{configMaps, "[static.kapi.test api.kapi.test]"},
		{webhookConfigs, "[static.kapi.test]"},
		{tokenReviews, "[]"},
	} {
		if got := seen(c.res); got != c.want {
			t.Errorf("%s: %s, want %s", c.res.Name, got, c.want)
		}
	}
	// With ExcludeAdmissionWebhookVirtualResources off, every hook sees
	// the reviews, as kube's before the gate.
	v.deps.SeeVirtualResources = true
	if got := seen(tokenReviews); got != "[static.kapi.test api.kapi.test]" {
		t.Errorf("tokenreviews with the virtual resources seen: %s", got)
	}
}

// TestStaticReload: a reload takes the directory's new content; one that
// fails keeps the set in force (the reload loop and its metrics are
// manifest's, tested there).
func TestStaticReload(t *testing.T) {
	v := NewValidating(Deps{})
	dir := writeFiles(t, map[string]string{"a.yaml": staticVWC("a.static.k8s.io", "first.kapi.test")})
	m := &manifest.Manifests{Plugin: "ValidatingAdmissionWebhook", Kind: "webhook", Dir: dir, ServerID: "reload-test", Load: v.LoadStatic}
	names := func() string {
		var out []string
		for _, k := range v.static.Load().hooks {
			out = append(out, k.name)
		}
		return fmt.Sprint(out)
	}
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	write := func(content string) {
		if err := os.WriteFile(filepath.Join(dir, "a.yaml"), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(staticVWC("a-no-suffix", "second.kapi.test"))
	m.Reload()
	if got := names(); got != "[first.kapi.test]" {
		t.Errorf("after a bad reload: %s", got)
	}
	write(staticVWC("a.static.k8s.io", "second.kapi.test"))
	m.Reload()
	if got := names(); got != "[second.kapi.test]" {
		t.Errorf("after a good reload: %s", got)
	}
	m2 := &manifest.Manifests{Plugin: "ValidatingAdmissionWebhook", Kind: "webhook", Dir: writeFiles(t, map[string]string{"a.yaml": staticVWC("b", "b.kapi.test")}), Load: v.LoadStatic}
	if err := m2.Start(); err == nil || !strings.HasPrefix(err.Error(), `failed to load static webhook manifests from "`+m2.Dir+`": error loading `) {
		t.Errorf("a bad start: %v", err)
	}
}
