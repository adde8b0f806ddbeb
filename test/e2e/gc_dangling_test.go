package e2e

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func gcConfigMap(t *testing.T, k *kapi, ns, name string, owners ...metav1.OwnerReference) *corev1.ConfigMap {
	t.Helper()
	cm, err := k.client.CoreV1().ConfigMaps(ns).Create(context.Background(),
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, OwnerReferences: owners}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating ConfigMap %s/%s: %v", ns, name, err)
	}
	return cm
}

func gcGetConfigMap(k *kapi, ns, name string) func() error {
	return func() error {
		_, err := k.client.CoreV1().ConfigMaps(ns).Get(context.Background(), name, metav1.GetOptions{})
		return err
	}
}

// gcWaitEvent waits for an event in ns about the object named name with
// reason, and returns it.
func gcWaitEvent(t *testing.T, k *kapi, ns, name, reason string) corev1.Event {
	t.Helper()
	var found corev1.Event
	if err := waitUntil(gcWait, func() bool {
		l, err := k.client.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			return false
		}
		for _, e := range l.Items {
			if e.InvolvedObject.Name == name && e.Reason == reason {
				found = e
				return true
			}
		}
		return false
	}); err != nil {
		t.Fatalf("no %s event about %s in namespace %q: %v", reason, name, ns, err)
	}
	return found
}

