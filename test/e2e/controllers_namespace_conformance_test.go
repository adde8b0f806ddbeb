package e2e

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/watch"
)

// fakeKubelet registers a Ready Node named name and plays its kubelet
// for the pods bound to it, until the test ends: a pod is reported
// Running, and a pod being deleted (gracefully, as a scheduled pod is) is
// deleted for good, as a kubelet does once the containers stopped.
func fakeKubelet(t *testing.T, k *kapi, name string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	node, err := k.client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	node.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()}}
	if _, err := k.client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	w, err := k.client.CoreV1().Pods("").Watch(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=" + name})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); w.Stop(); <-done })
	go func() {
		defer close(done)
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok || ev.Type == watch.Deleted {
				continue
			}
			pods := k.client.CoreV1().Pods(p.Namespace)
			switch {
			case p.DeletionTimestamp != nil:
				zero := int64(0)
				pods.Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{UID: &p.UID}})
			case p.Status.Phase != corev1.PodRunning:
				p = p.DeepCopy()
				p.Status.Phase = corev1.PodRunning
				p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
				pods.UpdateStatus(ctx, p, metav1.UpdateOptions{})
			}
		}
	}()
}

// TestNamespaceConformance covers the scenarios of upstream's
// `[sig-api-machinery] Namespaces [Serial] [Conformance]` tests
// (test/e2e/apimachinery/namespace.go): pods and services are removed
// with their namespace, a namespace is patched and updated, its status
// changed through the status subresource, and a finalizer added and
// removed through the finalize subresource.
func TestNamespaceConformance(t *testing.T) {
	t.Parallel()
	k := startKapi(t)
	ctx := context.Background()
	namespaces := k.client.CoreV1().Namespaces()
	create := func(name string) {
		t.Helper()
		if _, err := namespaces.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		// "Waiting for a default service account to be provisioned in
		// namespace"
		if err := waitUntil(60*time.Second, func() bool {
			_, err := k.client.CoreV1().ServiceAccounts(name).Get(ctx, "default", metav1.GetOptions{})
			return err == nil
		}); err != nil {
			t.Fatalf("no default service account in %s", name)
		}
	}

	t.Run("pods are removed when a namespace is deleted", func(t *testing.T) {
		fakeKubelet(t, k, "conformance-node")
		create("nsdeletetest")
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "test-pod"},
			Spec: corev1.PodSpec{NodeName: "conformance-node", Containers: []corev1.Container{{Name: "nginx", Image: "registry.k8s.io/pause:3.10"}}}}
		if _, err := k.client.CoreV1().Pods("nsdeletetest").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := waitUntil(60*time.Second, func() bool {
			p, err := k.client.CoreV1().Pods("nsdeletetest").Get(ctx, "test-pod", metav1.GetOptions{})
			return err == nil && p.Status.Phase == corev1.PodRunning
		}); err != nil {
			t.Fatal("the pod never ran")
		}
		deleteNamespace(t, k, "nsdeletetest", 90*time.Second)
		create("nsdeletetest")
		if _, err := k.client.CoreV1().Pods("nsdeletetest").Get(ctx, "test-pod", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Fatalf("the pod is back with its namespace: %v", err)
		}
		deleteNamespace(t, k, "nsdeletetest", 90*time.Second)
	})

	t.Run("services are removed when a namespace is deleted", func(t *testing.T) {
		create("nsdeletetest-svc")
		svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "test-service"}, Spec: corev1.ServiceSpec{
			Selector: map[string]string{"foo": "bar", "baz": "blah"},
			Ports:    []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt(80)}}}}
		if _, err := k.client.CoreV1().Services("nsdeletetest-svc").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		deleteNamespace(t, k, "nsdeletetest-svc", 60*time.Second)
		create("nsdeletetest-svc")
		if _, err := k.client.CoreV1().Services("nsdeletetest-svc").Get(ctx, "test-service", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Fatalf("the service is back with its namespace: %v", err)
		}
	})

	t.Run("patch, update and status of a namespace", func(t *testing.T) {
		create("nspatchtest")
		patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"labels": map[string]string{"testLabel": "testValue"}}})
		if _, err := namespaces.Patch(ctx, "nspatchtest", types.StrategicMergePatchType, patch, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		ns, err := namespaces.Get(ctx, "nspatchtest", metav1.GetOptions{})
		if err != nil || ns.Labels["testLabel"] != "testValue" {
			t.Fatalf("namespace not patched: %v %v", ns.Labels, err)
		}
		// "should apply changes to a namespace status": a condition by
		// a status patch, then one by a status update.
		statusPatch, _ := json.Marshal(map[string]any{"status": map[string]any{"conditions": []map[string]any{{"type": "StatusPatch", "status": "True", "reason": "E2E", "message": "Patched by an e2e test"}}}})
		patched, err := namespaces.Patch(ctx, "nspatchtest", types.StrategicMergePatchType, statusPatch, metav1.PatchOptions{}, "status")
		if err != nil || len(patched.Status.Conditions) != 1 || patched.Status.Conditions[0].Type != "StatusPatch" {
			t.Fatalf("status patch: %+v %v", patched.Status, err)
		}
		patched.Status.Conditions = append(patched.Status.Conditions, corev1.NamespaceCondition{Type: "StatusUpdate", Status: corev1.ConditionTrue, Reason: "E2E", Message: "Updated by an e2e test"})
		updated, err := namespaces.UpdateStatus(ctx, patched, metav1.UpdateOptions{})
		if err != nil || len(updated.Status.Conditions) != 2 || updated.Status.Conditions[1].Type != "StatusUpdate" {
			t.Fatalf("status update: %+v %v", updated.Status, err)
		}
		// "should apply an update to a Namespace"
		updated.Labels["e2e-update"] = "yes"
		if after, err := namespaces.Update(ctx, updated, metav1.UpdateOptions{}); err != nil || after.Labels["e2e-update"] != "yes" {
			t.Fatalf("update: %v %v", after, err)
		}
	})

	t.Run("a finalizer added and removed through finalize", func(t *testing.T) {
		create("nsfinalizetest")
		ns, err := namespaces.Get(ctx, "nsfinalizetest", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ns.Spec.Finalizers = append(ns.Spec.Finalizers, "e2e.example.com/fakeFinalizer")
		withFinalizer, err := namespaces.Finalize(ctx, ns, metav1.UpdateOptions{})
		if err != nil || len(withFinalizer.Spec.Finalizers) != 2 {
			t.Fatalf("finalize adding a finalizer: %v %v", withFinalizer.Spec.Finalizers, err)
		}
		withFinalizer.Spec.Finalizers = []corev1.FinalizerName{corev1.FinalizerKubernetes}
		without, err := namespaces.Finalize(ctx, withFinalizer, metav1.UpdateOptions{})
		if err != nil || len(without.Spec.Finalizers) != 1 || without.Spec.Finalizers[0] != corev1.FinalizerKubernetes {
			t.Fatalf("finalize removing the finalizer: %v %v", without.Spec.Finalizers, err)
		}
	})
}
