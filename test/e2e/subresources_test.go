package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// TestStatusWritesKeepMetadata: a write through /status resets the spec,
// not the metadata, as kube-apiserver's status strategies (upstream
// conformance: "should apply changes to a namespace status"); the kinds
// whose strategies reset more (deployment labels, pod owner references)
// keep those.
func TestStatusWritesKeepMetadata(t *testing.T) {
	k := startKapi(t)
	ctx := context.Background()
	c := k.client
	if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "st"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	patch := `{"metadata":{"annotations":{"a":"b"}},"spec":{"finalizers":[]},"status":{"conditions":[{"type":"StatusUpdate","status":"True","reason":"E2E","message":"set"}]}}`
	ns, err := c.CoreV1().Namespaces().Patch(ctx, "st", types.MergePatchType, []byte(patch), metav1.PatchOptions{}, "status")
	if err != nil {
		t.Fatal(err)
	}
	if ns.Annotations["a"] != "b" || len(ns.Status.Conditions) != 1 {
		t.Errorf("namespace status patch: annotations %v, conditions %v", ns.Annotations, ns.Status.Conditions)
	}
	if len(ns.Spec.Finalizers) != 1 {
		t.Errorf("namespace status patch changed the spec: finalizers %v", ns.Spec.Finalizers)
	}
	if got, _ := c.CoreV1().Namespaces().Get(ctx, "st", metav1.GetOptions{}); got.Annotations["a"] != "b" {
		t.Errorf("stored namespace has annotations %v", got.Annotations)
	}

	// Deployments: labels stay, annotations change.
	one := int32(1)
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "d", Labels: map[string]string{"l": "1"}},
		Spec: appsv1.DeploymentSpec{Replicas: &one, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "d"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "d"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "i"}}}}}}
	if _, err := c.AppsV1().Deployments("default").Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	patch = `{"metadata":{"labels":{"l":"2"},"annotations":{"a":"b"}},"spec":{"replicas":5},"status":{"replicas":3}}`
	got, err := c.AppsV1().Deployments("default").Patch(ctx, "d", types.MergePatchType, []byte(patch), metav1.PatchOptions{}, "status")
	if err != nil {
		t.Fatal(err)
	}
	if got.Labels["l"] != "1" || got.Annotations["a"] != "b" || *got.Spec.Replicas != 1 || got.Status.Replicas != 3 {
		t.Errorf("deployment status patch: labels %v, annotations %v, replicas %d/%d", got.Labels, got.Annotations, *got.Spec.Replicas, got.Status.Replicas)
	}

	// Pods: owner references stay.
	k.waitDefaultServiceAccount(t, "default")
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "i"}}}}
	if _, err := c.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	patch = `{"metadata":{"ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"o","uid":"u"}],"labels":{"x":"y"}},"status":{"phase":"Running"}}`
	p, err := c.CoreV1().Pods("default").Patch(ctx, "p", types.MergePatchType, []byte(patch), metav1.PatchOptions{}, "status")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.OwnerReferences) != 0 || p.Labels["x"] != "y" || p.Status.Phase != corev1.PodRunning {
		t.Errorf("pod status patch: owner references %v, labels %v, phase %s", p.OwnerReferences, p.Labels, p.Status.Phase)
	}
}

// TestTableIsACapability: a resource that has no table (an access
// review, computed and never stored) answers a request for one with 406,
// as kube-apiserver does (upstream conformance, table_conversion.go); an
// Accept header that also takes plain JSON gets JSON.
func TestTableIsACapability(t *testing.T) {
	k := startKapi(t)
	body := []byte(`{"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectAccessReview","spec":{"resourceAttributes":{"verb":"get","resource":"pods"}}}`)
	path := "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
	code, st, out := k.do(t, "POST", path, "application/json", body, "Accept", "application/json;as=Table;v=v1;g=meta.k8s.io")
	if code != 406 || st == nil || st.Reason != metav1.StatusReasonNotAcceptable {
		t.Fatalf("SelfSubjectAccessReview as Table: %d %s", code, out)
	}
	code, _, out = k.do(t, "POST", path, "application/json", body, "Accept", "application/json;as=Table;v=v1;g=meta.k8s.io, application/json")
	var review map[string]any
	if err := json.Unmarshal(out, &review); code != 201 || err != nil || review["kind"] != "SelfSubjectAccessReview" {
		t.Fatalf("SelfSubjectAccessReview as Table or JSON: %d %v %s", code, err, out)
	}
	// A stored resource has one.
	code, _, out = k.do(t, "GET", "/api/v1/namespaces", "", nil, "Accept", "application/json;as=Table;v=v1;g=meta.k8s.io")
	if code != 200 || !strings.Contains(string(out), `"kind":"Table"`) {
		t.Fatalf("namespaces as Table: %d %s", code, out)
	}
}
