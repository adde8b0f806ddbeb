package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// gcWait is how long a test waits for the garbage collector: generous,
// since the machine may be busy; a test never waits it out unless the
// collector fails.
const gcWait = 90 * time.Second

// gcHold is a finalizer of the tests' own, which keeps a dependent (and
// so an owner deleted in the foreground) until the test removes it.
const gcHold = "example.com/hold"

func gcNamespace(t *testing.T, k *kapi, name string) string {
	t.Helper()
	_, err := k.client.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
	// The tests create Pods at once; ServiceAccount admission needs the
	// namespace's default account, which a loop makes.
	k.waitDefaultServiceAccount(t, name)
	return name
}

// gcOwner is the reference a workload controller sets on what it makes:
// controller and blockOwnerDeletion true.
func gcOwner(apiVersion, kind string, m metav1.Object) metav1.OwnerReference {
	t := true
	return metav1.OwnerReference{APIVersion: apiVersion, Kind: kind, Name: m.GetName(), UID: m.GetUID(), Controller: &t, BlockOwnerDeletion: &t}
}

// gcPlainOwner is a reference that neither controls nor blocks.
func gcPlainOwner(apiVersion, kind string, m metav1.Object) metav1.OwnerReference {
	return metav1.OwnerReference{APIVersion: apiVersion, Kind: kind, Name: m.GetName(), UID: m.GetUID()}
}

// gcRC is a ReplicationController of replicas pods labelled labels.
func gcRC(name string, replicas int32, labels map[string]string) *corev1.ReplicationController {
	return &corev1.ReplicationController{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: corev1.ReplicationControllerSpec{Replicas: &replicas, Selector: labels,
			Template: &corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: gcPodSpec()}}}
}

func gcPodSpec() corev1.PodSpec {
	return corev1.PodSpec{Containers: []corev1.Container{{Name: "nginx", Image: "nginx"}}}
}

// gcPods creates n pods in ns named prefix-i with the owner references,
// as a workload controller would (kapi runs no workload controller), and
// the finalizers (none for most).
func gcPods(t *testing.T, k *kapi, ns, prefix string, n int, labels map[string]string, finalizers []string, owners ...metav1.OwnerReference) []*corev1.Pod {
	t.Helper()
	var out []*corev1.Pod
	for i := 0; i < n; i++ {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%d", prefix, i), Labels: labels, Finalizers: finalizers, OwnerReferences: owners},
			Spec: gcPodSpec()}
		got, err := k.client.CoreV1().Pods(ns).Create(context.Background(), p, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("creating pod %s/%s: %v", ns, p.Name, err)
		}
		out = append(out, got)
	}
	return out
}

// gcWaitGone waits until get answers NotFound.
func gcWaitGone(t *testing.T, what string, get func() error) {
	t.Helper()
	var last error
	if err := waitUntil(gcWait, func() bool {
		last = get()
		return apierrors.IsNotFound(last)
	}); err != nil {
		t.Fatalf("%s is still there: %v (last answer: %v)", what, err, last)
	}
}

// gcWaitPodsGone waits until ns has no pods.
func gcWaitPodsGone(t *testing.T, k *kapi, ns string) {
	t.Helper()
	var n int
	if err := waitUntil(gcWait, func() bool {
		l, err := k.client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			return false
		}
		n = len(l.Items)
		return n == 0
	}); err != nil {
		t.Fatalf("%d pods remain in %s: %v", n, ns, err)
	}
}

// gcRelease removes the test's hold from a pod.
func gcRelease(t *testing.T, k *kapi, ns, name string) {
	t.Helper()
	_, err := k.client.CoreV1().Pods(ns).Patch(context.Background(), name, "application/merge-patch+json",
		[]byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatalf("removing the finalizers of pod %s/%s: %v", ns, name, err)
	}
}

// gcSettled waits until the collector has deleted a fresh ConfigMap whose
// only owner is absent (a uid that never existed): work queued before it
// has then been taken up, so a test can check that something was not
// collected without waiting a fixed time.
func gcSettled(t *testing.T, k *kapi, ns string) {
	t.Helper()
	name := fmt.Sprintf("settled-%d", time.Now().UnixNano())
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, OwnerReferences: []metav1.OwnerReference{
		{APIVersion: "v1", Kind: "ConfigMap", Name: "never-there", UID: "00000000-0000-0000-0000-00000000abcd"}}}}
	if _, err := k.client.CoreV1().ConfigMaps(ns).Create(context.Background(), cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	gcWaitGone(t, "the settling ConfigMap "+name, func() error {
		_, err := k.client.CoreV1().ConfigMaps(ns).Get(context.Background(), name, metav1.GetOptions{})
		return err
	})
}

func gcHas(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// gcMetric reads kapi's /metrics.
func gcMetrics(t *testing.T, k *kapi) string {
	t.Helper()
	raw, err := k.client.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(context.Background())
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	return string(raw)
}

func gcContainsAll(s string, parts ...string) (string, bool) {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return p, false
		}
	}
	return "", true
}
