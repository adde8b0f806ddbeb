package e2e

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// copier mirrors the ConfigMap "source" into the Secret "derived" with
// server-side apply.
type copier struct{ c client.Client }

func (r *copier) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	if req.Name != "source" {
		return ctrl.Result{}, nil
	}
	var cm corev1.ConfigMap
	if err := r.c.Get(ctx, req.NamespacedName, &cm); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	secret := corev1ac.Secret("derived", req.Namespace).WithStringData(cm.Data)
	return ctrl.Result{}, r.c.Apply(ctx, secret, client.FieldOwner("copier"), client.ForceOwnership)
}

// managerRuns numbers the controllers the tests run in this process:
// controller-runtime refuses a controller's name twice in a process, and
// the tests may run again with -count.
var managerRuns atomic.Int64

// runController runs a controller-runtime manager against k with one
// controller, named name and a number, that reconciles objects of the
// kind of of with the reconciler made from the manager's client. The
// test stops the manager, and fails if it ended in an error.
func runController(t *testing.T, k *kapi, name string, of client.Object, reconciler func(client.Client) reconcile.Reconciler) {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	mgr, err := ctrl.NewManager(k.rest, ctrl.Options{Scheme: scheme, Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := ctrl.NewControllerManagedBy(mgr).Named(fmt.Sprint(name, "-", managerRuns.Add(1))).For(of).Complete(reconciler(mgr.GetClient())); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager: %v", err)
		}
	})
}

// TestControllerRuntime: a controller-runtime manager, with a reconciler
// that watches ConfigMaps and writes a Secret by server-side apply, runs
// against kapi.
func TestControllerRuntime(t *testing.T) {
	k := startKapi(t)
	runController(t, k, "configmap-copier", &corev1.ConfigMap{}, func(c client.Client) reconcile.Reconciler { return &copier{c: c} })

	cms := k.client.CoreV1().ConfigMaps("default")
	if _, err := cms.Create(context.Background(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "source"}, Data: map[string]string{"color": "blue"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitSecret := func(want string) *corev1.Secret {
		t.Helper()
		var s *corev1.Secret
		if err := waitUntil(30*time.Second, func() bool {
			var err error
			s, err = k.client.CoreV1().Secrets("default").Get(context.Background(), "derived", metav1.GetOptions{})
			return err == nil && string(s.Data["color"]) == want
		}); err != nil {
			t.Fatalf("secret never had color=%s: %+v", want, s)
		}
		return s
	}
	s := waitSecret("blue")
	if len(s.ManagedFields) == 0 || s.ManagedFields[0].Manager != "copier" || s.ManagedFields[0].Operation != metav1.ManagedFieldsOperationApply {
		t.Fatalf("secret managed fields %+v", s.ManagedFields)
	}
	if _, err := cms.Patch(context.Background(), "source", types.MergePatchType, []byte(`{"data":{"color":"green"}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	waitSecret("green")
}
