package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestAdmissionOfComputedResources: the creates of resources that are
// never stored (access reviews, TokenReviews, the legacy bindings) pass
// admission as in kube-apiserver: mutating webhooks may change what is
// reviewed, validating webhooks may refuse, and they are asked only once
// the request itself is valid.
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

	// The mutating webhook makes every SubjectAccessReview one of a
	// member of system:masters.
	srv.on("/masters", func(r *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
		return patchResponse(map[string]any{"op": "add", "path": "/spec/groups", "value": []string{"system:masters"}})
	})
	e.mutating(t, "masters.kapi.test", admissionregistrationv1.MutatingWebhook{Name: "masters.kapi.test", ClientConfig: srv.clientConfig("/masters"),
		Rules: rule("authorization.k8s.io", "subjectaccessreviews"), SideEffects: none, AdmissionReviewVersions: v1Reviews, FailurePolicy: fail})
	sars := k.client.AuthorizationV1().SubjectAccessReviews()
	review := func() *authorizationv1.SubjectAccessReview {
		return &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{User: "nobody",
			ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "delete", Resource: "nodes"}}}
	}
	settle(t, "the mutating webhook", func() bool {
		out, err := sars.Create(ctx, review(), metav1.CreateOptions{})
		return err == nil && out.Status.Allowed
	})
	reqs := srv.requests("/masters")
	last := reqs[len(reqs)-1]
	if last.Operation != admissionv1.Create || last.Kind.Kind != "SubjectAccessReview" || last.Resource.Resource != "subjectaccessreviews" {
		t.Errorf("the webhook's request: %+v", last)
	}
	if sent := objectOf(t, last.Object.Raw); sent.Object["spec"].(map[string]any)["user"] != "nobody" {
		t.Errorf("the webhook saw %s", last.Object.Raw)
	}

	// A review that is not valid is refused before the validating phase,
	// as kube validates it first.
	srv.on("/refuse", func(r *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
		return &admissionv1.AdmissionResponse{Allowed: false, Result: &metav1.Status{Code: 403, Reason: metav1.StatusReasonForbidden, Message: "no reviews here"}}
	})
	e.validating(t, "refuse.kapi.test", admissionregistrationv1.ValidatingWebhook{Name: "refuse.kapi.test", ClientConfig: srv.clientConfig("/refuse"),
		Rules:       append(append(rule("authentication.k8s.io", "tokenreviews"), rule("authorization.k8s.io", "subjectaccessreviews")...), rule("", "bindings")...),
		SideEffects: none, AdmissionReviewVersions: v1Reviews, FailurePolicy: fail})
	var err error
	settle(t, "the validating webhook", func() bool {
		_, err = sars.Create(ctx, review(), metav1.CreateOptions{})
		return apierrors.IsForbidden(err)
	})
	if !strings.Contains(err.Error(), `admission webhook "refuse.kapi.test" denied the request: no reviews here`) {
		t.Errorf("a refused review: %v", err)
	}
	asked := len(srv.requests("/refuse"))
	_, err = sars.Create(ctx, &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{User: "nobody"}}, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) {
		t.Errorf("a review of nothing: %v", err)
	}
	if n := len(srv.requests("/refuse")); n != asked {
		t.Errorf("the validating webhook was asked about a review that is not valid")
	}

	// A TokenReview: refused once it has a token, with the token sent.
	_, err = k.client.AuthenticationV1().TokenReviews().Create(ctx, &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: "abc"}}, metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) {
		t.Errorf("a refused TokenReview: %v", err)
	}
	reqs = srv.requests("/refuse")
	var tr authenticationv1.TokenReview
	if err := json.Unmarshal(reqs[len(reqs)-1].Object.Raw, &tr); err != nil || tr.Spec.Token != "abc" {
		t.Errorf("the webhook saw %s (%v)", reqs[len(reqs)-1].Object.Raw, err)
	}
	asked = len(reqs)
	if _, err = k.client.AuthenticationV1().TokenReviews().Create(ctx, &authenticationv1.TokenReview{}, metav1.CreateOptions{}); !apierrors.IsBadRequest(err) {
		t.Errorf("a TokenReview without a token: %v", err)
	}
	if n := len(srv.requests("/refuse")); n != asked {
		t.Errorf("the validating webhook was asked about a TokenReview without a token")
	}

	// A binding through the legacy resource: refused, the pod unbound.
	ns := gcNamespace(t, k, "computed")
	pods := k.client.CoreV1().Pods(ns)
	if _, err := pods.Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	err = k.client.CoreV1().RESTClient().Post().Namespace(ns).Resource("bindings").
		Body(&corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Target: corev1.ObjectReference{Kind: "Node", Name: "n1"}}).Do(ctx).Error()
	if !apierrors.IsForbidden(err) {
		t.Errorf("a refused binding: %v", err)
	}
	reqs = srv.requests("/refuse")
	if last := reqs[len(reqs)-1]; last.Resource.Resource != "bindings" || last.Namespace != ns || last.Name != "web" {
		t.Errorf("the webhook's request: %+v", last)
	}
	if p, err := pods.Get(ctx, "web", metav1.GetOptions{}); err != nil || p.Spec.NodeName != "" {
		t.Errorf("the refused binding bound the pod: %v %q", err, p.Spec.NodeName)
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
