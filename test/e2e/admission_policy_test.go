package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func deployment(name string, replicas int32, labels map[string]string) *appsv1.Deployment {
	sel := map[string]string{"app": name}
	return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: appsv1.DeploymentSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: sel},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: sel},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx"}}}}}}
}

func deploymentRules() *admissionregistrationv1.MatchResources {
	return &admissionregistrationv1.MatchResources{ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
		RuleWithOperations: admissionregistrationv1.RuleWithOperations{
			Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
			Rule:       admissionregistrationv1.Rule{APIGroups: []string{"apps"}, APIVersions: []string{"v1"}, Resources: []string{"deployments"}}}}}}
}

// TestValidatingAdmissionPolicy: CEL validations with messages, reasons,
// variables and matchConditions; parameters from a ConfigMap (by name, in
// the request's namespace) and from a custom resource (by selector);
// parameterNotFoundAction; the Deny, Warn and Audit actions; a policy
// whose CEL does not compile.
func TestValidatingAdmissionPolicy(t *testing.T) {
	k := startKapi(t)
	ctx := context.Background()
	e := &webhookEnv{t: t, k: k}
	pols := k.client.AdmissionregistrationV1().ValidatingAdmissionPolicies()
	binds := k.client.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings()

	t.Run("params from a ConfigMap", func(t *testing.T) {
		e.namespace(t, "vap-cm")
		if _, err := k.client.CoreV1().ConfigMaps("vap-cm").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "limits"},
			Data: map[string]string{"maxReplicas": "3"}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := pols.Create(ctx, &admissionregistrationv1.ValidatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: "max-replicas"},
			Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
				ParamKind:        &admissionregistrationv1.ParamKind{APIVersion: "v1", Kind: "ConfigMap"},
				MatchConstraints: deploymentRules(),
				MatchConditions:  []admissionregistrationv1.MatchCondition{{Name: "not-exempt", Expression: `!has(object.metadata.labels) || !("exempt" in object.metadata.labels)`}},
				Variables:        []admissionregistrationv1.Variable{{Name: "max", Expression: `int(params.data.maxReplicas)`}},
				Validations: []admissionregistrationv1.Validation{
					{Expression: `object.spec.replicas <= variables.max`, MessageExpression: `"replicas must be at most " + string(variables.max) + ", not " + string(object.spec.replicas)`,
						Reason: ptr(metav1.StatusReasonForbidden)},
					{Expression: `object.metadata.name != "bad"`, Message: "the name bad is taken"},
				},
				AuditAnnotations: []admissionregistrationv1.AuditAnnotation{{Key: "replicas", ValueExpression: `string(object.spec.replicas)`}},
			}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pols.Delete(ctx, "max-replicas", metav1.DeleteOptions{}) })
		if _, err := binds.Create(ctx, &admissionregistrationv1.ValidatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: "max-replicas-vap-cm"},
			Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: "max-replicas",
				ParamRef:          &admissionregistrationv1.ParamRef{Name: "limits", ParameterNotFoundAction: ptr(admissionregistrationv1.DenyAction)},
				MatchResources:    &admissionregistrationv1.MatchResources{NamespaceSelector: inNamespace("vap-cm")},
				ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny}}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { binds.Delete(ctx, "max-replicas-vap-cm", metav1.DeleteOptions{}) })
		deps := k.client.AppsV1().Deployments("vap-cm")
		var err error
		settle(t, "the policy", func() bool {
			deps.Delete(ctx, "big", metav1.DeleteOptions{})
			_, err = deps.Create(ctx, deployment("big", 5, nil), metav1.CreateOptions{})
			return err != nil
		})
		want := `deployments.apps "big" is forbidden: ValidatingAdmissionPolicy 'max-replicas' with binding 'max-replicas-vap-cm' denied request: replicas must be at most 3, not 5`
		if !apierrors.IsForbidden(err) || err.Error() != want {
			t.Fatalf("got %v\nwant %s", err, want)
		}
		if _, err := deps.Create(ctx, deployment("bad", 1, nil), metav1.CreateOptions{}); !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "the name bad is taken") {
			t.Fatalf("a validation without a reason is Invalid: %v", err)
		}
		if _, err := deps.Create(ctx, deployment("small", 2, nil), metav1.CreateOptions{}); err != nil {
			t.Fatalf("a deployment within the limit: %v", err)
		}
		if _, err := deps.Create(ctx, deployment("exempt", 9, map[string]string{"exempt": ""}), metav1.CreateOptions{}); err != nil {
			t.Fatalf("matchConditions exempt it: %v", err)
		}
		// Updates are validated too.
		d, _ := deps.Get(ctx, "small", metav1.GetOptions{})
		d.Spec.Replicas = ptr(int32(4))
		if _, err := deps.Update(ctx, d, metav1.UpdateOptions{}); !apierrors.IsForbidden(err) {
			t.Fatalf("update beyond the limit: %v", err)
		}
		// The parameter gone: the binding's Deny action for a missing one.
		k.client.CoreV1().ConfigMaps("vap-cm").Delete(ctx, "limits", metav1.DeleteOptions{})
		settle(t, "the missing parameter", func() bool {
			deps.Delete(ctx, "tiny", metav1.DeleteOptions{})
			_, err = deps.Create(ctx, deployment("tiny", 1, nil), metav1.CreateOptions{})
			return err != nil
		})
		if !strings.Contains(err.Error(), "no params found for policy binding with `Deny` parameterNotFoundAction") {
			t.Fatalf("missing parameter: %v", err)
		}
	})

	t.Run("params from a custom resource, warn and audit", func(t *testing.T) {
		e.namespace(t, "vap-cr")
		crd := k.createCRD(t, &apiextensionsv1.CustomResourceDefinition{
			ObjectMeta: metav1.ObjectMeta{Name: "rules.policy.kapi.test"},
			Spec: apiextensionsv1.CustomResourceDefinitionSpec{Group: "policy.kapi.test", Scope: apiextensionsv1.ClusterScoped,
				Names:    apiextensionsv1.CustomResourceDefinitionNames{Plural: "rules", Singular: "rule", Kind: "Rule", ListKind: "RuleList"},
				Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{Name: "v1", Served: true, Storage: true, Schema: openSchema()}}},
		})
		rules := k.crs(crd, "v1", "")
		for _, r := range []struct{ name, forbidden string }{{"r1", "latest"}, {"r2", "dev"}} {
			if _, err := rules.Create(ctx, &unstructured.Unstructured{Object: map[string]any{"apiVersion": "policy.kapi.test/v1", "kind": "Rule",
				"metadata": map[string]any{"name": r.name, "labels": map[string]any{"set": "images"}}, "forbiddenTag": r.forbidden}}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := pols.Create(ctx, &admissionregistrationv1.ValidatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: "image-tags"},
			Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
				ParamKind:        &admissionregistrationv1.ParamKind{APIVersion: "policy.kapi.test/v1", Kind: "Rule"},
				MatchConstraints: deploymentRules(),
				Validations: []admissionregistrationv1.Validation{{
					Expression:        `object.spec.template.spec.containers.all(c, !c.image.endsWith(":" + params.forbiddenTag))`,
					MessageExpression: `"tag " + params.forbiddenTag + " is not allowed"`}},
			}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pols.Delete(ctx, "image-tags", metav1.DeleteOptions{}) })
		if _, err := binds.Create(ctx, &admissionregistrationv1.ValidatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: "image-tags-warn"},
			Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: "image-tags",
				ParamRef:          &admissionregistrationv1.ParamRef{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"set": "images"}}, ParameterNotFoundAction: ptr(admissionregistrationv1.AllowAction)},
				MatchResources:    &admissionregistrationv1.MatchResources{NamespaceSelector: inNamespace("vap-cr")},
				ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Warn, admissionregistrationv1.Audit}}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { binds.Delete(ctx, "image-tags-warn", metav1.DeleteOptions{}) })
		d := deployment("tagged", 1, nil)
		d.Spec.Template.Spec.Containers[0].Image = "nginx:dev"
		d.TypeMeta = metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"}
		body, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		var warnings string
		settle(t, "the warning policy", func() bool {
			k.client.AppsV1().Deployments("vap-cr").Delete(ctx, "tagged", metav1.DeleteOptions{})
			code, hdr, _ := k.request(t, "POST", "/apis/apps/v1/namespaces/vap-cr/deployments", "application/json", body)
			warnings = strings.Join(hdr.Values("Warning"), ";")
			return code == 201 && warnings != ""
		})
		if !strings.Contains(warnings, `Validation failed for ValidatingAdmissionPolicy 'image-tags' with binding 'image-tags-warn': tag dev is not allowed`) ||
			strings.Contains(warnings, "tag latest") {
			t.Fatalf("warnings: %s", warnings)
		}
	})

	t.Run("failure policy", func(t *testing.T) {
		e.namespace(t, "vap-fail")
		for _, fp := range []admissionregistrationv1.FailurePolicyType{admissionregistrationv1.Fail, admissionregistrationv1.Ignore} {
			name := "unknown-params-" + strings.ToLower(string(fp))
			if _, err := pols.Create(ctx, &admissionregistrationv1.ValidatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: name},
				Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{FailurePolicy: ptr(fp),
					ParamKind:        &admissionregistrationv1.ParamKind{APIVersion: "nowhere.kapi.test/v1", Kind: "Nothing"},
					MatchConstraints: deploymentRules(), Validations: []admissionregistrationv1.Validation{{Expression: `true`}}}}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { pols.Delete(ctx, name, metav1.DeleteOptions{}) })
			sel := &metav1.LabelSelector{MatchLabels: map[string]string{"policy": string(fp)}}
			if _, err := binds.Create(ctx, &admissionregistrationv1.ValidatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
				Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: name,
					ParamRef:          &admissionregistrationv1.ParamRef{Name: "p", ParameterNotFoundAction: ptr(admissionregistrationv1.DenyAction)},
					MatchResources:    &admissionregistrationv1.MatchResources{NamespaceSelector: inNamespace("vap-fail"), ObjectSelector: sel},
					ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny}}}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { binds.Delete(ctx, name, metav1.DeleteOptions{}) })
		}
		deps := k.client.AppsV1().Deployments("vap-fail")
		var err error
		settle(t, "the failing policy", func() bool {
			deps.Delete(ctx, "f", metav1.DeleteOptions{})
			_, err = deps.Create(ctx, deployment("f", 1, map[string]string{"policy": "Fail"}), metav1.CreateOptions{})
			return err != nil
		})
		if !strings.Contains(err.Error(), "failed to configure binding: paramKind kind `&ParamKind{APIVersion:nowhere.kapi.test/v1,Kind:Nothing,}` not known") {
			t.Fatalf("Fail: %v", err)
		}
		if _, err := deps.Create(ctx, deployment("i", 1, map[string]string{"policy": "Ignore"}), metav1.CreateOptions{}); err != nil {
			t.Fatalf("Ignore: %v", err)
		}
	})

	t.Run("the authorizer in CEL", func(t *testing.T) {
		e.namespace(t, "vap-authz")
		if _, err := k.client.RbacV1().Roles("vap-authz").Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "create-only"},
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"create", "get"}}}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := k.client.RbacV1().RoleBindings("vap-authz").Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "carol"},
			RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "create-only"},
			Subjects: []rbacv1.Subject{{Kind: "User", APIGroup: "rbac.authorization.k8s.io", Name: "carol"}}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := pols.Create(ctx, &admissionregistrationv1.ValidatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: "deleters-only"},
			Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{MatchConstraints: deploymentRules(),
				Validations: []admissionregistrationv1.Validation{{
					Expression: `authorizer.group('apps').resource('deployments').namespace(object.metadata.namespace).check('delete').allowed()`,
					Message:    "only who may delete deployments creates them"}}}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pols.Delete(ctx, "deleters-only", metav1.DeleteOptions{}) })
		if _, err := binds.Create(ctx, &admissionregistrationv1.ValidatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: "deleters-only"},
			Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: "deleters-only",
				MatchResources:    &admissionregistrationv1.MatchResources{NamespaceSelector: inNamespace("vap-authz")},
				ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny}}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { binds.Delete(ctx, "deleters-only", metav1.DeleteOptions{}) })
		carol := asUser(k, "carol").AppsV1().Deployments("vap-authz")
		var err error
		settle(t, "the authorizer policy", func() bool {
			_, err = carol.Create(ctx, deployment("by-carol", 1, nil), metav1.CreateOptions{})
			return err != nil && strings.Contains(err.Error(), "only who may delete")
		})
		if _, err := k.client.AppsV1().Deployments("vap-authz").Create(ctx, deployment("by-admin", 1, nil), metav1.CreateOptions{}); err != nil {
			t.Fatalf("the admin may delete, and create: %v", err)
		}
	})

	t.Run("type checking in the status", func(t *testing.T) {
		if _, err := pols.Create(ctx, &admissionregistrationv1.ValidatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: "typo"},
			Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{MatchConstraints: deploymentRules(),
				Validations: []admissionregistrationv1.Validation{{Expression: `object.spec.replicass > 1`}, {Expression: `object.spec.replicas > 1`}}}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		var p *admissionregistrationv1.ValidatingAdmissionPolicy
		settle(t, "type checking", func() bool {
			var err error
			p, err = pols.Get(ctx, "typo", metav1.GetOptions{})
			return err == nil && p.Status.TypeChecking != nil
		})
		w := p.Status.TypeChecking.ExpressionWarnings
		if p.Status.ObservedGeneration != p.Generation || len(w) != 1 || w[0].FieldRef != "spec.validations[0].expression" ||
			!strings.Contains(w[0].Warning, "undefined field 'replicass'") || !strings.Contains(w[0].Warning, "apps/v1, Kind=Deployment") {
			t.Fatalf("status: %+v", p.Status)
		}
	})

	t.Run("type checking a custom resource", func(t *testing.T) {
		schema := "type: object\nproperties:\n  spec:\n    type: object\n    properties:\n      replicas:\n        type: integer\n"
		crd := confSetup(t, k, confPublishCRD(t, "vap-types.example.com", "tab", schema, "v1"), &schema)
		if _, err := pols.Create(ctx, &admissionregistrationv1.ValidatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: "crd-typo"},
			Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
				MatchConstraints: &admissionregistrationv1.MatchResources{ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
					RuleWithOperations: admissionregistrationv1.RuleWithOperations{
						Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
						Rule: admissionregistrationv1.Rule{APIGroups: []string{crd.Spec.Group}, APIVersions: []string{"v1"},
							Resources: []string{crd.Spec.Names.Plural}}}}}},
				Validations: []admissionregistrationv1.Validation{{Expression: `object.spec.replicas > '1'`}, {Expression: `object.spec.maxRetries < 10`}}}},
			metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		var p *admissionregistrationv1.ValidatingAdmissionPolicy
		settle(t, "type checking", func() bool {
			var err error
			p, err = pols.Get(ctx, "crd-typo", metav1.GetOptions{})
			return err == nil && p.Status.TypeChecking != nil
		})
		w := p.Status.TypeChecking.ExpressionWarnings
		if len(w) != 2 || w[0].FieldRef != "spec.validations[0].expression" || !strings.Contains(w[0].Warning, "found no matching overload for '_>_' applied to '(int, string)'") ||
			w[1].FieldRef != "spec.validations[1].expression" || !strings.Contains(w[1].Warning, "undefined field 'maxRetries'") {
			t.Fatalf("status: %+v", p.Status)
		}
	})

	t.Run("CEL that does not compile is refused", func(t *testing.T) {
		_, err := pols.Create(ctx, &admissionregistrationv1.ValidatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: "broken"},
			Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{MatchConstraints: deploymentRules(),
				Validations: []admissionregistrationv1.Validation{{Expression: `object.spec.replicas <`}}}}, metav1.CreateOptions{})
		if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.validations[0].expression") || !strings.Contains(err.Error(), "compilation failed") {
			t.Fatalf("a policy that does not compile: %v", err)
		}
	})
}

