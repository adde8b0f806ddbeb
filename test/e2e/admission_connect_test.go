package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Requests for the connection subresources (pods/exec, pods/attach,
// pods/portforward, the proxies) are admitted as kube-apiserver admits
// them, as CONNECTs whose object is the request's options, before kapi
// connects: a webhook or a ValidatingAdmissionPolicy may refuse them.
// kube's conformance spec "should be able to deny attaching pod" denies
// kubectl attach this way.
func TestConnectAdmission(t *testing.T) {
	k, kl := kubeletCluster(t)
	ctx := context.Background()
	srv := newAdmissionServer(t)
	srv.on("/connect", func(r *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
		o := objectOf(t, r.Object.Raw)
		if o.Object["container"] == "b" {
			return &admissionv1.AdmissionResponse{Result: &metav1.Status{Message: fmt.Sprintf("attaching to pod '%s' is not allowed", r.Name)}}
		}
		if cmd, ok := o.Object["command"].([]any); ok && len(cmd) > 0 && cmd[0] == "rm" {
			return &admissionv1.AdmissionResponse{Result: &metav1.Status{Message: "no rm in " + r.Name}}
		}
		return &admissionv1.AdmissionResponse{Allowed: true}
	})
	hooks := k.client.AdmissionregistrationV1().ValidatingWebhookConfigurations()
	_, err := hooks.Create(ctx, &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "connect"},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{Name: "connect.kapi.test", ClientConfig: srv.clientConfig("/connect"),
			SideEffects: none, AdmissionReviewVersions: v1Reviews, FailurePolicy: fail,
			Rules: []admissionregistrationv1.RuleWithOperations{{Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Connect},
				Rule: admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"},
					Resources: []string{"pods/attach", "pods/exec", "pods/log"}}}}}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	settle(t, "the CONNECT webhook", func() bool {
		_, err := k.kubectl("", "exec", "web", "--", "rm", "-rf", "/")
		return err != nil
	})

	// The real kubectl is refused with the webhook's message, as in kube's
	// conformance spec; the kubelet is never asked.
	before := len(kl.queries())
	out, err := k.kubectl("", "attach", "-i", "two", "-c", "b")
	if err == nil || !strings.Contains(out, `admission webhook "connect.kapi.test" denied the request: attaching to pod 'two' is not allowed`) {
		t.Errorf("kubectl attach -c b: %v %q", err, out)
	}
	out, err = k.kubectl("", "exec", "web", "--", "rm", "-rf", "/")
	if err == nil || !strings.Contains(out, `admission webhook "connect.kapi.test" denied the request: no rm in web`) {
		t.Errorf("kubectl exec rm: %v %q", err, out)
	}
	if n := len(kl.queries()); n != before {
		t.Errorf("the kubelet was asked %q after refusals", kl.queries()[before:])
	}
	// What the webhook is sent: the options, as kube sends them.
	calls := srv.requests("/connect")
	last := calls[len(calls)-1]
	if last.Operation != admissionv1.Connect || last.Kind != (metav1.GroupVersionKind{Version: "v1", Kind: "PodExecOptions"}) ||
		last.Resource != (metav1.GroupVersionResource{Version: "v1", Resource: "pods"}) || last.SubResource != "exec" ||
		last.Name != "web" || last.Namespace != "default" || len(last.OldObject.Raw) != 0 || len(last.Options.Raw) != 0 {
		t.Errorf("the webhook's request: %+v", last)
	}
	if o := objectOf(t, last.Object.Raw); o.GetKind() != "PodExecOptions" || o.GetAPIVersion() != "v1" ||
		fmt.Sprint(o.Object["command"]) != "[rm -rf /]" || o.Object["stdout"] != true {
		t.Errorf("the webhook's object: %v", o.Object)
	}

	// Allowed: the exec runs.
	if out := k.mustKubectl("", "exec", "web", "--", "echo", "allowed"); out != "allowed\n" {
		t.Errorf("kubectl exec echo: %q", out)
	}
	// pods/log is read, not connected: kube admits no log request, even
	// when a webhook's rules name it.
	n := len(srv.requests("/connect"))
	k.mustKubectl("", "logs", "web")
	if got := len(srv.requests("/connect")); got != n {
		t.Errorf("a log request was admitted: %+v", srv.requests("/connect")[n:])
	}
	// A log request is no connection: a dryRun parameter means nothing
	// to it, as to kube's.
	if err := k.client.CoreV1().RESTClient().Get().Namespace("default").Resource("pods").Name("web").SubResource("log").
		Param("dryRun", "All").Do(ctx).Error(); err != nil {
		t.Errorf("a log with dryRun: %v", err)
	}
	// A connection has no dry run; options that do not parse are a 400
	// before admission.
	err = k.client.CoreV1().RESTClient().Post().Namespace("default").Resource("pods").Name("web").SubResource("exec").
		Param("command", "echo").Param("dryRun", "All").Do(ctx).Error()
	if err == nil || !strings.Contains(err.Error(), "dryRun is not supported") {
		t.Errorf("a dry-run exec: %v", err)
	}
	err = k.client.CoreV1().RESTClient().Post().Namespace("default").Resource("pods").Name("web").SubResource("portforward").
		Param("ports", "80,x").Do(ctx).Error()
	if err == nil || !strings.Contains(err.Error(), `cannot convert to []int32: strconv.ParseUint: parsing "x": invalid syntax`) {
		t.Errorf("ports x: %v", err)
	}

	// A ValidatingAdmissionPolicy sees a proxy's path.
	policies := k.client.AdmissionregistrationV1().ValidatingAdmissionPolicies()
	_, err = policies.Create(ctx, &admissionregistrationv1.ValidatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: "no-admin"},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{FailurePolicy: fail,
			MatchConstraints: &admissionregistrationv1.MatchResources{ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionregistrationv1.RuleWithOperations{Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Connect},
					Rule: admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods/proxy"}}}}}},
			Validations: []admissionregistrationv1.Validation{{Expression: "!object.path.startsWith('/admin')", Message: "no admin pages"}}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { policies.Delete(ctx, "no-admin", metav1.DeleteOptions{}) })
	bindings := k.client.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings()
	_, err = bindings.Create(ctx, &admissionregistrationv1.ValidatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: "no-admin"},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: "no-admin",
			ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bindings.Delete(ctx, "no-admin", metav1.DeleteOptions{}) })
	proxyGet := func(path string) error {
		return k.client.CoreV1().RESTClient().Get().AbsPath("/api/v1/namespaces/default/pods/web:80/proxy" + path).Do(ctx).Error()
	}
	const denied = `ValidatingAdmissionPolicy 'no-admin' with binding 'no-admin' denied request: no admin pages`
	settle(t, "the CONNECT policy", func() bool {
		err := proxyGet("/admin/users")
		return err != nil && strings.Contains(err.Error(), denied)
	})
	if err := proxyGet("/public"); err != nil && strings.Contains(err.Error(), denied) {
		t.Errorf("/public: %v", err)
	}
}
