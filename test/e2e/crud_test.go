package e2e

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func TestConfigMapLifecycle(t *testing.T) {
	configMapLifecycle(t, startKapi(t))
}

// configMapLifecycle is create, conflicts, the three patches, selectors and
// delete on one kapi; the external etcd test runs it too.
func configMapLifecycle(t *testing.T, k *kapi) {
	ctx := context.Background()
	cms := k.client.CoreV1().ConfigMaps("default")

	cm, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c1", Labels: map[string]string{"app": "x"}}, Data: map[string]string{"a": "1"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cm.UID == "" || cm.ResourceVersion == "" || cm.CreationTimestamp.IsZero() {
		t.Fatalf("created object lacks server fields: %+v", cm.ObjectMeta)
	}
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c1"}}, metav1.CreateOptions{}); !apierrors.IsAlreadyExists(err) {
		t.Fatalf("second create: want AlreadyExists, got %v", err)
	}
	got, err := cms.Get(ctx, "c1", metav1.GetOptions{})
	if err != nil || got.Data["a"] != "1" || got.ResourceVersion != cm.ResourceVersion {
		t.Fatalf("get: %v %+v", err, got)
	}

	// An update with a stale resourceVersion is a conflict.
	got.Data["a"] = "2"
	updated, err := cms.Update(ctx, got, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if updated.ResourceVersion == got.ResourceVersion {
		t.Fatalf("resourceVersion did not change on update")
	}
	got.Data["a"] = "3"
	if _, err := cms.Update(ctx, got, metav1.UpdateOptions{}); !apierrors.IsConflict(err) {
		t.Fatalf("stale update: want Conflict, got %v", err)
	}

	// Patches of the three kinds.
	for _, p := range []struct {
		pt   types.PatchType
		body string
		key  string
		want string
	}{
		{types.JSONPatchType, `[{"op":"add","path":"/data/b","value":"jp"}]`, "b", "jp"},
		{types.MergePatchType, `{"data":{"c":"mp"}}`, "c", "mp"},
		{types.StrategicMergePatchType, `{"data":{"d":"smp"}}`, "d", "smp"},
	} {
		out, err := cms.Patch(ctx, "c1", p.pt, []byte(p.body), metav1.PatchOptions{})
		if err != nil {
			t.Fatalf("%s: %v", p.pt, err)
		}
		if out.Data[p.key] != p.want {
			t.Fatalf("%s: data %v", p.pt, out.Data)
		}
	}

	list, err := cms.List(ctx, metav1.ListOptions{LabelSelector: "app=x"})
	if err != nil || len(list.Items) != 1 {
		t.Fatalf("list by label: %v %d", err, len(list.Items))
	}
	list, err = cms.List(ctx, metav1.ListOptions{LabelSelector: "app=y"})
	if err != nil || len(list.Items) != 0 {
		t.Fatalf("list by other label: %v %d", err, len(list.Items))
	}
	list, err = cms.List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=c1"})
	if err != nil || len(list.Items) != 1 {
		t.Fatalf("list by field: %v %d", err, len(list.Items))
	}

	if err := cms.Delete(ctx, "c1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Get(ctx, "c1", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("get after delete: want NotFound, got %v", err)
	}
}

func TestCreateNeedsNamespace(t *testing.T) {
	k := startKapi(t)
	_, err := k.client.CoreV1().ConfigMaps("nowhere").Create(context.Background(),
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c"}}, metav1.CreateOptions{})
	if !apierrors.IsNotFound(err) {
		t.Fatalf("want NotFound for a missing namespace, got %v", err)
	}
}
