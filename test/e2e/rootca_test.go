package e2e

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// TestRootCAConfigMap: every namespace, old and new, gets ConfigMap
// kube-root-ca.crt holding kapi's CA under ca.crt with kube's description
// annotation; deleted, it comes back; changed, it is put right.
func TestRootCAConfigMap(t *testing.T) {
	k := startKapi(t)
	ctx := context.Background()
	ca := readFile(t, k.srv.PKI.CACert)
	const name = "kube-root-ca.crt"
	// published waits for a right kube-root-ca.crt in ns other than the
	// object of uid not, and returns it.
	published := func(ns string, not types.UID) *corev1.ConfigMap {
		t.Helper()
		var cm *corev1.ConfigMap
		err := waitUntil(60*time.Second, func() bool {
			got, err := k.client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil || got.UID == not {
				return false
			}
			cm = got
			return len(got.Data) == 1 && got.Data["ca.crt"] == ca && got.Annotations["kubernetes.io/description"] != ""
		})
		if err != nil {
			t.Fatalf("%s/%s: %v; last seen %+v", ns, name, err, cm)
		}
		return cm
	}
	for _, ns := range []string{"default", "kube-system", "kube-public"} {
		published(ns, "")
	}
	if _, err := k.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "rca"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cm := published("rca", "")
	const want = "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters."
	if got := cm.Annotations["kubernetes.io/description"]; got != want {
		t.Errorf("description %q, want %q", got, want)
	}

	if err := k.client.CoreV1().ConfigMaps("rca").Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	cm = published("rca", cm.UID)

	changed := cm.DeepCopy()
	changed.Data = map[string]string{"ca.crt": "not a CA", "extra": "x"}
	delete(changed.Annotations, "kubernetes.io/description")
	if _, err := k.client.CoreV1().ConfigMaps("rca").Update(ctx, changed, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	fixed := published("rca", "")
	if fixed.UID != cm.UID {
		t.Errorf("the changed ConfigMap was replaced (uid %s, was %s), not updated", fixed.UID, cm.UID)
	}
}
