package webhook

import (
	"context"
	"fmt"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"kapi/internal/admission"
	"kapi/internal/registry"
)

// configs are n validating configurations whose rules name other groups.
func unmatchedConfigs(n int) []runtime.Object {
	none := admissionregistrationv1.SideEffectClassNone
	url := "https://127.0.0.1:1/x"
	var out []runtime.Object
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("c%d.kapi.test", i)
		out = append(out, &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: name},
			Webhooks: []admissionregistrationv1.ValidatingWebhook{{Name: name, SideEffects: &none, AdmissionReviewVersions: []string{"v1"},
				ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: &url},
				Rules: []admissionregistrationv1.RuleWithOperations{{Operations: []admissionregistrationv1.OperationType{"*"},
					Rule: admissionregistrationv1.Rule{APIGroups: []string{fmt.Sprintf("g%d.kapi.test", i)}, APIVersions: []string{"*"}, Resources: []string{"*"}}}}}}})
	}
	return out
}

var configMaps = &registry.Resource{Version: "v1", Name: "configmaps", Kind: "ConfigMap", Namespaced: true}

// BenchmarkValidateUnmatched: what a write pays for webhooks that do not
// name its resource, by how many there are. The candidates of a resource
// are worked out once per set of configurations: the cost does not grow
// with their number.
func BenchmarkValidateUnmatched(b *testing.B) {
	for _, n := range []int{0, 100, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			v := NewValidating(Deps{})
			v.Load(unmatchedConfigs(n))
			a := &admission.Attributes{Operation: admission.Create, Resource: configMaps, Kind: configMaps.GVK(), Namespace: "default", Name: "x",
				Object: &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: "default"}}}
			ctx := context.Background()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := v.Validate(ctx, a); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// TestCandidates: a rule names a resource by group, version and resource,
// with kube's wildcards; the candidates of a resource are cached per set.
func TestCandidates(t *testing.T) {
	none := admissionregistrationv1.SideEffectClassNone
	url := "https://127.0.0.1:1/x"
	hook := func(name string, resources ...string) *admissionregistrationv1.ValidatingWebhookConfiguration {
		return &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: name},
			Webhooks: []admissionregistrationv1.ValidatingWebhook{{Name: name, SideEffects: &none, ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: &url},
				Rules: []admissionregistrationv1.RuleWithOperations{{Operations: []admissionregistrationv1.OperationType{"*"},
					Rule: admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: resources}}}}}}
	}
	v := NewValidating(Deps{})
	v.Load([]runtime.Object{hook("a-all", "*"), hook("b-status", "*/status"), hook("c-pods-any", "pods/*"), hook("d-every", "*/*"), hook("e-cm", "configmaps")})
	pods := &registry.Resource{Version: "v1", Name: "pods", Kind: "Pod", Namespaced: true}
	names := func(res *registry.Resource, sub string) string {
		var out []string
		for _, c := range v.candidates(v.current.Load(), res, sub) {
			out = append(out, c.h.name)
		}
		return fmt.Sprint(out)
	}
	for _, c := range []struct {
		res  *registry.Resource
		sub  string
		want string
	}{
		{pods, "", "[a-all c-pods-any d-every]"},
		{pods, "status", "[b-status c-pods-any d-every]"},
		{configMaps, "", "[a-all d-every e-cm]"},
		{configMaps, "status", "[b-status d-every]"},
	} {
		if got := names(c.res, c.sub); got != c.want {
			t.Errorf("%s/%s: %s, want %s", c.res.Name, c.sub, got, c.want)
		}
	}
}

// TestDryRunSideEffects: a dry run that reaches a webhook whose side
// effects are not None or NoneOnDryRun is refused before the call, with
// kube-apiserver's message (v1 configurations cannot say so any more;
// stored ones from older versions could).
func TestDryRunSideEffects(t *testing.T) {
	some := admissionregistrationv1.SideEffectClassSome
	url := "https://127.0.0.1:1/x"
	rules := []admissionregistrationv1.RuleWithOperations{{Operations: []admissionregistrationv1.OperationType{"*"},
		Rule: admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"}}}}
	v := NewValidating(Deps{})
	v.Load([]runtime.Object{&admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "side.kapi.test"},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{Name: "side.kapi.test", SideEffects: &some, Rules: rules,
			ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: &url}}}}})
	m := NewMutating(Deps{})
	m.Load([]runtime.Object{&admissionregistrationv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "side.kapi.test"},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{Name: "side.kapi.test", SideEffects: &some, Rules: rules,
			ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: &url}}}}})
	a := func() *admission.Attributes {
		return &admission.Attributes{Operation: admission.Create, Resource: configMaps, Kind: configMaps.GVK(), Namespace: "default", Name: "x", DryRun: true,
			Object: &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: "default"}}}
	}
	for name, err := range map[string]error{"validating": v.Validate(context.Background(), a()), "mutating": m.Admit(context.Background(), a())} {
		if err == nil || err.Error() != `admission webhook "side.kapi.test" does not support dry run` {
			t.Errorf("%s: %v", name, err)
		}
	}
}
