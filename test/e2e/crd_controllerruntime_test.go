package e2e

import (
	"context"
	"sync"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// gizmoGVK is the kind of gizmoCRD.
var gizmoGVK = schema.GroupVersionKind{Group: "ctrl.example.com", Version: "v1", Kind: "Gizmo"}

// gizmoCRD is a namespaced CRD of Gizmos with a status subresource:
// spec.value, status.observed and status.observedGeneration.
func gizmoCRD() *apiextensionsv1.CustomResourceDefinition {
	return &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "gizmos.ctrl.example.com"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: gizmoGVK.Group, Scope: apiextensionsv1.NamespaceScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "gizmos", Singular: "gizmo", Kind: "Gizmo", ListKind: "GizmoList"},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: "v1", Served: true, Storage: true,
				Subresources: &apiextensionsv1.CustomResourceSubresources{Status: &apiextensionsv1.CustomResourceSubresourceStatus{}},
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type: "object",
					Properties: props{
						"spec": {Type: "object", Properties: props{"value": {Type: "string"}}},
						"status": {Type: "object", Properties: props{
							"observed":           {Type: "string"},
							"observedGeneration": {Type: "integer"},
						}},
					},
				}},
			}},
		},
	}
}

// gizmoReconciler writes status.observed = spec.value and
// status.observedGeneration = metadata.generation through the status
// subresource, reading Gizmos as unstructured objects.
type gizmoReconciler struct {
	c          client.Client
	mu         sync.Mutex
	reconciles map[string]int
}

func (r *gizmoReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	r.mu.Lock()
	r.reconciles[req.Name]++
	r.mu.Unlock()
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gizmoGVK)
	if err := r.c.Get(ctx, req.NamespacedName, u); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	value, _, _ := unstructured.NestedString(u.Object, "spec", "value")
	observed, _, _ := unstructured.NestedString(u.Object, "status", "observed")
	og, _, _ := unstructured.NestedInt64(u.Object, "status", "observedGeneration")
	if observed == value && og == u.GetGeneration() {
		return ctrl.Result{}, nil
	}
	if err := unstructured.SetNestedField(u.Object, value, "status", "observed"); err != nil {
		return ctrl.Result{}, err
	}
	if err := unstructured.SetNestedField(u.Object, u.GetGeneration(), "status", "observedGeneration"); err != nil {
		return ctrl.Result{}, err
	}
	// A conflict (the object changed meanwhile) is retried.
	return ctrl.Result{}, r.c.Status().Update(ctx, u)
}

func (r *gizmoReconciler) count(name string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reconciles[name]
}

