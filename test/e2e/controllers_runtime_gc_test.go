package e2e

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// gizmoDataReconciler makes, for each Gizmo, a ConfigMap <name>-data
// that the Gizmo controls (controllerutil.SetControllerReference: a
// controller owner reference with blockOwnerDeletion), as operators do.
type gizmoDataReconciler struct{ c client.Client }

func (r *gizmoDataReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	g := &unstructured.Unstructured{}
	g.SetGroupVersionKind(gizmoGVK)
	if err := r.c.Get(ctx, req.NamespacedName, g); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if g.GetDeletionTimestamp() != nil {
		return ctrl.Result{}, nil
	}
	value, _, _ := unstructured.NestedString(g.Object, "spec", "value")
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: req.Name + "-data", Namespace: req.Namespace}}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return ctrl.Result{}, err
	}
	_, err := controllerutil.CreateOrUpdate(ctx, r.c, cm, func() error {
		cm.Data = map[string]string{"value": value}
		return controllerutil.SetControllerReference(g, cm, scheme)
	})
	return ctrl.Result{}, err
}

// TestControllerRuntimeGarbageCollection: a controller-runtime manager's
// owned objects are collected by kapi's garbage collector, as in a
// cluster (and unlike envtest, which runs no garbage collector): deleting
// the owner in the background removes the owned ConfigMap; deleting it in
// the foreground keeps the owner, with the foregroundDeletion finalizer,
// until the ConfigMap is gone.
func TestControllerRuntimeGarbageCollection(t *testing.T) {
	t.Parallel()
	k := startKapi(t)
	ctx := context.Background()
	crd := k.createCRD(t, gizmoCRD())
	k.waitEstablished(t, crd.Name)
	gizmos := k.crs(crd, "v1", "default")
	watched := &unstructured.Unstructured{}
	watched.SetGroupVersionKind(gizmoGVK)
	runController(t, k, "gizmo-data", watched, func(c client.Client) reconcile.Reconciler { return &gizmoDataReconciler{c: c} })

	for _, name := range []string{"background", "foreground"} {
		g := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"value": name}}}
		g.SetGroupVersionKind(gizmoGVK)
		g.SetName(name)
		if _, err := gizmos.Create(ctx, g, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := waitUntil(30*time.Second, func() bool {
			cm, err := k.client.CoreV1().ConfigMaps("default").Get(ctx, name+"-data", metav1.GetOptions{})
			return err == nil && len(cm.OwnerReferences) == 1 && cm.OwnerReferences[0].BlockOwnerDeletion != nil
		}); err != nil {
			t.Fatalf("the controller never made %s-data", name)
		}
	}
	gone := func(get func() error) func() bool {
		return func() bool { return apierrors.IsNotFound(get()) }
	}
	cmGone := func(name string) func() bool {
		return gone(func() error {
			_, err := k.client.CoreV1().ConfigMaps("default").Get(ctx, name, metav1.GetOptions{})
			return err
		})
	}

	background := metav1.DeletePropagationBackground
	if err := gizmos.Delete(ctx, "background", metav1.DeleteOptions{PropagationPolicy: &background}); err != nil {
		t.Fatal(err)
	}
	if err := waitUntil(60*time.Second, cmGone("background-data")); err != nil {
		t.Fatal("the owned ConfigMap outlived its owner deleted in the background")
	}

	foreground := metav1.DeletePropagationForeground
	if err := gizmos.Delete(ctx, "foreground", metav1.DeleteOptions{PropagationPolicy: &foreground}); err != nil {
		t.Fatal(err)
	}
	// The owner waits for its dependent: it is either still there with
	// the finalizer, or gone only after the ConfigMap.
	if g, err := gizmos.Get(ctx, "foreground", metav1.GetOptions{}); err == nil {
		found := false
		for _, f := range g.GetFinalizers() {
			found = found || f == metav1.FinalizerDeleteDependents
		}
		if !found || g.GetDeletionTimestamp() == nil {
			t.Fatalf("owner deleted in the foreground: finalizers %v, deletionTimestamp %v", g.GetFinalizers(), g.GetDeletionTimestamp())
		}
	} else if !apierrors.IsNotFound(err) {
		t.Fatal(err)
	} else if !cmGone("foreground-data")() {
		t.Fatal("the owner deleted in the foreground went before its dependent")
	}
	if err := waitUntil(60*time.Second, cmGone("foreground-data")); err != nil {
		t.Fatal("the owned ConfigMap outlived its owner deleted in the foreground")
	}
	if err := waitUntil(60*time.Second, gone(func() error {
		_, err := gizmos.Get(ctx, "foreground", metav1.GetOptions{})
		return err
	})); err != nil {
		t.Fatal("the owner deleted in the foreground stayed after its dependent went")
	}
}
