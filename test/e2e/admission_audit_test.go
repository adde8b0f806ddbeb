package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"

	"kapi/internal/audit"
	"kapi/internal/server"
)

// TestAdmissionAudit: what admission decided is in the request's audit
// event, under kube-apiserver's annotation keys: a mutating webhook's
// mutation and patch, a webhook's auditAnnotations, a policy's
// auditAnnotations and its failed validations under the Audit action.
func TestAdmissionAudit(t *testing.T) {
	dir := t.TempDir()
	logPath, policyPath := filepath.Join(dir, "audit.log"), filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(policyPath, []byte("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n  namespaces: [\"adm-audit\"]\n- level: None\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	k := startKapi(t, func(c *server.Config) {
		c.Audit = audit.DefaultOptions()
		c.Audit.PolicyFile, c.Audit.LogPath = policyPath, logPath
	})
	srv := newAdmissionServer(t)
	e := &webhookEnv{t: t, k: k, srv: srv}
	ctx := context.Background()
	e.namespace(t, "adm-audit")
	srv.on("/audited", func(r *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
		resp := addLabel("audited", "yes")(r)
		resp.AuditAnnotations = map[string]string{"seen": r.Name}
		return resp
	})
	e.mutating(t, "audited.kapi.test", mutatingHook("audited.kapi.test", srv.clientConfig("/audited"), "adm-audit"))
	reg := k.client.AdmissionregistrationV1()
	if _, err := reg.ValidatingAdmissionPolicies().Create(ctx, &admissionregistrationv1.ValidatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: "audited"},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			MatchConstraints: &admissionregistrationv1.MatchResources{ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionregistrationv1.RuleWithOperations{Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
					Rule: admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"}}}}}},
			Validations:      []admissionregistrationv1.Validation{{Expression: `object.metadata.name != "flagged"`, Message: "flagged by policy"}},
			AuditAnnotations: []admissionregistrationv1.AuditAnnotation{{Key: "name", ValueExpression: `string(object.metadata.name)`}},
		}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.ValidatingAdmissionPolicyBindings().Create(ctx, &admissionregistrationv1.ValidatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: "audited"},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: "audited", ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Audit},
			MatchResources: &admissionregistrationv1.MatchResources{NamespaceSelector: inNamespace("adm-audit")}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	settle(t, "the webhook", func() bool {
		k.client.CoreV1().ConfigMaps("adm-audit").Delete(ctx, "probe", metav1.DeleteOptions{})
		got, err := k.client.CoreV1().ConfigMaps("adm-audit").Create(ctx, cm("probe", nil), metav1.CreateOptions{})
		return err == nil && got.Labels["audited"] == "yes"
	})
	var flagged map[string]string
	settle(t, "the audited policy", func() bool {
		k.client.CoreV1().ConfigMaps("adm-audit").Delete(ctx, "flagged", metav1.DeleteOptions{})
		body, _ := json.Marshal(cm("flagged", nil))
		code, _, _ := k.request(t, "POST", "/api/v1/namespaces/adm-audit/configmaps", "application/json", body, "Audit-ID", "flagged-"+t.Name())
		if code != 201 {
			t.Fatalf("the Audit action refused the write: %d", code)
		}
		flagged = nil
		for _, ev := range auditEvents(t, logPath) {
			if ev.Stage == auditv1.StageResponseComplete && ev.ObjectRef != nil && ev.ObjectRef.Name == "flagged" && ev.Verb == "create" {
				flagged = ev.Annotations
			}
		}
		return flagged["validation.policy.admission.k8s.io/validation_failure"] != ""
	})
	for key, want := range map[string]string{
		"mutation.webhook.admission.k8s.io/round_0_index_0":     `"mutated":true`,
		"patch.webhook.admission.k8s.io/round_0_index_0":        `"op":"add"`,
		"audited.kapi.test/seen":                                "flagged",
		"audited/name":                                          "flagged",
		"validation.policy.admission.k8s.io/validation_failure": `"message":"flagged by policy"`,
	} {
		if !strings.Contains(flagged[key], want) {
			t.Errorf("annotation %s = %q, want it to hold %s", key, flagged[key], want)
		}
	}
}

// auditEvents reads the audit log so far.
func auditEvents(t *testing.T, path string) []auditv1.Event {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []auditv1.Event
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var ev auditv1.Event
		if json.Unmarshal(sc.Bytes(), &ev) == nil {
			out = append(out, ev)
		}
	}
	return out
}
