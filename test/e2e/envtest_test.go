package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// envtestAssets is a KUBEBUILDER_ASSETS directory as setup-envtest makes
// one, with kapi's binary as its kube-apiserver, beside the etcd and
// kubectl the tests build.
func envtestAssets(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	for name, src := range map[string]string{"kube-apiserver": bins.kapi, "etcd": bins.etcd, "kubectl": bins.kubectl} {
		if err := os.Symlink(src, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// envtestCRDDir is a folder holding the Gadget CRD, for CRDDirectoryPaths.
func envtestCRDDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "gadgets.yaml"), []byte(envtestCRD), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

const envtestCRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.envtest.example.com
spec:
  group: envtest.example.com
  scope: Namespaced
  names: {plural: gadgets, singular: gadget, kind: Gadget, listKind: GadgetList}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer}
          status:
            type: object
            properties:
              ready: {type: boolean}
              configMap: {type: string}
`

var gadgetGVK = schema.GroupVersionKind{Group: "envtest.example.com", Version: "v1", Kind: "Gadget"}

func gadget(ns, name string, size int64) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gadgetGVK)
	u.SetNamespace(ns)
	u.SetName(name)
	unstructured.SetNestedField(u.Object, size, "spec", "size")
	return u
}

// gadgetReconciler gives each Gadget a ConfigMap it owns and reports it
// in the Gadget's status.
type gadgetReconciler struct{ client.Client }

func (r gadgetReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	g := &unstructured.Unstructured{}
	g.SetGroupVersionKind(gadgetGVK)
	if err := r.Get(ctx, req.NamespacedName, g); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if g.GetDeletionTimestamp() != nil {
		return ctrl.Result{}, nil
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: g.GetNamespace(), Name: g.GetName() + "-data",
		OwnerReferences: []metav1.OwnerReference{{APIVersion: gadgetGVK.GroupVersion().String(), Kind: gadgetGVK.Kind,
			Name: g.GetName(), UID: g.GetUID(), Controller: ptr(true), BlockOwnerDeletion: ptr(true)}}},
		Data: map[string]string{"size": fmt.Sprint(g.Object["spec"].(map[string]any)["size"])}}
	if err := r.Create(ctx, cm); err != nil && !apierrors.IsAlreadyExists(err) {
		return ctrl.Result{}, err
	}
	if ready, _, _ := unstructured.NestedBool(g.Object, "status", "ready"); ready {
		return ctrl.Result{}, nil
	}
	unstructured.SetNestedField(g.Object, true, "status", "ready")
	unstructured.SetNestedField(g.Object, cm.Name, "status", "configMap")
	return ctrl.Result{}, r.Status().Update(ctx, g)
}

// TestEnvtest: controller-runtime's envtest, unchanged, runs kapi as its
// kube-apiserver: its flags, its certificates and admin user, its CRD
// installation from a directory and its webhook installation; a
// reconciler writes status, the garbage collector removes what a deleted
// Gadget owned, a namespace's deletion completes (no controller-manager
// runs beside envtest), and envtest's SIGTERM stops kapi cleanly.
func TestEnvtest(t *testing.T) {
	t.Parallel()
	crdDir := envtestCRDDir(t)
	fail := admissionregistrationv1.Fail
	none := admissionregistrationv1.SideEffectClassNone
	env := &envtest.Environment{
		BinaryAssetsDirectory: envtestAssets(t),
		CRDDirectoryPaths:     []string{crdDir},
		ErrorIfCRDPathMissing: true,
		WebhookInstallOptions: envtest.WebhookInstallOptions{
			ValidatingWebhooks: []*admissionregistrationv1.ValidatingWebhookConfiguration{{
				ObjectMeta: metav1.ObjectMeta{Name: "gadget-size"},
				TypeMeta:   metav1.TypeMeta{APIVersion: "admissionregistration.k8s.io/v1", Kind: "ValidatingWebhookConfiguration"},
				Webhooks: []admissionregistrationv1.ValidatingWebhook{{
					Name: "size.gadgets.envtest.example.com", AdmissionReviewVersions: []string{"v1"},
					SideEffects: &none, FailurePolicy: &fail,
					ClientConfig: admissionregistrationv1.WebhookClientConfig{
						Service: &admissionregistrationv1.ServiceReference{Namespace: "system", Name: "webhook", Path: ptr("/validate-gadget")}},
					Rules: []admissionregistrationv1.RuleWithOperations{{
						Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
						Rule: admissionregistrationv1.Rule{APIGroups: []string{"envtest.example.com"}, APIVersions: []string{"v1"},
							Resources: []string{"gadgets"}}}},
				}},
			}},
		},
	}
	began := time.Now()
	cfg, err := env.Start()
	if err != nil {
		env.Stop()
		t.Fatalf("envtest with kapi as kube-apiserver: %v", err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			env.Stop()
		}
	})
	t.Logf("envtest started etcd and kapi in %v", time.Since(began).Round(time.Millisecond))

	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	wio := env.WebhookInstallOptions
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:  scheme,
		Metrics: metricsserver.Options{BindAddress: "0"},
		WebhookServer: webhook.NewServer(webhook.Options{
			Host: wio.LocalServingHost, Port: wio.LocalServingPort, CertDir: wio.LocalServingCertDir}),
	})
	if err != nil {
		t.Fatal(err)
	}
	mgr.GetWebhookServer().Register("/validate-gadget", &webhook.Admission{Handler: admission.HandlerFunc(
		func(ctx context.Context, req admission.Request) admission.Response {
			g := &unstructured.Unstructured{}
			if err := g.UnmarshalJSON(req.Object.Raw); err != nil {
				return admission.Errored(http.StatusBadRequest, err)
			}
			if size, _, _ := unstructured.NestedInt64(g.Object, "spec", "size"); size < 0 {
				return admission.Denied("size must not be negative")
			}
			return admission.Allowed("")
		})})
	owned := &unstructured.Unstructured{}
	owned.SetGroupVersionKind(gadgetGVK)
	if err := ctrl.NewControllerManagedBy(mgr).For(owned).Complete(gadgetReconciler{mgr.GetClient()}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager: %v", err)
		}
	}()

	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	// envtest's admin is a client certificate signed by envtest's own CA
	// (--client-ca-file), in group system:masters.
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "envtest-a"}}); err != nil {
		t.Fatal(err)
	}

	// A user envtest makes (a client certificate of its CA) is who the
	// certificate says, and RBAC applies to it.
	alice, err := env.AddUser(envtest.User{Name: "alice", Groups: []string{"team"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ac, err := client.New(alice.Config(), client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	err = ac.List(ctx, &corev1.SecretList{}, client.InNamespace("envtest-a"))
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `User "alice" cannot list resource "secrets"`) {
		t.Fatalf("alice's list of secrets: %v", err)
	}

	// The CRD from the directory is served; the webhook envtest installed
	// is called.
	// envtest waits until the webhook configuration exists; kapi, like
	// kube-apiserver, loads it from a watch a moment later, and the
	// manager's webhook server starts in the background. So the refusal
	// is awaited (a gadget let in before is deleted).
	started := mgr.GetWebhookServer().StartedChecker()
	if werr := waitUntil(30*time.Second, func() bool { return started(nil) == nil }); werr != nil {
		t.Fatal("the manager's webhook server did not start")
	}
	if werr := waitUntil(30*time.Second, func() bool {
		err = c.Create(ctx, gadget("envtest-a", "negative", -1))
		if err == nil {
			if derr := c.Delete(ctx, gadget("envtest-a", "negative", -1)); derr != nil {
				t.Fatal(derr)
			}
		}
		return err != nil
	}); werr != nil || !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "size must not be negative") {
		t.Fatalf("a gadget the webhook refuses: %v", err)
	}
	if err := c.Create(ctx, gadget("envtest-a", "one", 3)); err != nil {
		t.Fatal(err)
	}

	// The reconciler writes status and makes the owned ConfigMap.
	g := &unstructured.Unstructured{}
	g.SetGroupVersionKind(gadgetGVK)
	if err := waitUntil(30*time.Second, func() bool {
		if c.Get(ctx, client.ObjectKey{Namespace: "envtest-a", Name: "one"}, g) != nil {
			return false
		}
		ready, _, _ := unstructured.NestedBool(g.Object, "status", "ready")
		return ready
	}); err != nil {
		t.Fatalf("the reconciler's status: %v (last %v)", err, g.Object["status"])
	}
	cm := &corev1.ConfigMap{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: "envtest-a", Name: "one-data"}, cm); err != nil || cm.Data["size"] != "3" {
		t.Fatalf("the owned ConfigMap: %v %v", err, cm.Data)
	}

	// Garbage collection: the Gadget goes, then what it owned.
	if err := c.Delete(ctx, g); err != nil {
		t.Fatal(err)
	}
	if err := waitUntil(30*time.Second, func() bool {
		return apierrors.IsNotFound(c.Get(ctx, client.ObjectKey{Namespace: "envtest-a", Name: "one-data"}, &corev1.ConfigMap{}))
	}); err != nil {
		t.Fatalf("the deleted Gadget's ConfigMap was not collected: %v", err)
	}

	// A namespace with a Gadget, its ConfigMap and more is deleted to the
	// end.
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "envtest-b"}}); err != nil {
		t.Fatal(err)
	}
	if err := c.Create(ctx, gadget("envtest-b", "two", 1)); err != nil {
		t.Fatal(err)
	}
	if err := waitUntil(30*time.Second, func() bool {
		return c.Get(ctx, client.ObjectKey{Namespace: "envtest-b", Name: "two-data"}, &corev1.ConfigMap{}) == nil
	}); err != nil {
		t.Fatalf("the second Gadget's ConfigMap: %v", err)
	}
	if err := c.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "envtest-b", Name: "s"}}); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "envtest-b"}}); err != nil {
		t.Fatal(err)
	}
	ns := &corev1.Namespace{}
	if err := waitUntil(60*time.Second, func() bool {
		return apierrors.IsNotFound(c.Get(ctx, client.ObjectKey{Name: "envtest-b"}, ns))
	}); err != nil {
		t.Fatalf("namespace envtest-b was not deleted: %v (phase %s, conditions %v)", err, ns.Status.Phase, ns.Status.Conditions)
	}

	// envtest stops kapi with SIGTERM and waits for it to exit; a kapi
	// still running after envtest's stop timeout is an error here.
	cancel()
	if err := <-done; err != nil {
		t.Errorf("manager: %v", err)
	}
	done <- nil
	stopped = true
	if err := env.Stop(); err != nil {
		t.Fatalf("envtest's stop: %v", err)
	}
}

// BenchmarkStartEnvtest: envtest.Environment.Start (its etcd, then kapi as
// its kube-apiserver, until /healthz is 200 and its CRDs are installed) and
// Stop, as a controller-runtime test suite pays them. The issue measured
// kube-apiserver 1.32 with etcd 3.5 at 3.3 s on the same 2-core machine.
//
//	go test -run XXX -bench StartEnvtest -benchtime 10x ./test/e2e
func BenchmarkStartEnvtest(b *testing.B) {
	crdDir, assets := envtestCRDDir(b), envtestAssets(b)
	var start, stop time.Duration
	for b.Loop() {
		env := &envtest.Environment{BinaryAssetsDirectory: assets, CRDDirectoryPaths: []string{crdDir}}
		t0 := time.Now()
		if _, err := env.Start(); err != nil {
			env.Stop()
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := env.Stop(); err != nil {
			b.Fatal(err)
		}
		start += t1.Sub(t0)
		stop += time.Since(t1)
	}
	b.ReportMetric(start.Seconds()/float64(b.N), "start-s/op")
	b.ReportMetric(stop.Seconds()/float64(b.N), "stop-s/op")
}
