package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// TestPaging: limit/continue pages are read at the revision of the first
// page, whatever is written in between.
func TestPaging(t *testing.T) {
	k := startKapi(t, withoutLoops(rootCAPublisher))
	ctx := context.Background()
	cms := k.client.CoreV1().ConfigMaps("default")
	for i := 0; i < 7; i++ {
		if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p%d", i)}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	page, err := cms.List(ctx, metav1.ListOptions{Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 3 || page.Continue == "" || page.RemainingItemCount == nil || *page.RemainingItemCount != 4 {
		t.Fatalf("first page: %d items, continue %q, remaining %v", len(page.Items), page.Continue, page.RemainingItemCount)
	}
	rv := page.ResourceVersion
	// Written after the first page: not in the later pages.
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "p9"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := cms.Delete(ctx, "p6", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	names := []string{}
	for _, it := range page.Items {
		names = append(names, it.Name)
	}
	for page.Continue != "" {
		page, err = cms.List(ctx, metav1.ListOptions{Limit: 3, Continue: page.Continue})
		if err != nil {
			t.Fatal(err)
		}
		if page.ResourceVersion != rv {
			t.Fatalf("page at revision %s, first page at %s", page.ResourceVersion, rv)
		}
		for _, it := range page.Items {
			names = append(names, it.Name)
		}
	}
	if got := fmt.Sprint(names); got != "[p0 p1 p2 p3 p4 p5 p6]" {
		t.Fatalf("paged list %s", got)
	}
	// A selector still fills the page with matching objects.
	page, err = cms.List(ctx, metav1.ListOptions{Limit: 2, FieldSelector: "metadata.name!=p0"})
	if err != nil || len(page.Items) != 2 || page.Items[0].Name != "p1" {
		t.Fatalf("filtered page: %v %v", err, page.Items)
	}
	// resourceVersionMatch=Exact reads the past.
	old, err := cms.List(ctx, metav1.ListOptions{ResourceVersion: rv, ResourceVersionMatch: metav1.ResourceVersionMatchExact})
	if err != nil || len(old.Items) != 7 || old.ResourceVersion != rv {
		t.Fatalf("exact list: %v, %d items at %s", err, len(old.Items), old.ResourceVersion)
	}
	// NotOlderThan a future revision is a timeout, as kube-apiserver says.
	_, err = cms.List(ctx, metav1.ListOptions{ResourceVersion: "999999", ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan})
	if !apierrors.IsTimeout(err) {
		t.Fatalf("future revision: want Timeout, got %v", err)
	}
}

// TestFinalizers: an object with finalizers gets a deletionTimestamp and
// stays until the last finalizer is removed; then it is gone.
func TestFinalizers(t *testing.T) {
	k := startKapi(t)
	ctx := context.Background()
	cms := k.client.CoreV1().ConfigMaps("default")
	cm, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "f", Finalizers: []string{"example.com/hold"}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := cms.Delete(ctx, "f", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	held, err := cms.Get(ctx, "f", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("object with a finalizer is gone: %v", err)
	}
	if held.DeletionTimestamp == nil {
		t.Fatal("no deletionTimestamp")
	}
	// A client cannot undo the deletion.
	held.DeletionTimestamp = nil
	held.Data = map[string]string{"still": "writable"}
	held, err = cms.Update(ctx, held, metav1.UpdateOptions{})
	if err != nil || held.DeletionTimestamp == nil {
		t.Fatalf("update while deleting: %v, deletionTimestamp %v", err, held.DeletionTimestamp)
	}
	_, err = cms.Patch(ctx, "f", types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Get(ctx, "f", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("after the last finalizer: want NotFound, got %v", err)
	}
	_ = cm
}

// TestDeletePreconditions: a delete with a stale uid or resourceVersion
// is a conflict and deletes nothing.
func TestDeletePreconditions(t *testing.T) {
	k := startKapi(t)
	ctx := context.Background()
	cms := k.client.CoreV1().ConfigMaps("default")
	cm, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "d"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	badUID := types.UID("not-the-uid")
	if err := cms.Delete(ctx, "d", metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &badUID}}); !apierrors.IsConflict(err) {
		t.Fatalf("uid precondition: want Conflict, got %v", err)
	}
	stale := "1"
	if err := cms.Delete(ctx, "d", metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: &stale}}); !apierrors.IsConflict(err) {
		t.Fatalf("resourceVersion precondition: want Conflict, got %v", err)
	}
	if err := cms.Delete(ctx, "d", metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &cm.UID, ResourceVersion: &cm.ResourceVersion}}); err != nil {
		t.Fatal(err)
	}
}

