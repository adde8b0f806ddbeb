package e2e

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
)

// TestServerSideApply: managers own what they apply, a conflicting apply
// is a 409 naming the field unless forced, a field a manager stops
// applying is removed, and every write is recorded in managedFields.
func TestServerSideApply(t *testing.T) {
	k := startKapi(t)
	ctx := context.Background()
	cms := k.client.CoreV1().ConfigMaps("default")

	cm, err := cms.Apply(ctx, corev1ac.ConfigMap("ssa", "default").WithData(map[string]string{"a": "1", "b": "2"}), metav1.ApplyOptions{FieldManager: "alpha"})
	if err != nil {
		t.Fatal(err)
	}
	if cm.Data["a"] != "1" || len(cm.ManagedFields) != 1 || cm.ManagedFields[0].Manager != "alpha" || cm.ManagedFields[0].Operation != metav1.ManagedFieldsOperationApply {
		t.Fatalf("first apply: %+v %+v", cm.Data, cm.ManagedFields)
	}
	_, err = cms.Apply(ctx, corev1ac.ConfigMap("ssa", "default").WithData(map[string]string{"a": "changed"}), metav1.ApplyOptions{FieldManager: "beta"})
	if !apierrors.IsConflict(err) || !strings.Contains(err.Error(), `.data.a`) || !strings.Contains(err.Error(), `"alpha"`) {
		t.Fatalf("conflicting apply: want 409 naming .data.a and alpha, got %v", err)
	}
	cm, err = cms.Apply(ctx, corev1ac.ConfigMap("ssa", "default").WithData(map[string]string{"a": "changed"}), metav1.ApplyOptions{FieldManager: "beta", Force: true})
	if err != nil || cm.Data["a"] != "changed" {
		t.Fatalf("forced apply: %v %+v", err, cm)
	}
	// alpha stops applying b (and no longer owns a): b goes away.
	cm, err = cms.Apply(ctx, corev1ac.ConfigMap("ssa", "default").WithData(map[string]string{"c": "3"}), metav1.ApplyOptions{FieldManager: "alpha"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cm.Data["b"]; ok || cm.Data["a"] != "changed" || cm.Data["c"] != "3" {
		t.Fatalf("after alpha dropped b: %v", cm.Data)
	}
	// An update is recorded too.
	cm, err = cms.Patch(ctx, "ssa", types.MergePatchType, []byte(`{"data":{"d":"4"}}`), metav1.PatchOptions{FieldManager: "patcher"})
	if err != nil {
		t.Fatal(err)
	}
	managers := map[string]metav1.ManagedFieldsOperationType{}
	for _, f := range cm.ManagedFields {
		managers[f.Manager] = f.Operation
	}
	if managers["alpha"] != metav1.ManagedFieldsOperationApply || managers["beta"] != metav1.ManagedFieldsOperationApply || managers["patcher"] != metav1.ManagedFieldsOperationUpdate {
		t.Fatalf("managers %v", managers)
	}
	plain, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "plain"}, Data: map[string]string{"k": "v"}}, metav1.CreateOptions{})
	if err != nil || len(plain.ManagedFields) != 1 || plain.ManagedFields[0].Operation != metav1.ManagedFieldsOperationUpdate {
		t.Fatalf("create records its manager: %v %+v", err, plain.ManagedFields)
	}
	// Apply needs a field manager.
	code, st, body := k.do(t, "PATCH", "/api/v1/namespaces/default/configmaps/ssa", "application/apply-patch+yaml", []byte("apiVersion: v1\nkind: ConfigMap\n"))
	if code != 422 || st == nil {
		t.Fatalf("apply without fieldManager: %d %s", code, body)
	}
}

// TestFieldValidation: unknown fields fail a Strict write as
// kube-apiserver words it, and are warnings otherwise.
func TestFieldValidation(t *testing.T) {
	k := startKapi(t)
	body := []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"fv"},"spec":{"nope":1}}`)
	code, st, raw := k.do(t, "POST", "/api/v1/namespaces/default/configmaps?fieldValidation=Strict", "application/json", body)
	if code != 400 || st == nil || st.Message != `ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field "spec"` {
		t.Fatalf("Strict: %d %s", code, raw)
	}
	hc := k.rawHeaders(t, "POST", "/api/v1/namespaces/default/configmaps", body)
	if !strings.Contains(hc.Get("Warning"), `unknown field \"spec\"`) && !strings.Contains(hc.Get("Warning"), `unknown field "spec"`) {
		t.Fatalf("Warn (the default): Warning header %q", hc.Get("Warning"))
	}
}

// TestDeprecationWarning: requests to a deprecated resource carry kube-
// apiserver's Warning header, which kubectl prints.
func TestDeprecationWarning(t *testing.T) {
	k := startKapi(t)
	h := k.rawHeaders(t, "GET", "/api/v1/namespaces/default/endpoints", nil)
	if !strings.Contains(h.Get("Warning"), "v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice") {
		t.Fatalf("Warning %q", h.Get("Warning"))
	}
	out := k.mustKubectl("", "get", "endpoints")
	if !strings.Contains(out, "Warning: v1 Endpoints is deprecated") {
		t.Fatalf("kubectl get endpoints:\n%s", out)
	}
}
