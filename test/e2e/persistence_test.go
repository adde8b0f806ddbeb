package e2e

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestPersistenceAcrossRestart: objects (and the generated certificates)
// survive a restart on the same data folder, same uid and resourceVersion.
func TestPersistenceAcrossRestart(t *testing.T) {
	k := startKapi(t)
	ctx := context.Background()
	before, err := k.client.CoreV1().ConfigMaps("default").Create(ctx,
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "keep"}, Data: map[string]string{"k": "v"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ca := readFile(t, k.srv.PKI.CACert)
	k.restart()
	after, err := k.client.CoreV1().ConfigMaps("default").Get(ctx, "keep", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if after.UID != before.UID || after.ResourceVersion != before.ResourceVersion || after.Data["k"] != "v" {
		t.Fatalf("after restart: %+v, before: %+v", after.ObjectMeta, before.ObjectMeta)
	}
	if readFile(t, k.srv.PKI.CACert) != ca {
		t.Fatal("the CA was regenerated on restart")
	}
	for _, ns := range []string{"default", "kube-system", "kube-public", "kube-node-lease"} {
		if _, err := k.client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err != nil {
			t.Errorf("namespace %s: %v", ns, err)
		}
	}
}
