package e2e

import (
	"context"
	"fmt"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"kapi/internal/server"
)

// TestAdmissionReplicas: a webhook configuration and a policy written
// through one kapi replica are in force on another on the same etcd, and
// removing them through the other lifts them on the first.
func TestAdmissionReplicas(t *testing.T) {
	url := startEtcd(t)
	external := func(c *server.Config) { c.EtcdServers = []string{url} }
	a, b := startKapi(t, external), startKapi(t, external)
	ctx := context.Background()
	srv := newAdmissionServer(t)
	srv.on("/label", addLabel("seen-by", "webhook"))
	ea := &webhookEnv{t: t, k: a, srv: srv}
	ea.namespace(t, "replicas")
	ea.mutating(t, "label.kapi.test", mutatingHook("label.kapi.test", srv.clientConfig("/label"), "replicas"))
	settle(t, "the webhook written through the other replica", func() bool {
		b.client.CoreV1().ConfigMaps("replicas").Delete(ctx, "w", metav1.DeleteOptions{})
		got, err := b.client.CoreV1().ConfigMaps("replicas").Create(ctx, cm("w", nil), metav1.CreateOptions{})
		return err == nil && got.Labels["seen-by"] == "webhook"
	})

	reg := a.client.AdmissionregistrationV1()
	if _, err := reg.ValidatingAdmissionPolicies().Create(ctx, &admissionregistrationv1.ValidatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: "no-x"},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			MatchConstraints: &admissionregistrationv1.MatchResources{ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionregistrationv1.RuleWithOperations{Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
					Rule: admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"}}}}}},
			Validations: []admissionregistrationv1.Validation{{Expression: `!object.metadata.name.startsWith("x-")`}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.ValidatingAdmissionPolicyBindings().Create(ctx, &admissionregistrationv1.ValidatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: "no-x"},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: "no-x", ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny},
			MatchResources: &admissionregistrationv1.MatchResources{NamespaceSelector: inNamespace("replicas")}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Each probe a new name: one made before the policy was in force
	// must not answer AlreadyExists to the next.
	n := 0
	probe := func(k *kapi) error {
		n++
		_, err := k.client.CoreV1().ConfigMaps("replicas").Create(ctx, cm(fmt.Sprintf("x-%d", n), nil), metav1.CreateOptions{})
		return err
	}
	settle(t, "the policy written through the other replica", func() bool { return apierrors.IsInvalid(probe(b)) })
	if err := b.client.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Delete(ctx, "no-x", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	settle(t, "the binding's removal through the other replica", func() bool { return probe(a) == nil })
}
