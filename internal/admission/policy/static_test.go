package policy

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"kapi/internal/admission"
	"kapi/internal/admission/match"
	"kapi/internal/registry"
)

// staticVAP is a ValidatingAdmissionPolicy manifest refusing the
// creation of policies and ConfigMaps named "bad...", with its binding.
func staticVAP(name, binding string) string {
	return `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: ` + name + `
spec:
  matchConstraints:
    resourceRules:
    - operations: ["CREATE"]
      apiGroups: ["", "admissionregistration.k8s.io"]
      apiVersions: ["v1"]
      resources: ["configmaps", "validatingadmissionpolicies", "tokenreviews"]
  validations:
  - expression: "!object.metadata.name.startsWith('bad')"
    message: no bad names
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: ` + binding + `
spec:
  policyName: ` + name + `
  validationActions: ["Deny"]
`
}

// staticMAP is a MutatingAdmissionPolicy manifest with its binding.
const staticMAP = `apiVersion: admissionregistration.k8s.io/v1
kind: MutatingAdmissionPolicy
metadata:
  name: m.static.k8s.io
spec:
  matchConstraints:
    resourceRules:
    - operations: ["CREATE"]
      apiGroups: [""]
      apiVersions: ["v1"]
      resources: ["configmaps"]
  reinvocationPolicy: Never
  mutations:
  - patchType: ApplyConfiguration
    applyConfiguration:
      expression: "Object{metadata: Object.metadata{labels: {'static': 'yes'}}}"
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingAdmissionPolicyBinding
metadata:
  name: m.static.k8s.io
spec:
  policyName: m.static.k8s.io
`

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

// TestStaticPolicyManifests: what a policy plugin's staticManifestsDir
// may hold, and kube-apiserver's errors for what it may not (its
// loader's tests' cases).
func TestStaticPolicyManifests(t *testing.T) {
	good := staticVAP("p.static.k8s.io", "b.static.k8s.io")
	for _, c := range []struct {
		name     string
		mutating bool
		files    map[string]string
		want     string // the error, with DIR for the directory; or what loaded
	}{
		{name: "policies and bindings", files: map[string]string{
			"a.yaml": good,
			"b.yaml": staticVAP("o.static.k8s.io", "o.static.k8s.io"),
		}, want: "[o.static.k8s.io p.static.k8s.io] [b.static.k8s.io o.static.k8s.io]"},
		{name: "suffix of a policy", files: map[string]string{"a.yaml": staticVAP("p", "b.static.k8s.io")},
			want: `error loading DIR/a.yaml: "p" in file "DIR/a.yaml" must have a name ending with ".static.k8s.io"`},
		{name: "suffix of a binding", files: map[string]string{"a.yaml": staticVAP("p.static.k8s.io", "b")},
			want: `error loading DIR/a.yaml: "b" in file "DIR/a.yaml" must have a name ending with ".static.k8s.io"`},
		{name: "policy of the API", files: map[string]string{"a.yaml": strings.Replace(good, "policyName: p.static.k8s.io", "policyName: p", 1)},
			want: `error loading DIR/a.yaml: binding "b.static.k8s.io": spec.policyName "p" must end with ".static.k8s.io"`},
		{name: "policy elsewhere", files: map[string]string{"a.yaml": strings.Replace(good, "policyName: p.static.k8s.io", "policyName: q.static.k8s.io", 1)},
			want: `binding "b.static.k8s.io" references policy "q.static.k8s.io" which does not exist in the manifest directory`},
		{name: "paramKind", files: map[string]string{"a.yaml": strings.Replace(good, "spec:\n  matchConstraints", "spec:\n  paramKind:\n    apiVersion: v1\n    kind: ConfigMap\n  matchConstraints", 1)},
			want: `error loading DIR/a.yaml: ValidatingAdmissionPolicy "p.static.k8s.io": spec.paramKind is not supported for static manifests`},
		{name: "paramRef", files: map[string]string{"a.yaml": strings.Replace(good, `validationActions: ["Deny"]`, "validationActions: [\"Deny\"]\n  paramRef:\n    name: x\n    parameterNotFoundAction: Deny", 1)},
			want: `error loading DIR/a.yaml: binding "b.static.k8s.io": spec.paramRef is not supported for static manifests`},
		{name: "duplicate", files: map[string]string{"a.yaml": good, "b.yaml": staticVAP("p.static.k8s.io", "c.static.k8s.io")},
			want: `error loading DIR/b.yaml: duplicate name "p.static.k8s.io" found in file "DIR/b.yaml" (previously seen in "DIR/a.yaml")`},
		{name: "the API's validation", files: map[string]string{"a.yaml": strings.Replace(good, `validationActions: ["Deny"]`, "validationActions: []", 1)},
			want: `error loading DIR/a.yaml: ValidatingAdmissionPolicyBinding "b.static.k8s.io": spec.validationActions: Required value`},
		{name: "mutating", mutating: true, files: map[string]string{"a.yaml": staticMAP}, want: "[m.static.k8s.io] [m.static.k8s.io]"},
		{name: "the other plugin's kind", mutating: true, files: map[string]string{"a.yaml": good},
			want: `error loading DIR/a.yaml: unsupported resource type *v1.ValidatingAdmissionPolicy`},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := writeFiles(t, c.files)
			policies, bindings, _, err := readStatic(dir, c.mutating)
			got := fmt.Sprint(names(policies), " ", names(bindings))
			if err != nil {
				got = strings.ReplaceAll(err.Error(), dir, "DIR")
			}
			if !strings.HasPrefix(got, c.want) {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
		})
	}
}