// TestCRDControllerRuntime: a controller-runtime manager whose reconciler
// watches custom resources as unstructured objects and writes their
// status through the status subresource runs against kapi: status
// arrives, spec changes bump the generation and are reconciled again,
// status writes do not bump the generation, and client-go's dynamic
// client gets, lists and watches the same objects.
func TestCRDControllerRuntime(t *testing.T) {
	k := startKapi(t)
	ctx := context.Background()
	crd := k.createCRD(t, gizmoCRD())
	gizmos := k.crs(crd, "v1", "default")

	r := &gizmoReconciler{reconciles: map[string]int{}}
	watched := &unstructured.Unstructured{}
	watched.SetGroupVersionKind(gizmoGVK)
	runController(t, k, "gizmo-status", watched, func(c client.Client) reconcile.Reconciler {
		r.c = c
		return r
	})

	// waitStatus waits until name's status is observed=value,
	// observedGeneration=gen and returns the object.
	waitStatus := func(name, value string, gen int64) *unstructured.Unstructured {
		t.Helper()
		var u *unstructured.Unstructured
		if err := waitUntil(30*time.Second, func() bool {
			var err error
			u, err = gizmos.Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false
			}
			obs, _, _ := unstructured.NestedString(u.Object, "status", "observed")
			og, _, _ := unstructured.NestedInt64(u.Object, "status", "observedGeneration")
			return obs == value && og == gen
		}); err != nil {
			var st interface{}
			if u != nil {
				st = u.Object["status"]
			}
			t.Fatalf("%s never had status observed=%s observedGeneration=%d: status %v (%d reconciles)", name, value, gen, st, r.count(name))
		}
		return u
	}
	gizmo := func(name, value string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: map[string]interface{}{"spec": map[string]interface{}{"value": value}}}
		u.SetGroupVersionKind(gizmoGVK)
		u.SetName(name)
		u.SetLabels(map[string]string{"app": "gizmo"})
		return u
	}

	// With a status subresource, a create drops the status it is given.
	g1 := gizmo("g1", "one")
	g1.Object["status"] = map[string]interface{}{"observed": "forged", "observedGeneration": int64(9)}
	created, err := gizmos.Create(ctx, g1, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if created.GetGeneration() != 1 {
		t.Fatalf("generation %d on create", created.GetGeneration())
	}
	if _, found, _ := unstructured.NestedMap(created.Object, "status"); found {
		t.Errorf("status on create: %v", created.Object["status"])
	}
	u := waitStatus("g1", "one", 1)
	if u.GetGeneration() != 1 {
		t.Errorf("generation %d after the controller's status write, want 1 (status writes do not bump it)", u.GetGeneration())
	}
	if u.GetResourceVersion() == created.GetResourceVersion() {
		t.Errorf("the status write kept resourceVersion %s", u.GetResourceVersion())
	}
	statusEntry := false
	for _, mf := range u.GetManagedFields() {
		if mf.Subresource == "status" && mf.Operation == metav1.ManagedFieldsOperationUpdate {
			statusEntry = true
		}
	}
	if !statusEntry {
		t.Errorf("no managedFields entry of the status subresource: %+v", u.GetManagedFields())
	}

	// A spec change bumps the generation and is reconciled.
	patched, err := gizmos.Patch(ctx, "g1", types.MergePatchType, []byte(`{"spec":{"value":"two"}}`), metav1.PatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if patched.GetGeneration() != 2 {
		t.Fatalf("generation %d after a spec change, want 2", patched.GetGeneration())
	}
	u = waitStatus("g1", "two", 2)
	if u.GetGeneration() != 2 {
		t.Errorf("generation %d after the second status write, want 2", u.GetGeneration())
	}

	// Through the main resource the status is ignored (and the generation
	// stays); through the status subresource the spec is.
	u.Object["status"] = map[string]interface{}{"observed": "hacked", "observedGeneration": int64(7)}
	u.SetAnnotations(map[string]string{"note": "x"})
	upd, err := gizmos.Update(ctx, u, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if obs, _, _ := unstructured.NestedString(upd.Object, "status", "observed"); obs != "two" || upd.GetGeneration() != 2 || upd.GetAnnotations()["note"] != "x" {
		t.Errorf("update of the main resource: status %v generation %d annotations %v, want status kept, generation 2, the annotation",
			upd.Object["status"], upd.GetGeneration(), upd.GetAnnotations())
	}
	_ = unstructured.SetNestedField(upd.Object, "sneaky", "spec", "value")
	_ = unstructured.SetNestedField(upd.Object, "manual", "status", "observed")
	st, err := gizmos.UpdateStatus(ctx, upd, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if v, _, _ := unstructured.NestedString(st.Object, "spec", "value"); v != "two" || st.GetGeneration() != 2 {
		t.Errorf("status update: spec.value %q generation %d, want the spec kept (two) and generation 2", v, st.GetGeneration())
	}
	// The controller sees the status change and puts its status back.
	waitStatus("g1", "two", 2)

	// client-go's dynamic client: get, list and watch.
	got, err := gizmos.Get(ctx, "g1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.GroupVersionKind() != gizmoGVK || got.GetUID() != created.GetUID() {
		t.Errorf("get: %v %s", got.GroupVersionKind(), got.GetUID())
	}
	if _, err := gizmos.Create(ctx, gizmo("g2", "alpha"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitStatus("g2", "alpha", 1)
	list, err := gizmos.List(ctx, metav1.ListOptions{LabelSelector: "app=gizmo"})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 2 || list.GetKind() != "GizmoList" || list.GetResourceVersion() == "" {
		t.Fatalf("list: %s rv %q, %d items", list.GetKind(), list.GetResourceVersion(), len(list.Items))
	}
	wctx, wcancel := context.WithCancel(ctx)
	defer wcancel()
	w, err := gizmos.Watch(wctx, metav1.ListOptions{ResourceVersion: list.GetResourceVersion(), LabelSelector: "app=gizmo"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if _, err := gizmos.Patch(ctx, "g2", types.MergePatchType, []byte(`{"spec":{"value":"beta"}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	// The watch sees the spec change, then the controller's status.
	sawSpec, sawStatus := false, false
	timeout := time.After(30 * time.Second)
	for !sawStatus {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				t.Fatal("the watch ended")
			}
			o, isU := ev.Object.(*unstructured.Unstructured)
			if !isU || ev.Type != watch.Modified || o.GetName() != "g2" {
				t.Fatalf("watch event %s %#v, want MODIFIED g2", ev.Type, ev.Object)
			}
			v, _, _ := unstructured.NestedString(o.Object, "spec", "value")
			obs, _, _ := unstructured.NestedString(o.Object, "status", "observed")
			og, _, _ := unstructured.NestedInt64(o.Object, "status", "observedGeneration")
			if v != "beta" || o.GetGeneration() != 2 {
				t.Fatalf("watch event of g2: spec.value %q generation %d, want beta and 2", v, o.GetGeneration())
			}
			if !sawSpec {
				sawSpec = true
				if obs != "alpha" {
					t.Errorf("first event after the patch has status %v, want the old status", o.Object["status"])
				}
				continue
			}
			if obs == "beta" && og == 2 {
				sawStatus = true
			}
		case <-timeout:
			t.Fatalf("the watch did not see g2's status follow its spec (spec event seen: %v)", sawSpec)
		}
	}

	// A delete is seen by the controller (a reconcile that finds nothing).
	before := r.count("g1")
	if err := gizmos.Delete(ctx, "g1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := waitUntil(30*time.Second, func() bool { return r.count("g1") > before }); err != nil {
		t.Errorf("no reconcile after g1's delete")
	}
	if list, err := gizmos.List(ctx, metav1.ListOptions{}); err != nil || len(list.Items) != 1 || list.Items[0].GetName() != "g2" {
		t.Errorf("list after the delete: %v %v", err, list)
	}
}
