package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	resourcev1 "k8s.io/api/resource/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/watch"
)

// TestFieldLabelConversions: field labels as kube-apiserver converts them. A
// list or watch across namespaces may select a name; a kind with field
// labels of its own refuses others as "field label not supported", one
// without with kube's default conversion's words; events.k8s.io names
// its fields after its own schema; pods take the old spec.host.
func TestFieldLabelConversions(t *testing.T) {
	t.Parallel()
	k := startKapi(t, withoutLoops(rootCAPublisher))
	ctx := context.Background()
	a, b := gcNamespace(t, k, "fs-a"), gcNamespace(t, k, "fs-b")
	for _, ns := range []string{a, b} {
		if _, err := k.client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "same"}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	// Across namespaces, by name: a list, kubectl, a watch.
	byName := metav1.ListOptions{FieldSelector: "metadata.name=same"}
	list, err := k.client.CoreV1().ConfigMaps("").List(ctx, byName)
	if err != nil || len(list.Items) != 2 {
		t.Fatalf("configmaps named same in every namespace: %v %+v", err, list)
	}
	out := k.mustKubectl("", "get", "configmaps", "-A", "--field-selector", "metadata.name=same", "-o", "name")
	if strings.Count(out, "configmap/same") != 2 {
		t.Errorf("kubectl get -A by name: %q", out)
	}
	byName.ResourceVersion = list.ResourceVersion
	w, err := k.client.CoreV1().ConfigMaps("").Watch(ctx, byName)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	c := gcNamespace(t, k, "fs-c")
	for _, name := range []string{"other", "same"} {
		if _, err := k.client.CoreV1().ConfigMaps(c).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case ev := <-w.ResultChan():
		if cm, ok := ev.Object.(*corev1.ConfigMap); ev.Type != watch.Added || !ok || cm.Name != "same" || cm.Namespace != c {
			t.Errorf("the watch by name saw %s %+v", ev.Type, ev.Object)
		}
	case <-time.After(20 * time.Second):
		t.Error("the watch across namespaces by name saw nothing")
	}
	// A name in the path still needs a namespace.
	if code, _, _ := k.do(t, "GET", "/api/v1/configmaps/same", "", nil); code != 404 {
		t.Errorf("GET /api/v1/configmaps/same: %d", code)
	}

	refused := func(what string, err error, want string) {
		t.Helper()
		if !apierrors.IsBadRequest(err) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want a 400 with %q", what, err, want)
		}
	}
	_, err = k.client.CoreV1().ConfigMaps(a).List(ctx, metav1.ListOptions{FieldSelector: "data.x=y"})
	refused("configmaps by data.x", err, `"data.x" is not a known field selector: only "metadata.name", "metadata.namespace"`)
	_, err = k.client.AppsV1().ReplicaSets(a).List(ctx, metav1.ListOptions{FieldSelector: "status.replicas=1"})
	refused("apps/v1 replicasets by status.replicas", err, `"status.replicas" is not a known field selector`)
	_, err = k.client.CoreV1().Pods(a).List(ctx, metav1.ListOptions{FieldSelector: "spec.foo=x"})
	refused("pods by spec.foo", err, "field label not supported: spec.foo")
	if _, err := k.client.RbacV1().ClusterRoles().List(ctx, metav1.ListOptions{FieldSelector: "metadata.namespace="}); err != nil {
		t.Errorf("cluster roles by an empty metadata.namespace: %v", err)
	}

	// Pods: spec.host is spec.nodeName; status.podIPs matches no value.
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
	if _, err := k.client.CoreV1().Pods(a).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pods, err := k.client.CoreV1().Pods(a).List(ctx, metav1.ListOptions{FieldSelector: "spec.host=n1"})
	if err != nil || len(pods.Items) != 1 {
		t.Errorf("pods by spec.host: %v %d", err, len(pods.Items))
	}

	// events.k8s.io: regarding.*, reportingController; not the core names.
	ev := &eventsv1.Event{ObjectMeta: metav1.ObjectMeta{Name: "e"}, EventTime: metav1.NowMicro(), ReportingController: "kapi.test/ctl",
		ReportingInstance: "i", Action: "Tested", Reason: "Testing", Type: "Normal",
		Regarding: corev1.ObjectReference{Kind: "Pod", Namespace: a, Name: "p"}}
	if _, err := k.client.EventsV1().Events(a).Create(ctx, ev, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	evs, err := k.client.EventsV1().Events(a).List(ctx, metav1.ListOptions{FieldSelector: "regarding.name=p,reportingController=kapi.test/ctl"})
	if err != nil || len(evs.Items) != 1 {
		t.Errorf("events.k8s.io events by regarding.name: %v %+v", err, evs)
	}
	_, err = k.client.EventsV1().Events(a).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=p"})
	refused("events.k8s.io events by involvedObject.name", err, "field label not supported: involvedObject.name")
	core, err := k.client.CoreV1().Events(a).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=p"})
	if err != nil || len(core.Items) != 1 {
		t.Errorf("core events by involvedObject.name: %v %+v", err, core)
	}

	// ResourceSlices by node, driver and pool.
	node := "n1"
	slice := &resourcev1.ResourceSlice{ObjectMeta: metav1.ObjectMeta{Name: "s"}, Spec: resourcev1.ResourceSliceSpec{
		Driver: "gpu.example.com", NodeName: &node, Pool: resourcev1.ResourcePool{Name: "pool", ResourceSliceCount: 1}}}
	if _, err := k.client.ResourceV1().ResourceSlices().Create(ctx, slice, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.client.ResourceV1().ResourceSlices().Delete(ctx, "s", metav1.DeleteOptions{}) })
	for _, sel := range []string{"spec.nodeName=n1", "spec.driver=gpu.example.com", "spec.pool.name=pool"} {
		slices, err := k.client.ResourceV1().ResourceSlices().List(ctx, metav1.ListOptions{FieldSelector: sel})
		if err != nil || len(slices.Items) != 1 {
			t.Errorf("resource slices by %s: %v %+v", sel, err, slices)
		}
	}

	// A custom resource's unknown label, with selectable fields or none.
	crd := widgetCRD()
	k.createCRD(t, crd)
	k.waitEstablished(t, crd.Name)
	widgets := k.dynamic.Resource(crGVR(crd, "v1")).Namespace(a)
	if _, err := widgets.Create(ctx, &unstructured.Unstructured{Object: map[string]any{"apiVersion": "example.com/v1", "kind": "Widget",
		"metadata": map[string]any{"name": "w"}, "spec": map[string]any{"color": "blue"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if l, err := widgets.List(ctx, metav1.ListOptions{FieldSelector: "spec.color=blue"}); err != nil || len(l.Items) != 1 {
		t.Errorf("widgets by spec.color: %v %+v", err, l)
	}
	_, err = widgets.List(ctx, metav1.ListOptions{FieldSelector: "spec.size=1"})
	refused("widgets by spec.size", err, "field label not supported: spec.size")
}
