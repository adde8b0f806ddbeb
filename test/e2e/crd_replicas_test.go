package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"

	"kapi/internal/server"
)

// TestCRDReplicas: two kapi replicas on one etcd process (each with its
// own data folder) serve the same CustomResourceDefinitions, as two
// kube-apiservers do:
//
//   - a CRD created through replica A is served by replica B (its
//     resource lists, discovery lists it) after a short delay, which is
//     logged, not asserted (kapi's goal is within a second);
//   - a custom resource created through B is read, with the same uid,
//     resourceVersion and content, through A, and A's watch sees it;
//   - a CRD update through A (a new served version, a new printer
//     column, a schema change: a new defaulted field and a maximum) takes
//     effect on B: B serves the new version, prints the new column,
//     defaults the new field (also in the objects stored before) and
//     refuses what the new maximum forbids;
//   - the CRD deleted through B, while a widget created through A has a
//     finalizer: both replicas refuse new widgets ("not allowed while
//     custom resource definition is terminating"), delete the others and
//     serve the held one; once its finalizer is removed through A the
//     CRD goes (A's watch saw every widget deleted, and then ends), both
//     replicas answer 404 for its resource in every version and leave it
//     out of discovery, and nothing of it is left in etcd.
func TestCRDReplicas(t *testing.T) {
	url := startEtcd(t)
	external := func(c *server.Config) { c.EtcdServers = []string{url} }
	a := startKapi(t, external)
	b := startKapi(t, external)
	ctx := context.Background()
	name := "widgets.example.com"
	v1, v2 := widgetGVR, widgetGVR
	v2.Version = "v2"

	// Created through A, served by B.
	start := time.Now()
	if _, err := a.crdClient().ApiextensionsV1().CustomResourceDefinitions().Create(ctx, widgetCRD(), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := waitUntil(10*time.Second, func() bool {
		_, err := b.dynamic.Resource(v1).Namespace("default").List(ctx, metav1.ListOptions{})
		return err == nil
	}); err != nil {
		t.Fatalf("replica B does not serve the CRD created through replica A: %v", err)
	}
	t.Logf("replica B served the new CRD %s after its creation through replica A", time.Since(start).Round(time.Millisecond))
	crd := a.waitEstablished(t, name)
	b.waitEstablished(t, name)
	repWaitDiscovery(t, b, "example.com/v1", "widgets", true)

	// A watch through A, from now on.
	list, err := a.crs(crd, "v1", "default").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := a.crs(crd, "v1", "default").Watch(ctx, metav1.ListOptions{ResourceVersion: list.GetResourceVersion()})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	events := repCollect(w)

	// Created through B, read through A.
	fromB, err := b.crs(crd, "v1", "default").Create(ctx, repWidget("from-b", map[string]interface{}{"replicas": int64(2), "note": "b"}), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating a widget through B: %v", err)
	}
	got, err := a.crs(crd, "v1", "default").Get(ctx, "from-b", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("reading B's widget through A: %v", err)
	}
	if got.GetUID() != fromB.GetUID() || got.GetResourceVersion() != fromB.GetResourceVersion() ||
		repSpec(got, "replicas") != int64(2) || repSpec(got, "note") != "b" || repSpec(got, "color") != "red" {
		t.Errorf("B's widget through A: %v\nB answered: %v", got.Object, fromB.Object)
	}
	events.waitFor(t, "A's watch", watch.Added, "from-b")
	// ... and the other way round.
	if _, err := a.crs(crd, "v1", "default").Create(ctx, repWidget("from-a", map[string]interface{}{"replicas": int64(1), "color": "blue"}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, err := b.crs(crd, "v1", "default").Get(ctx, "from-a", metav1.GetOptions{}); err != nil || repSpec(got, "color") != "blue" {
		t.Errorf("A's widget through B: %v %v", err, got)
	}
	// An update through B is seen by A.
	patched, err := b.crs(crd, "v1", "default").Patch(ctx, "from-a", types.MergePatchType, []byte(`{"spec":{"note":"patched by b"}}`), metav1.PatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := a.crs(crd, "v1", "default").Get(ctx, "from-a", metav1.GetOptions{}); err != nil || repSpec(got, "note") != "patched by b" ||
		got.GetResourceVersion() != patched.GetResourceVersion() {
		t.Errorf("B's patch through A: %v %v", err, got)
	}

	// A CRD update through A takes effect on B: a new version v2, a new
	// printer column in v1, a new defaulted field and a maximum.
	start = time.Now()
	var updated *apiextensionsv1.CustomResourceDefinition
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := a.crdClient().ApiextensionsV1().CustomResourceDefinitions().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		ver := &cur.Spec.Versions[0]
		spec := ver.Schema.OpenAPIV3Schema.Properties["spec"]
		spec.Properties["size"] = apiextensionsv1.JSONSchemaProps{Type: "string", Default: &apiextensionsv1.JSON{Raw: []byte(`"M"`)},
			Enum: []apiextensionsv1.JSON{{Raw: []byte(`"S"`)}, {Raw: []byte(`"M"`)}, {Raw: []byte(`"L"`)}}}
		replicas := spec.Properties["replicas"]
		replicas.Maximum = ptrFloat(10)
		spec.Properties["replicas"] = replicas
		ver.Schema.OpenAPIV3Schema.Properties["spec"] = spec
		ver.AdditionalPrinterColumns = append(ver.AdditionalPrinterColumns[:3:3],
			apiextensionsv1.CustomResourceColumnDefinition{Name: "Size", Type: "string", JSONPath: ".spec.size"}, ver.AdditionalPrinterColumns[3])
		second := *ver.DeepCopy()
		second.Name, second.Storage = "v2", false
		cur.Spec.Versions = append(cur.Spec.Versions, second)
		updated, err = a.crdClient().ApiextensionsV1().CustomResourceDefinitions().Update(ctx, cur, metav1.UpdateOptions{})
		return err
	}); err != nil {
		t.Fatalf("updating the CRD through A: %v", err)
	}
	var state string
	if err := waitUntil(10*time.Second, func() bool {
		state = repUpdatedOn(ctx, b)
		return state == ""
	}); err != nil {
		t.Fatalf("the CRD update through A does not take effect on B: %s", state)
	}
	t.Logf("replica B served the CRD update (generation %d) %s after it was made through replica A", updated.Generation, time.Since(start).Round(time.Millisecond))
	// A agrees (it made the change, but serves it through its own
	// controller too).
	if err := waitUntil(10*time.Second, func() bool {
		state = repUpdatedOn(ctx, a)
		return state == ""
	}); err != nil {
		t.Fatalf("the CRD update does not take effect on A: %s", state)
	}
	repWaitDiscovery(t, b, "example.com/v2", "widgets", true)
	// The object stored before the update gets the new default when read,
	// in both versions; a new one through B gets it when written.
	for _, gvr := range []struct {
		k   *kapi
		ver string
	}{{a, "v1"}, {b, "v1"}, {a, "v2"}, {b, "v2"}} {
		got, err := gvr.k.crs(crd, gvr.ver, "default").Get(ctx, "from-b", metav1.GetOptions{})
		if err != nil || repSpec(got, "size") != "M" || got.GetAPIVersion() != "example.com/"+gvr.ver || repSpec(got, "note") != "b" {
			t.Errorf("from-b as %s after the update: %v %v", gvr.ver, err, got)
		}
	}
	created, err := b.crs(crd, "v2", "default").Create(ctx, &unstructured.Unstructured{Object: map[string]interface{}{
		"apiVersion": "example.com/v2", "kind": "Widget", "metadata": map[string]interface{}{"name": "v2-from-b"},
		"spec": map[string]interface{}{"replicas": int64(3)}}}, metav1.CreateOptions{})
	if err != nil || repSpec(created, "size") != "M" || repSpec(created, "color") != "red" {
		t.Fatalf("creating a v2 widget through B: %v %v", err, created)
	}
	if got, err := a.crs(crd, "v1", "default").Get(ctx, "v2-from-b", metav1.GetOptions{}); err != nil || repSpec(got, "size") != "M" ||
		got.GetAPIVersion() != "example.com/v1" {
		t.Errorf("B's v2 widget as v1 through A: %v %v", err, got)
	}
	// Stored as the storage version, v1.
	if resp, err := a.srv.Etcd().Get(ctx, "/registry/example.com/widgets/default/v2-from-b"); err != nil || len(resp.Kvs) != 1 ||
		!strings.Contains(string(resp.Kvs[0].Value), `"apiVersion":"example.com/v1"`) {
		t.Errorf("v2-from-b in etcd: %v %v", err, resp)
	}

	// Deleted through B: the custom resources go, then the CRD, and
	// neither replica serves it. A widget with a finalizer, created
	// through A, holds the CRD: meanwhile both replicas refuse new
	// widgets, and serve the held one.
	held := repWidget("held", map[string]interface{}{"replicas": int64(1)})
	held.SetFinalizers([]string{"example.com/hold"})
	if _, err := a.crs(crd, "v1", "default").Create(ctx, held, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := b.crdClient().ApiextensionsV1().CustomResourceDefinitions().Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []struct {
		name string
		k    *kapi
	}{{"A", a}, {"B", b}} {
		var err error
		if werr := waitUntil(10*time.Second, func() bool {
			_, err = k.k.crs(crd, "v1", "default").Create(ctx, repWidget("late-"+strings.ToLower(k.name), nil), metav1.CreateOptions{})
			return err != nil && strings.Contains(err.Error(), "create not allowed while custom resource definition is terminating")
		}); werr != nil {
			t.Errorf("replica %s: a create while the CRD is terminating: %v", k.name, err)
		}
		if code := rndCode(err); code != 405 && code != 403 {
			t.Errorf("replica %s: a create while the CRD is terminating is a %d, want 405 (or 403, as newer kube-apiservers answer)", k.name, code)
		}
		if err := waitUntil(10*time.Second, func() bool {
			_, err := k.k.crs(crd, "v1", "default").Get(ctx, "from-b", metav1.GetOptions{})
			return apierrors.IsNotFound(err)
		}); err != nil {
			t.Errorf("replica %s: from-b is not deleted while the CRD terminates", k.name)
		}
		// The cleanup deletes in key order: held a write after from-b.
		var got *unstructured.Unstructured
		if werr := waitUntil(10*time.Second, func() bool {
			got, err = k.k.crs(crd, "v2", "default").Get(ctx, "held", metav1.GetOptions{})
			return err == nil && got.GetDeletionTimestamp() != nil
		}); werr != nil {
			t.Errorf("replica %s: the held widget while the CRD terminates: %v %v", k.name, err, got)
		}
	}
	if c, err := a.crdClient().ApiextensionsV1().CustomResourceDefinitions().Get(ctx, name, metav1.GetOptions{}); err != nil || c.DeletionTimestamp == nil {
		t.Fatalf("the CRD held by a widget's finalizer: %v %v", err, c)
	}
	if _, err := a.crs(crd, "v1", "default").Patch(ctx, "held", types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{}); err != nil {
		t.Fatalf("removing the held widget's finalizer through A: %v", err)
	}
	for _, k := range []*kapi{a, b} {
		if err := waitUntil(30*time.Second, func() bool {
			_, err := k.crdClient().ApiextensionsV1().CustomResourceDefinitions().Get(ctx, name, metav1.GetOptions{})
			return apierrors.IsNotFound(err)
		}); err != nil {
			t.Fatalf("the CRD deleted through B is still there")
		}
	}
	resp, err := a.srv.Etcd().Get(ctx, "/registry/example.com/widgets/", clientv3WithPrefix()...)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) != 0 {
		var keys []string
		for _, kv := range resp.Kvs {
			keys = append(keys, string(kv.Key))
		}
		t.Errorf("custom resources left in etcd after their CRD went: %v", keys)
	}
	for _, k := range []struct {
		name string
		k    *kapi
	}{{"A", a}, {"B", b}} {
		for _, gvr := range []schema.GroupVersionResource{v1, v2} {
			var last error
			if err := waitUntil(10*time.Second, func() bool {
				_, last = k.k.dynamic.Resource(gvr).Namespace("default").List(ctx, metav1.ListOptions{})
				return apierrors.IsNotFound(last)
			}); err != nil {
				t.Errorf("replica %s still serves %s widgets after the CRD went: %v", k.name, gvr.Version, last)
			}
			if _, err := k.k.dynamic.Resource(gvr).Namespace("default").Get(ctx, "from-b", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("replica %s: get %s widget from-b after the CRD went: %v", k.name, gvr.Version, err)
			}
			repWaitDiscovery(t, k.k, "example.com/"+gvr.Version, "widgets", false)
		}
	}
	// A's watch saw the custom resources deleted, and then ended.
	for _, n := range []string{"from-b", "from-a", "v2-from-b", "held"} {
		events.waitFor(t, "A's watch", watch.Deleted, n)
	}
	select {
	case <-events.done:
	case <-time.After(30 * time.Second):
		t.Errorf("A's watch of the widgets is still open 30s after their CRD went")
	}
}

// repWidget is a Widget of example.com/v1 in namespace default.
func repWidget(name string, spec map[string]interface{}) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]interface{}{"apiVersion": "example.com/v1", "kind": "Widget",
		"metadata": map[string]interface{}{"name": name, "namespace": "default"}, "spec": spec}}
}

