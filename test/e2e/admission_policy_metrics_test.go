package e2e

import (
	"context"
	"fmt"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestAdmissionPolicyMetrics: /metrics has kube's series of the
// admission policies' checks (apiserver_validating_admission_policy_*,
// apiserver_mutating_admission_policy_*), counted as kube's dispatchers
// count them, and CEL's (apiserver_cel_*) of a CRD's validation rules.
// The policy names are this test's own: the series are the process's,
// and other tests' kapis run in it.
func TestAdmissionPolicyMetrics(t *testing.T) {
	t.Parallel()
	k := startKapi(t)
	ctx := context.Background()
	e := &webhookEnv{t: t, k: k}
	e.namespace(t, "pmetrics")
	vaps := k.client.AdmissionregistrationV1().ValidatingAdmissionPolicies()
	vapBindings := k.client.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings()
	vap := func(name string, failurePolicy admissionregistrationv1.FailurePolicyType, expression string, bindings map[string][]admissionregistrationv1.ValidationAction) {
		t.Helper()
		if _, err := vaps.Create(ctx, &admissionregistrationv1.ValidatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{FailurePolicy: &failurePolicy, MatchConstraints: deploymentRules(),
				Validations: []admissionregistrationv1.Validation{{Expression: expression, Message: "too many replicas"}}}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		for b, actions := range bindings {
			if _, err := vapBindings.Create(ctx, &admissionregistrationv1.ValidatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: b},
				Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: name, ValidationActions: actions,
					MatchResources: &admissionregistrationv1.MatchResources{NamespaceSelector: inNamespace("pmetrics")}}}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// An error at run time (a label the Deployments do not have), let
	// through by failurePolicy Ignore: counted as "allow".
	vap("pm-broken", admissionregistrationv1.Ignore, `object.metadata.labels["missing"] == "x"`,
		map[string][]admissionregistrationv1.ValidationAction{"pm-broken": {admissionregistrationv1.Deny}})
	vap("pm-limit", admissionregistrationv1.Fail, `object.spec.replicas <= 3`, map[string][]admissionregistrationv1.ValidationAction{
		"pm-limit-warn": {admissionregistrationv1.Warn, admissionregistrationv1.Audit},
		"pm-limit-deny": {admissionregistrationv1.Deny}})
	if _, err := k.client.AdmissionregistrationV1().MutatingAdmissionPolicies().Create(ctx, &admissionregistrationv1.MutatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "pm-label"},
		Spec: admissionregistrationv1.MutatingAdmissionPolicySpec{MatchConstraints: deploymentRules(), ReinvocationPolicy: admissionregistrationv1.NeverReinvocationPolicy,
			Mutations: []admissionregistrationv1.Mutation{{PatchType: admissionregistrationv1.PatchTypeApplyConfiguration,
				ApplyConfiguration: &admissionregistrationv1.ApplyConfiguration{Expression: `Object{metadata: Object.metadata{labels: {"checked": "yes"}}}`}}}}},
		metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := k.client.AdmissionregistrationV1().MutatingAdmissionPolicyBindings().Create(ctx, &admissionregistrationv1.MutatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "pm-label-binding"},
		Spec: admissionregistrationv1.MutatingAdmissionPolicyBindingSpec{PolicyName: "pm-label",
			MatchResources: &admissionregistrationv1.MatchResources{NamespaceSelector: inNamespace("pmetrics")}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	deps := k.client.AppsV1().Deployments("pmetrics")
	settle(t, "the policies", func() bool {
		deps.Delete(ctx, "probe", metav1.DeleteOptions{})
		_, errBig := deps.Create(ctx, deployment("probe-big", 5, nil), metav1.CreateOptions{})
		d, err := deps.Create(ctx, deployment("probe", 1, nil), metav1.CreateOptions{})
		return apierrors.IsInvalid(errBig) && err == nil && d.Labels["checked"] == "yes"
	})

	// The series, before and after one Deployment refused and one let in.
	series := map[string]string{
		"deny":     `apiserver_validating_admission_policy_check_%s{enforcement_action="deny",error_type="invalid_error",policy="pm-limit",policy_binding="pm-limit-deny"}`,
		"warn":     `apiserver_validating_admission_policy_check_%s{enforcement_action="warn",error_type="invalid_error",policy="pm-limit",policy_binding="pm-limit-warn"}`,
		"audit":    `apiserver_validating_admission_policy_check_%s{enforcement_action="audit",error_type="invalid_error",policy="pm-limit",policy_binding="pm-limit-warn"}`,
		"allow":    `apiserver_validating_admission_policy_check_%s{enforcement_action="allow",error_type="invalid_error",policy="pm-broken",policy_binding="pm-broken"}`,
		"mutation": `apiserver_mutating_admission_policy_check_%s{error_type="no_error",policy="pm-label",policy_binding="pm-label-binding"}`,
	}
	read := func() map[string]float64 {
		t.Helper()
		out := map[string]float64{}
		for s, pattern := range series {
			for _, suffix := range []string{"total", "duration_seconds_count"} {
				name := fmt.Sprintf(pattern, suffix)
				v, err := metricSeries(ctx, k.client, name)
				if err != nil {
					t.Fatal(err)
				}
				out[s+" "+suffix] = v
			}
		}
		return out
	}
	before := read()
	if _, err := deps.Create(ctx, deployment("big", 5, nil), metav1.CreateOptions{}); !apierrors.IsInvalid(err) {
		t.Fatalf("5 replicas: %v", err)
	}
	if _, err := deps.Create(ctx, deployment("small", 1, nil), metav1.CreateOptions{}); err != nil {
		t.Fatalf("1 replica: %v", err)
	}
	after := read()
	want := map[string]float64{"deny": 1, "warn": 1, "audit": 1, "allow": 2, "mutation": 2}
	for s, n := range want {
		for _, suffix := range []string{"total", "duration_seconds_count"} {
			key := s + " " + suffix
			if after[key]-before[key] != n || before[key] < 0 {
				t.Errorf("%s: %v -> %v, want %v more", fmt.Sprintf(series[s], suffix), before[key], after[key], n)
			}
		}
	}

	// CEL's timings of a CRD's validation rules.
	crd := k.createCRD(t, &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "gauges.pmetrics.kapi.test"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{Group: "pmetrics.kapi.test", Scope: apiextensionsv1.NamespaceScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "gauges", Singular: "gauge", Kind: "Gauge", ListKind: "GaugeList"},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{Name: "v1", Served: true, Storage: true, Schema: &apiextensionsv1.CustomResourceValidation{
				OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{
					"spec": {Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{"size": {Type: "integer"}},
						XValidations: apiextensionsv1.ValidationRules{{Rule: "self.size <= 10", Message: "size at most 10"}}}}}}}}},
	})
	gauges := k.crs(crd, "v1", "pmetrics")
	gauge := func(name string, size int64) error {
		_, err := gauges.Create(ctx, &unstructured.Unstructured{Object: map[string]any{"apiVersion": "pmetrics.kapi.test/v1", "kind": "Gauge",
			"metadata": map[string]any{"name": name}, "spec": map[string]any{"size": size}}}, metav1.CreateOptions{})
		return err
	}
	if err := gauge("big", 20); !apierrors.IsInvalid(err) {
		t.Fatalf("a gauge the rule refuses: %v", err)
	}
	if err := gauge("small", 2); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"apiserver_cel_compilation_duration_seconds_count", "apiserver_cel_evaluation_duration_seconds_count"} {
		if v, err := metricSeries(ctx, k.client, name); err != nil || v < 1 {
			t.Errorf("%s = %v, %v", name, v, err)
		}
	}
}