// TestStaticMutatingPolicies: the mutating plugin publishes its static
// policies beside those of the API.
func TestStaticMutatingPolicies(t *testing.T) {
	m := NewMutating(Deps{})
	_, publish, err := m.LoadStatic(writeFiles(t, map[string]string{"a.yaml": staticMAP}))
	if err != nil {
		t.Fatal(err)
	}
	if err := publish(); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range match.InForce(match.ReachOf(&admission.Attributes{Resource: configMaps}, true), *m.static.Load(), *m.current.Load()) {
		got = append(got, p.policy.Name)
	}
	if fmt.Sprint(got) != "[m.static.k8s.io]" {
		t.Errorf("static mutating policies: %v", got)
	}
}

func names(objs []runtime.Object) []string {
	var out []string
	for _, o := range objs {
		out = append(out, o.(metav1.Object).GetName())
	}
	return out
}

var (
	configMaps     = &registry.Resource{Version: "v1", Name: "configmaps", Kind: "ConfigMap", Namespaced: true}
	policies       = &registry.Resource{Group: "admissionregistration.k8s.io", Version: "v1", Name: "validatingadmissionpolicies", Kind: "ValidatingAdmissionPolicy"}
	webhookConfigs = &registry.Resource{Group: "admissionregistration.k8s.io", Version: "v1", Name: "validatingwebhookconfigurations", Kind: "ValidatingWebhookConfiguration"}
	reviews        = &registry.Resource{Group: "authentication.k8s.io", Version: "v1", Name: "tokenreviews", Kind: "TokenReview"}
)

// TestStaticPoliciesSee: static policies come first, and see the writes
// of admission policies, which the API's do not; no policy sees the
// virtual resources. A static policy refuses as any other.
func TestStaticPoliciesSee(t *testing.T) {
	v := NewValidating(Deps{})
	_, publish, err := v.LoadStatic(writeFiles(t, map[string]string{"a.yaml": staticVAP("z.static.k8s.io", "z.static.k8s.io")}))
	if err != nil {
		t.Fatal(err)
	}
	if err := publish(); err != nil {
		t.Fatal(err)
	}
	api := &admissionregistrationv1.ValidatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: "a-api"}}
	apiBinding := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: "a-api"},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: "a-api", ValidationActions: []admissionregistrationv1.ValidationAction{"Deny"}}}
	v.LoadPolicies([]runtime.Object{api})
	v.LoadBindings([]runtime.Object{apiBinding})
	for _, c := range []struct {
		res  *registry.Resource
		want string
	}{
		{configMaps, "[z.static.k8s.io a-api]"},
		{policies, "[z.static.k8s.io]"},
		{webhookConfigs, "[z.static.k8s.io a-api]"}, // API policies see webhook configurations, as kube's
		{reviews, "[]"},
	} {
		var got []string
		for _, p := range match.InForce(match.ReachOf(&admission.Attributes{Resource: c.res}, true), *v.static.Load(), *v.current.Load()) {
			got = append(got, p.policy.Name)
		}
		if fmt.Sprint(got) != c.want {
			t.Errorf("%s: %v, want %s", c.res.Name, got, c.want)
		}
	}
	write := func(name string) error { return createPolicy(v, name) }
	if err := write("good"); err != nil {
		t.Errorf("a good policy: %v", err)
	}
	want := `validatingadmissionpolicies.admissionregistration.k8s.io "bad" is forbidden: ValidatingAdmissionPolicy 'z.static.k8s.io' with binding 'z.static.k8s.io' denied request: no bad names`
	if err := write("bad"); err == nil || err.Error() != want {
		t.Errorf("a bad policy: %v", err)
	}
}

// createPolicy validates the creation of a ValidatingAdmissionPolicy
// named name (a cluster-scoped object, no namespace to read).
func createPolicy(v *Validating, name string) error {
	return v.Validate(context.Background(), &admission.Attributes{Operation: admission.Create, Resource: policies, Kind: policies.GVK(), Name: name,
		Object: &admissionregistrationv1.ValidatingAdmissionPolicy{TypeMeta: metav1.TypeMeta{APIVersion: "admissionregistration.k8s.io/v1", Kind: "ValidatingAdmissionPolicy"},
			ObjectMeta: metav1.ObjectMeta{Name: name}}})
}