// TestMutatingAdmissionPolicy: mutations by ApplyConfiguration (merged
// with the kind's schema) and by JSONPatch, with a parameter; a policy
// with reinvocationPolicy IfNeeded applied again after a later change; an
// expression that does not compile refused when written.
func TestMutatingAdmissionPolicy(t *testing.T) {
	k := startKapi(t)
	ctx := context.Background()
	e := &webhookEnv{t: t, k: k}
	e.namespace(t, "map")
	pols := k.client.AdmissionregistrationV1().MutatingAdmissionPolicies()
	binds := k.client.AdmissionregistrationV1().MutatingAdmissionPolicyBindings()
	if _, err := k.client.CoreV1().ConfigMaps("map").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "owner"},
		Data: map[string]string{"team": "storage"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	mk := func(name string, reinvoke admissionregistrationv1.ReinvocationPolicyType, paramKind *admissionregistrationv1.ParamKind, ms ...admissionregistrationv1.Mutation) {
		t.Helper()
		if _, err := pols.Create(ctx, &admissionregistrationv1.MutatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: admissionregistrationv1.MutatingAdmissionPolicySpec{MatchConstraints: deploymentRules(), ParamKind: paramKind,
				Mutations: ms, ReinvocationPolicy: reinvoke}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		b := &admissionregistrationv1.MutatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: admissionregistrationv1.MutatingAdmissionPolicyBindingSpec{PolicyName: name,
				MatchResources: &admissionregistrationv1.MatchResources{NamespaceSelector: inNamespace("map")}}}
		if paramKind != nil {
			b.Spec.ParamRef = &admissionregistrationv1.ParamRef{Name: "owner", ParameterNotFoundAction: ptr(admissionregistrationv1.DenyAction)}
		}
		if _, err := binds.Create(ctx, b, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// "a-team" labels with the parameter's team (ApplyConfiguration) and
	// counts its runs in an annotation; "b-replicas" then sets the
	// replicas (JSONPatch), which runs "a-team" again.
	mk("a-team", admissionregistrationv1.IfNeededReinvocationPolicy, &admissionregistrationv1.ParamKind{APIVersion: "v1", Kind: "ConfigMap"},
		admissionregistrationv1.Mutation{PatchType: admissionregistrationv1.PatchTypeApplyConfiguration, ApplyConfiguration: &admissionregistrationv1.ApplyConfiguration{
			Expression: `Object{metadata: Object.metadata{labels: {"team": params.data.team}, annotations: {"runs": string(int(has(object.metadata.annotations) && "runs" in object.metadata.annotations ? object.metadata.annotations["runs"] : "0") + 1), "saw-replicas": string(object.spec.replicas), "saw-hook": string(has(object.metadata.labels) && "hooked" in object.metadata.labels)}}}`}})
	mk("b-replicas", admissionregistrationv1.NeverReinvocationPolicy, nil,
		admissionregistrationv1.Mutation{PatchType: admissionregistrationv1.PatchTypeJSONPatch, JSONPatch: &admissionregistrationv1.JSONPatch{
			Expression: `object.spec.replicas > 2 ? [JSONPatch{op: "replace", path: "/spec/replicas", value: 2}] : []`}})
	// A mutating webhook, which runs after the policies, changes the
	// object too: "a-team" runs again after it, once in all.
	srv := newAdmissionServer(t)
	e.srv = srv
	srv.on("/hook", addLabel("hooked", "yes"))
	hook := mutatingHook("hook.kapi.test", srv.clientConfig("/hook"), "map")
	hook.Rules[0].Rule = admissionregistrationv1.Rule{APIGroups: []string{"apps"}, APIVersions: []string{"v1"}, Resources: []string{"deployments"}}
	hook.Rules[0].Operations = []admissionregistrationv1.OperationType{admissionregistrationv1.Create}
	e.mutating(t, "hook.kapi.test", hook)
	deps := k.client.AppsV1().Deployments("map")
	var got *appsv1.Deployment
	settle(t, "the mutating policies", func() bool {
		deps.Delete(ctx, "d", metav1.DeleteOptions{})
		var err error
		got, err = deps.Create(ctx, deployment("d", 5, nil), metav1.CreateOptions{})
		return err == nil && got.Labels["team"] != "" && *got.Spec.Replicas == 2 && got.Labels["hooked"] != ""
	})
	if got.Labels["team"] != "storage" || got.Annotations["runs"] != "2" || got.Annotations["saw-replicas"] != "2" || got.Annotations["saw-hook"] != "true" {
		t.Fatalf("labels %v annotations %v", got.Labels, got.Annotations)
	}
	if got.Spec.Template.Spec.Containers[0].Image != "nginx" {
		t.Fatalf("the merge lost the rest of the object: %+v", got.Spec.Template.Spec)
	}

	_, err := pols.Create(ctx, &admissionregistrationv1.MutatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: "broken"},
		Spec: admissionregistrationv1.MutatingAdmissionPolicySpec{MatchConstraints: deploymentRules(),
			Mutations: []admissionregistrationv1.Mutation{{PatchType: admissionregistrationv1.PatchTypeJSONPatch,
				JSONPatch: &admissionregistrationv1.JSONPatch{Expression: `[JSONPatch{op: "add"`}}}}}, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.mutations[0].jsonPatch.expression") {
		t.Fatalf("a policy that does not compile: %v", err)
	}
}