// TestStatusSubresource: status writes keep the spec, main writes keep the
// status, and generation follows spec changes only.
func TestStatusSubresource(t *testing.T) {
	k := startKapi(t)
	ctx := context.Background()
	pods := k.client.CoreV1().Pods("default")
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{GenerateName: "web-"},
		Spec:   corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx"}}},
		Status: corev1.PodStatus{Message: "set by a client on create"}}
	pod, err := pods.Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pod.Name) != len("web-")+5 || pod.Generation != 1 || pod.Status.Message != "" {
		t.Fatalf("created: name %q generation %d status %+v", pod.Name, pod.Generation, pod.Status)
	}
	pod.Status.Message = "from status"
	pod.Spec.Containers[0].Image = "ignored-by-status-write"
	pod, err = pods.UpdateStatus(ctx, pod, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pod.Status.Message != "from status" || pod.Spec.Containers[0].Image != "nginx" || pod.Generation != 1 {
		t.Fatalf("after status write: image %q status %q generation %d", pod.Spec.Containers[0].Image, pod.Status.Message, pod.Generation)
	}
	pod.Status.Message = "ignored-by-main-write"
	pod.Spec.Containers[0].Image = "nginx:2"
	pod, err = pods.Update(ctx, pod, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pod.Status.Message != "from status" || pod.Spec.Containers[0].Image != "nginx:2" || pod.Generation != 2 {
		t.Fatalf("after main write: image %q status %q generation %d", pod.Spec.Containers[0].Image, pod.Status.Message, pod.Generation)
	}
	// Immutable metadata.
	pod.UID = "other"
	if _, err := pods.Update(ctx, pod, metav1.UpdateOptions{}); !apierrors.IsInvalid(err) {
		t.Fatalf("changing uid: want Invalid, got %v", err)
	}
}

// TestNamespaceDeletion: a deleted namespace is Terminating, refuses new
// objects (403), and goes away with its contents.
func TestNamespaceDeletion(t *testing.T) {
	k := startKapi(t)
	ctx := context.Background()
	if _, err := k.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "doomed"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cms := k.client.CoreV1().ConfigMaps("doomed")
	for i := 0; i < 3; i++ {
		if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("c%d", i)}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := k.client.CoreV1().Namespaces().Delete(ctx, "doomed", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	ns, err := k.client.CoreV1().Namespaces().Get(ctx, "doomed", metav1.GetOptions{})
	if err == nil {
		if ns.Status.Phase != corev1.NamespaceTerminating {
			t.Fatalf("phase %s after delete", ns.Status.Phase)
		}
		if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "late"}}, metav1.CreateOptions{}); err != nil && !apierrors.IsForbidden(err) && !apierrors.IsNotFound(err) {
			t.Fatalf("create in a terminating namespace: want Forbidden, got %v", err)
		}
	}
	if err := waitUntil(30*time.Second, func() bool {
		_, err := k.client.CoreV1().Namespaces().Get(ctx, "doomed", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	}); err != nil {
		t.Fatal("namespace still there 30s after its deletion")
	}
	list, err := cms.List(ctx, metav1.ListOptions{})
	if err != nil || len(list.Items) != 0 {
		t.Fatalf("contents after namespace deletion: %v %d", err, len(list.Items))
	}
}

// TestDeleteCollectionAndDryRun: deletecollection deletes what the
// selector picks; dry-run writes validate and store nothing.
func TestDeleteCollectionAndDryRun(t *testing.T) {
	k := startKapi(t, withoutLoops(rootCAPublisher))
	ctx := context.Background()
	cms := k.client.CoreV1().ConfigMaps("default")
	for i := 0; i < 4; i++ {
		tier := "keep"
		if i%2 == 0 {
			tier = "drop"
		}
		if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("dc%d", i), Labels: map[string]string{"tier": tier}}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := cms.DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: "tier=drop"}); err != nil {
		t.Fatal(err)
	}
	list, err := cms.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, it := range list.Items {
		names = append(names, it.Name)
	}
	if fmt.Sprint(names) != "[dc1 dc3]" {
		t.Fatalf("after deletecollection: %v", names)
	}

	dry := []string{metav1.DryRunAll}
	out, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "dry"}}, metav1.CreateOptions{DryRun: dry})
	if err != nil || out.Name != "dry" || out.UID == "" {
		t.Fatalf("dry-run create: %v %+v", err, out)
	}
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "Bad"}}, metav1.CreateOptions{DryRun: dry}); !apierrors.IsInvalid(err) {
		t.Fatalf("dry-run create of an invalid object: want Invalid, got %v", err)
	}
	if _, err := cms.Get(ctx, "dry", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("dry-run create stored the object: %v", err)
	}
	cur, _ := cms.Get(ctx, "dc1", metav1.GetOptions{})
	cur.Data = map[string]string{"x": "y"}
	if _, err := cms.Update(ctx, cur, metav1.UpdateOptions{DryRun: dry}); err != nil {
		t.Fatal(err)
	}
	if err := cms.Delete(ctx, "dc3", metav1.DeleteOptions{DryRun: dry}); err != nil {
		t.Fatal(err)
	}
	after, err := cms.Get(ctx, "dc1", metav1.GetOptions{})
	if err != nil || after.Data != nil || after.ResourceVersion != cur.ResourceVersion {
		t.Fatalf("dry-run update changed the object: %v %+v", err, after)
	}
	if _, err := cms.Get(ctx, "dc3", metav1.GetOptions{}); err != nil {
		t.Fatalf("dry-run delete deleted: %v", err)
	}
	// A create with a resourceVersion is refused as kube-apiserver refuses it.
	_, err = cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "rv", ResourceVersion: "5"}}, metav1.CreateOptions{})
	if st, ok := err.(apierrors.APIStatus); !ok || st.Status().Code != 500 {
		t.Fatalf("create with a resourceVersion: %v", err)
	}
}
