package kapitest_test

import (
	"context"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"kapi/pkg/kapitest"
)

// widgetGVK is the kind of testdata/crds/widgets.yaml.
var widgetGVK = schema.GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Widget"}

// widgetReconciler is the controller under test: it copies a Widget's
// spec.size to status.observedSize.
type widgetReconciler struct{ client.Client }

func (r widgetReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	w := &unstructured.Unstructured{}
	w.SetGroupVersionKind(widgetGVK)
	if err := r.Get(ctx, req.NamespacedName, w); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	size, _, _ := unstructured.NestedInt64(w.Object, "spec", "size")
	if observed, ok, _ := unstructured.NestedInt64(w.Object, "status", "observedSize"); ok && observed == size {
		return ctrl.Result{}, nil
	}
	unstructured.SetNestedField(w.Object, size, "status", "observedSize")
	return ctrl.Result{}, r.Status().Update(ctx, w)
}

// startManager runs a controller-runtime manager with the widget
// reconciler against s until the test ends.
func startManager(t *testing.T, s *kapitest.Server) client.Client {
	t.Helper()
	mgr, err := ctrl.NewManager(s.Config, ctrl.Options{
		Metrics:                metricsserver.Options{BindAddress: "0"}, // no metrics listener
		HealthProbeBindAddress: "0",
		// Controller names are unique per process; tests that run
		// several managers side by side say they mean it.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		t.Fatal(err)
	}
	w := &unstructured.Unstructured{}
	w.SetGroupVersionKind(widgetGVK)
	if err := ctrl.NewControllerManagedBy(mgr).For(w).Complete(widgetReconciler{mgr.GetClient()}); err != nil {
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
	return mgr.GetClient()
}

// TestControllerRuntime is what a controller's test looks like with
// kapitest: a kapi of its own with the CRDs of a folder, a manager running
// the reconciler against it, and a client checking what the reconciler
// did. Everything stops when the test ends.
func TestControllerRuntime(t *testing.T) {
	t.Parallel()
	s := kapitest.Start(t, kapitest.CRDs("testdata/crds"))
	c := startManager(t, s)

	w := &unstructured.Unstructured{}
	w.SetGroupVersionKind(widgetGVK)
	w.SetNamespace("default")
	w.SetName("w1")
	unstructured.SetNestedField(w.Object, int64(3), "spec", "size")
	if err := c.Create(context.Background(), w); err != nil {
		t.Fatal(err)
	}
	waitObservedSize(t, c, "default", "w1", 3)
}

// waitObservedSize waits until the reconciler has written size into the
// widget's status.
func waitObservedSize(t *testing.T, c client.Client, ns, name string, size int64) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 10*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		w := &unstructured.Unstructured{}
		w.SetGroupVersionKind(widgetGVK)
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, w); err != nil {
			return false, err
		}
		got, ok, _ := unstructured.NestedInt64(w.Object, "status", "observedSize")
		return ok && got == size, nil
	})
	if err != nil {
		t.Fatalf("widget %s/%s never got status.observedSize %d: %v", ns, name, size, err)
	}
}

// ExampleStart shows a test's use of kapitest (see TestControllerRuntime
// in example_test.go for one that runs).
func ExampleStart() {
	_ = func(t *testing.T) {
		s := kapitest.Start(t,
			kapitest.CRDs("testdata/crds"),                     // CRDs from a folder, served when Start returns
			kapitest.Controllers("*", "-namespace-controller"), // kapi's loops, as --controllers
		)
		admin, _ := client.New(s.Config, client.Options{})
		alice, _ := client.New(s.ConfigFor("alice", "developers"), client.Options{})
		_ = admin.List(context.Background(), &unstructured.UnstructuredList{Object: map[string]any{
			"apiVersion": "example.com/v1", "kind": "WidgetList"}})
		_ = alice // a user RBAC grants nothing yet: every request is a 403
	}
}