// TestGCDanglingReferences: a dependent whose owners are all absent goes,
// absent meaning no such object, another object of that name (another
// uid), or an owner in another namespace (an owner reference names an
// object in the dependent's own namespace), the last with kube's
// OwnerRefInvalidNamespace warning. A cluster-scoped object naming a
// namespaced owner is reported the same way but, as kube does, kept: such
// a reference can never resolve, and the collector does not guess.
func TestGCDanglingReferences(t *testing.T) {
	t.Parallel()
	k := startKapi(t)
	ctx := context.Background()

	t.Run("MissingUID", func(t *testing.T) {
		t.Parallel()
		ns := gcNamespace(t, k, "gc-missing")
		gcConfigMap(t, k, ns, "orphaned", metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: "ghost", UID: "6f0d1f5e-0000-4000-8000-000000000001"})
		gcWaitGone(t, "a dependent of a missing owner", gcGetConfigMap(k, ns, "orphaned"))
	})

	t.Run("OtherUID", func(t *testing.T) {
		t.Parallel()
		ns := gcNamespace(t, k, "gc-otheruid")
		owner := gcConfigMap(t, k, ns, "owner")
		kept := gcConfigMap(t, k, ns, "kept", gcPlainOwner("v1", "ConfigMap", owner))
		stale := gcPlainOwner("v1", "ConfigMap", owner)
		stale.UID = types.UID("6f0d1f5e-0000-4000-8000-000000000002")
		gcConfigMap(t, k, ns, "stale", stale)
		// a reference to a live owner beside an absent one: only the
		// absent one is removed
		both := gcConfigMap(t, k, ns, "both", gcPlainOwner("v1", "ConfigMap", owner), stale)
		gcWaitGone(t, "a dependent of an owner of that name with another uid", gcGetConfigMap(k, ns, "stale"))
		if err := waitUntil(gcWait, func() bool {
			cm, err := k.client.CoreV1().ConfigMaps(ns).Get(ctx, both.Name, metav1.GetOptions{})
			return err == nil && len(cm.OwnerReferences) == 1 && cm.OwnerReferences[0].UID == owner.UID
		}); err != nil {
			t.Fatalf("the absent owner's reference was not removed from %s: %v", both.Name, err)
		}
		gcSettled(t, k, ns)
		for _, name := range []string{owner.Name, kept.Name, both.Name} {
			if err := gcGetConfigMap(k, ns, name)(); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
	})

	t.Run("OtherNamespace", func(t *testing.T) {
		t.Parallel()
		home := gcNamespace(t, k, "gc-home")
		away := gcNamespace(t, k, "gc-away")
		owner := gcConfigMap(t, k, home, "owner")
		gcConfigMap(t, k, away, "astray", gcOwner("v1", "ConfigMap", owner))
		gcWaitGone(t, "a dependent naming an owner of another namespace", gcGetConfigMap(k, away, "astray"))
		ev := gcWaitEvent(t, k, away, "astray", "OwnerRefInvalidNamespace")
		want := fmt.Sprintf("ownerRef [v1/ConfigMap, namespace: %s, name: owner, uid: %s] does not exist in namespace %q", away, owner.UID, away)
		if ev.Type != corev1.EventTypeWarning || ev.Message != want || ev.Source.Component != "garbage-collector-controller" || ev.InvolvedObject.Kind != "ConfigMap" {
			t.Errorf("event: type %s message %q source %q kind %q; want Warning %q from garbage-collector-controller", ev.Type, ev.Message, ev.Source.Component, ev.InvolvedObject.Kind, want)
		}
		if err := gcGetConfigMap(k, home, "owner")(); err != nil {
			t.Errorf("the owner: %v", err)
		}
	})

	t.Run("ClusterScopedDependentOfNamespacedOwner", func(t *testing.T) {
		t.Parallel()
		ns := gcNamespace(t, k, "gc-clusterdep")
		owner := gcConfigMap(t, k, ns, "owner")
		name := "gc-owned-by-a-configmap"
		_, err := k.client.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name,
			OwnerReferences: []metav1.OwnerReference{gcOwner("v1", "ConfigMap", owner)}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// events about cluster-scoped objects are recorded in "default"
		ev := gcWaitEvent(t, k, metav1.NamespaceDefault, name, "OwnerRefInvalidNamespace")
		want := fmt.Sprintf(`ownerRef [v1/ConfigMap, namespace: , name: owner, uid: %s] does not exist in namespace ""`, owner.UID)
		if ev.Type != corev1.EventTypeWarning || ev.Message != want || ev.InvolvedObject.Kind != "ClusterRole" {
			t.Errorf("event: type %s message %q kind %q; want Warning %q", ev.Type, ev.Message, ev.InvolvedObject.Kind, want)
		}
		// Nor is one naming a namespaced owner that exists nowhere.
		nowhere := "gc-owned-by-no-configmap"
		_, err = k.client.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: nowhere,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: "nowhere", UID: "6f0d1f5e-0000-4000-8000-000000000004"}}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// A cluster-scoped dependent of a cluster-scoped owner that is
		// gone is collected; those naming a namespaced owner are not.
		sentinel := "gc-owned-by-a-missing-clusterrole"
		_, err = k.client.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: sentinel,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole", Name: "gone", UID: "6f0d1f5e-0000-4000-8000-000000000003"}}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		gcWaitGone(t, "a cluster-scoped dependent of a missing cluster-scoped owner", func() error {
			_, err := k.client.RbacV1().ClusterRoles().Get(ctx, sentinel, metav1.GetOptions{})
			return err
		})
		for _, n := range []string{name, nowhere} {
			if _, err := k.client.RbacV1().ClusterRoles().Get(ctx, n, metav1.GetOptions{}); apierrors.IsNotFound(err) {
				t.Errorf("the cluster-scoped dependent %s of a namespaced owner was collected; kube keeps it", n)
			}
		}
	})

	t.Run("ClusterScopedOwnerOfNamespacedDependents", func(t *testing.T) {
		t.Parallel()
		a := gcNamespace(t, k, "gc-clusterowner-a")
		b := gcNamespace(t, k, "gc-clusterowner-b")
		owner, err := k.client.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "gc-cluster-owner"}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ref := gcOwner("rbac.authorization.k8s.io/v1", "ClusterRole", owner)
		gcConfigMap(t, k, a, "dep", ref)
		gcConfigMap(t, k, b, "dep", ref)
		// a cluster-scoped owner may own objects of any namespace: they
		// stay while it exists
		gcSettled(t, k, a)
		gcSettled(t, k, b)
		for _, ns := range []string{a, b} {
			if err := gcGetConfigMap(k, ns, "dep")(); err != nil {
				t.Fatalf("the dependent in %s of a live cluster-scoped owner: %v", ns, err)
			}
		}
		if err := k.client.RbacV1().ClusterRoles().Delete(ctx, owner.Name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		for _, ns := range []string{a, b} {
			gcWaitGone(t, "the dependent in "+ns+" of a deleted cluster-scoped owner", gcGetConfigMap(k, ns, "dep"))
		}
	})
}