// repSpec is the field of u's spec.
func repSpec(u *unstructured.Unstructured, f string) interface{} {
	if u == nil {
		return nil
	}
	v, _, _ := unstructured.NestedFieldNoCopy(u.Object, "spec", f)
	return v
}

// repUpdatedOn says what k does not serve yet of TestCRDReplicas's CRD
// update ("" once it serves all of it).
func repUpdatedOn(ctx context.Context, k *kapi) string {
	v2 := widgetGVR
	v2.Version = "v2"
	if _, err := k.dynamic.Resource(v2).Namespace("default").List(ctx, metav1.ListOptions{}); err != nil {
		return fmt.Sprintf("v2 is not served: %v", err)
	}
	code, body, err := repRaw(k, "GET", "/apis/example.com/v1/namespaces/default/widgets", "application/json;as=Table;v=v1;g=meta.k8s.io", nil)
	if err != nil || code != 200 {
		return fmt.Sprintf("table: %d %v %s", code, err, body)
	}
	var table metav1.Table
	if err := json.Unmarshal(body, &table); err != nil {
		return fmt.Sprintf("table: %v", err)
	}
	var cols []string
	for _, c := range table.ColumnDefinitions {
		cols = append(cols, c.Name)
	}
	if strings.Join(cols, " ") != "Name Color Replicas Note Size Age" {
		return fmt.Sprintf("v1's columns are %v", cols)
	}
	probe := repWidget("probe", map[string]interface{}{"replicas": int64(11)})
	_, err = k.dynamic.Resource(widgetGVR).Namespace("default").Create(ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.replicas") {
		return fmt.Sprintf("replicas 11 (over the new maximum) is not refused: %v", err)
	}
	probe = repWidget("probe", map[string]interface{}{"replicas": int64(1)})
	out, err := k.dynamic.Resource(widgetGVR).Namespace("default").Create(ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	if err != nil || repSpec(out, "size") != "M" {
		return fmt.Sprintf("the new field is not defaulted: %v %v", err, out)
	}
	return ""
}

// repRaw does a request to k with its admin credentials.
func repRaw(k *kapi, method, path, accept string, body []byte) (int, []byte, error) {
	hc, err := rest.HTTPClientFor(k.rest)
	if err != nil {
		return 0, nil, err
	}
	req, err := http.NewRequest(method, k.srv.URL+path, strings.NewReader(string(body)))
	if err != nil {
		return 0, nil, err
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, out, err
}

// repWaitDiscovery waits until k's discovery of groupVersion lists
// resource (want) or does not (!want), in the legacy document and the
// aggregated one.
func repWaitDiscovery(t *testing.T, k *kapi, groupVersion, resource string, want bool) {
	t.Helper()
	var legacy, agg bool
	if err := waitUntil(10*time.Second, func() bool {
		legacy = false
		if list, err := k.client.Discovery().ServerResourcesForGroupVersion(groupVersion); err == nil {
			for _, r := range list.APIResources {
				legacy = legacy || r.Name == resource
			}
		}
		found, err := repAggregated(k)
		agg = found[groupVersion+"/"+resource]
		return err == nil && legacy == want && agg == want
	}); err != nil {
		t.Errorf("discovery of %s lists %s: %v (legacy) %v (aggregated), want %v", groupVersion, resource, legacy, agg, want)
	}
}

// repAggregated reads the aggregated discovery of /apis: the set of
// "group/version/resource".
func repAggregated(k *kapi) (map[string]bool, error) {
	code, body, err := repRaw(k, "GET", "/apis", "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList", nil)
	if err != nil {
		return nil, err
	}
	if code != 200 {
		return nil, fmt.Errorf("aggregated discovery: %d %s", code, body)
	}
	var doc struct {
		Kind  string
		Items []struct {
			Metadata struct{ Name string }
			Versions []struct {
				Version   string
				Resources []struct{ Resource string }
			}
		}
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, err
	}
	if doc.Kind != "APIGroupDiscoveryList" {
		return nil, fmt.Errorf("aggregated discovery is a %q", doc.Kind)
	}
	out := map[string]bool{}
	for _, g := range doc.Items {
		for _, v := range g.Versions {
			for _, r := range v.Resources {
				out[g.Metadata.Name+"/"+v.Version+"/"+r.Resource] = true
			}
		}
	}
	return out, nil
}

// repEvents collects the events of a watch.
type repEvents struct {
	mu     sync.Mutex
	events []string // "TYPE name"
	done   chan struct{}
}

func repCollect(w watch.Interface) *repEvents {
	e := &repEvents{done: make(chan struct{})}
	go func() {
		defer close(e.done)
		for ev := range w.ResultChan() {
			name := ""
			if u, ok := ev.Object.(*unstructured.Unstructured); ok {
				name = u.GetName()
			}
			e.mu.Lock()
			e.events = append(e.events, fmt.Sprintf("%s %s", ev.Type, name))
			e.mu.Unlock()
		}
	}()
	return e
}

// waitFor waits until the watch had an event typ of the object name.
func (e *repEvents) waitFor(t *testing.T, what string, typ watch.EventType, name string) {
	t.Helper()
	want := fmt.Sprintf("%s %s", typ, name)
	var seen []string
	if err := waitUntil(10*time.Second, func() bool {
		e.mu.Lock()
		defer e.mu.Unlock()
		seen = append(seen[:0], e.events...)
		for _, ev := range e.events {
			if ev == want {
				return true
			}
		}
		return false
	}); err != nil {
		t.Errorf("%s: no %s event (saw %v)", what, want, seen)
	}
}
