package e2e

import (
	"context"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// TestAdmissionOfComputedResources: the creates of resources that are
// never stored pass admission as in kube-apiserver 1.37. The legacy
// bindings do: mutating webhooks may change them, validating webhooks
// and policies may refuse, and they are asked only once the request
// itself is valid. The access and token reviews do not: no webhook
// (ExcludeAdmissionWebhookVirtualResources, on by default) and no policy
// sees them, and a webhook configuration whose rule names one is
// answered with a warning.
func TestAdmissionOfComputedResources(t *testing.T) {
	t.Parallel()
	k := startKapi(t, withoutLoops(rootCAPublisher))
	srv := newAdmissionServer(t)
	ctx := context.Background()
	e := &webhookEnv{t: t, k: k, srv: srv}
	rule := func(group, resource string) []admissionregistrationv1.RuleWithOperations {
		return []admissionregistrationv1.RuleWithOperations{{Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
			Rule: admissionregistrationv1.Rule{APIGroups: []string{group}, APIVersions: []string{"v1"}, Resources: []string{resource}}}}
	}
	ns := gcNamespace(t, k, "computed")
	pods := k.client.CoreV1().Pods(ns)
	for _, name := range []string{"web", "db"} {
		if _, err := pods.Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	bind := func(pod, node string) error {
		return k.client.CoreV1().RESTClient().Post().Namespace(ns).Resource("bindings").
			Body(&corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: pod}, Target: corev1.ObjectReference{Kind: "Node", Name: node}}).Do(ctx).Error()
	}
	sars := k.client.AuthorizationV1().SubjectAccessReviews()
	review := func() *authorizationv1.SubjectAccessReview {
		return &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{User: "nobody",
			ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "delete", Resource: "nodes"}}}
	}

	// The mutating webhook binds the pod "web" to node n2 instead, and
	// would make every SubjectAccessReview one of a member of
	// system:masters. Its configuration's rule for the reviews is
	// answered with kube's warning.
	srv.on("/mutate", func(r *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
		if r.Resource.Resource == "bindings" {
			if r.Name != "web" {
				return &admissionv1.AdmissionResponse{Allowed: true}
			}
			return patchResponse(map[string]any{"op": "replace", "path": "/target/name", "value": "n2"})
		}
		return patchResponse(map[string]any{"op": "add", "path": "/spec/groups", "value": []string{"system:masters"}})
	})
	var warnings []string
	cfg := *k.rest
	cfg.WarningHandler = warningRecorder{&warnings}
	mutating := kubernetes.NewForConfigOrDie(&cfg).AdmissionregistrationV1().MutatingWebhookConfigurations()
	if _, err := mutating.Create(ctx, &admissionregistrationv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "mutate.kapi.test"},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{Name: "mutate.kapi.test", ClientConfig: srv.clientConfig("/mutate"),
			Rules: append(rule("authorization.k8s.io", "subjectaccessreviews"), rule("", "bindings")...), SideEffects: none, AdmissionReviewVersions: v1Reviews, FailurePolicy: fail}}},
		metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mutating.Delete(ctx, "mutate.kapi.test", metav1.DeleteOptions{}) })
	if want := "webhooks[0].rules[0]: subjectaccessreviews.authorization.k8s.io is excluded from admission webhooks; this rule will have no effect"; len(warnings) != 1 || warnings[0] != want {
		t.Errorf("warnings %q, want %q", warnings, want)
	}
	// A binding is for good: the webhook is probed with bindings of a pod
	// that does not exist (asked about, then not found) until it is asked,
	// and only then is "web" bound.
	settle(t, "the mutating webhook", func() bool {
		bind("ghost", "n1")
		for _, r := range srv.requests("/mutate") {
			if r.Name == "ghost" {
				return true
			}
		}
		return false
	})
	if err := bind("web", "n1"); err != nil {
		t.Fatal(err)
	}
	if p, err := pods.Get(ctx, "web", metav1.GetOptions{}); err != nil || p.Spec.NodeName != "n2" {
		t.Fatalf("the mutating webhook's binding: %v %q, want n2", err, p.Spec.NodeName)
	}
	if out, err := sars.Create(ctx, review(), metav1.CreateOptions{}); err != nil || out.Status.Allowed {
		t.Errorf("a review the webhook must not see: %v %+v", err, out)
	}
	for _, r := range srv.requests("/mutate") {
		if r.Resource.Resource != "bindings" || r.Kind.Kind != "Binding" || r.Operation != admissionv1.Create || r.Namespace != ns {
			t.Errorf("the mutating webhook was asked: %+v", r)
		}
	}

	// A validating webhook and a policy refusing everything they are
	// asked about: bindings, not reviews.
	srv.on("/refuse", func(r *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
		return &admissionv1.AdmissionResponse{Allowed: false, Result: &metav1.Status{Code: 403, Reason: metav1.StatusReasonForbidden, Message: "no reviews here"}}
	})
	all := append(append(append(append(append(rule("authentication.k8s.io", "tokenreviews"), rule("authorization.k8s.io", "subjectaccessreviews")...),
		rule("authorization.k8s.io", "selfsubjectaccessreviews")...), rule("", "bindings")...), rule("", "serviceaccounts/token")...), rule("", "pods/eviction")...)
	e.validating(t, "refuse.kapi.test", admissionregistrationv1.ValidatingWebhook{Name: "refuse.kapi.test", ClientConfig: srv.clientConfig("/refuse"),
		Rules: all, SideEffects: none, AdmissionReviewVersions: v1Reviews, FailurePolicy: fail})
	// Probed with a pod that does not exist, as above: validating
	// admission comes before the pod is looked up, as in kube.
	settle(t, "the validating webhook", func() bool {
		return apierrors.IsForbidden(bind("ghost", "n1"))
	})
	err := bind("db", "n1")
	if !strings.Contains(err.Error(), `admission webhook "refuse.kapi.test" denied the request: no reviews here`) {
		t.Errorf("a refused binding: %v", err)
	}
	reqs := srv.requests("/refuse")
	if last := reqs[len(reqs)-1]; last.Resource.Resource != "bindings" || last.Namespace != ns || last.Name != "db" {
		t.Errorf("the webhook's request: %+v", last)
	}
	if p, err := pods.Get(ctx, "db", metav1.GetOptions{}); err != nil || p.Spec.NodeName != "" {
		t.Errorf("the refused binding bound the pod: %v %q", err, p.Spec.NodeName)
	}
	// A binding that is not valid is refused before the validating
	// phase, as kube validates it first (its error a plain one, a 500).
	asked := len(reqs)
	if err := bind("db", ""); apierrors.ReasonForError(err) != metav1.StatusReasonUnknown || !strings.Contains(err.Error(), "target.name: Required value") {
		t.Errorf("a binding to no node: %v", err)
	}
	if _, err := sars.Create(ctx, review(), metav1.CreateOptions{}); err != nil {
		t.Errorf("a SubjectAccessReview: %v", err)
	}
	if _, err := k.client.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{
		Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "get", Resource: "pods"}}}, metav1.CreateOptions{}); err != nil {
		t.Errorf("a SelfSubjectAccessReview: %v", err)
	}
	if tr, err := k.client.AuthenticationV1().TokenReviews().Create(ctx, &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: "abc"}}, metav1.CreateOptions{}); err != nil || tr.Status.Authenticated {
		t.Errorf("a TokenReview: %v %+v", err, tr)
	}
	// Nor a token request or an eviction that is not valid, as kube's
	// storages check them before their validating admission.
	short := int64(100)
	if _, err := k.client.CoreV1().ServiceAccounts(ns).CreateToken(ctx, "default", &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &short}}, metav1.CreateOptions{}); !apierrors.IsInvalid(err) {
		t.Errorf("a token request of 100 s: %v", err)
	}
	yes := true
	err = k.client.CoreV1().Pods(ns).EvictV1(ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: "db"},
		DeleteOptions: &metav1.DeleteOptions{IgnoreStoreReadErrorWithClusterBreakingPotential: &yes}})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "deleteOptions.ignoreStoreReadErrorWithClusterBreakingPotential: Invalid value: true: can not be set for pod eviction, try after removing the option") {
		t.Errorf("an eviction ignoring read errors: %v", err)
	}
	if n := len(srv.requests("/refuse")); n != asked {
		t.Errorf("the validating webhook was asked %d more times", n-asked)
	}
	// A valid token request is asked about, and refused.
	if _, err := k.client.CoreV1().ServiceAccounts(ns).CreateToken(ctx, "default", &authenticationv1.TokenRequest{}, metav1.CreateOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("a token request the webhook refuses: %v", err)
	}

	// A ValidatingAdmissionPolicy refusing the same: bindings only.
	pols := k.client.AdmissionregistrationV1().ValidatingAdmissionPolicies()
	match := &admissionregistrationv1.MatchResources{}
	for _, r := range all {
		match.ResourceRules = append(match.ResourceRules, admissionregistrationv1.NamedRuleWithOperations{RuleWithOperations: r})
	}
	if _, err := pols.Create(ctx, &admissionregistrationv1.ValidatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: "refuse"},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{MatchConstraints: match,
			Validations: []admissionregistrationv1.Validation{{Expression: "false", Message: "refused by policy"}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pols.Delete(ctx, "refuse", metav1.DeleteOptions{}) })
	binds := k.client.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings()
	if _, err := binds.Create(ctx, &admissionregistrationv1.ValidatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: "refuse"},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: "refuse",
			ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { binds.Delete(ctx, "refuse", metav1.DeleteOptions{}) })
	k.client.AdmissionregistrationV1().ValidatingWebhookConfigurations().Delete(ctx, "refuse.kapi.test", metav1.DeleteOptions{})
	settle(t, "the policy", func() bool {
		err = bind("db", "n1")
		return err != nil && strings.Contains(err.Error(), "refused by policy")
	})
	if _, err := sars.Create(ctx, review(), metav1.CreateOptions{}); err != nil {
		t.Errorf("a SubjectAccessReview: %v", err)
	}
	if _, err := k.client.AuthenticationV1().TokenReviews().Create(ctx, &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: "abc"}}, metav1.CreateOptions{}); err != nil {
		t.Errorf("a TokenReview: %v", err)
	}

	// A LocalSubjectAccessReview in a namespace that does not exist is
	// answered: NamespaceLifecycle lets access reviews through.
	lsar, err := k.client.AuthorizationV1().LocalSubjectAccessReviews("nowhere").Create(ctx, &authorizationv1.LocalSubjectAccessReview{
		ObjectMeta: metav1.ObjectMeta{Namespace: "nowhere"},
		Spec:       authorizationv1.SubjectAccessReviewSpec{User: "nobody", ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: "nowhere", Verb: "get", Resource: "pods"}}},
		metav1.CreateOptions{})
	if err != nil || lsar.Status.Allowed {
		t.Errorf("a LocalSubjectAccessReview in a namespace that does not exist: %v %+v", err, lsar)
	}
}
