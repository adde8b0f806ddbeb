package e2e

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// pods/resize, in-place vertical scaling as kube-apiserver 1.37 serves
// it: the full pod, of which a write changes the containers' resources
// alone (and counts a generation), with kube's ValidatePodResize.
func TestPodResize(t *testing.T) {
	t.Parallel()
	k := startKapi(t, withoutLoops(rootCAPublisher))
	ctx := context.Background()
	ns := gcNamespace(t, k, "resize")
	pods := k.client.CoreV1().Pods(ns)
	res := func(cpuReq, cpuLim string) corev1.ResourceRequirements {
		return corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpuReq), corev1.ResourceMemory: resource.MustParse("128Mi")},
			Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpuLim), corev1.ResourceMemory: resource.MustParse("128Mi")},
		}
	}
	cpuOf := func(p *corev1.Pod) (string, string) {
		r := p.Spec.Containers[0].Resources
		req, lim := r.Requests[corev1.ResourceCPU], r.Limits[corev1.ResourceCPU]
		return req.String(), lim.String()
	}
	p, err := pods.Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox", Resources: res("500m", "500m")}}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Generation != 1 || p.Status.QOSClass != corev1.PodQOSGuaranteed {
		t.Fatalf("new pod: generation %d, qos %q", p.Generation, p.Status.QOSClass)
	}

	// Discovery lists it.
	list, err := k.client.Discovery().ServerResourcesForGroupVersion("v1")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range list.APIResources {
		if r.Name == "pods/resize" {
			found = true
			verbs := slices.Clone([]string(r.Verbs))
			slices.Sort(verbs)
			if r.Kind != "Pod" || !r.Namespaced || strings.Join(verbs, ",") != "get,patch,update" {
				t.Errorf("discovery of pods/resize: kind %q, namespaced %v, verbs %v", r.Kind, r.Namespaced, r.Verbs)
			}
		}
	}
	if !found {
		t.Errorf("discovery has no pods/resize")
	}

	// GET answers the pod.
	got := &corev1.Pod{}
	if err := k.client.CoreV1().RESTClient().Get().Namespace(ns).Resource("pods").Name("web").SubResource("resize").Do(ctx).Into(got); err != nil {
		t.Fatalf("get pods/resize: %v", err)
	}
	if got.Name != "web" || got.UID != p.UID {
		t.Errorf("get pods/resize: %s %s", got.Name, got.UID)
	}

	// A resize changes the resources, and nothing else the request says.
	in := got.DeepCopy()
	in.Spec.Containers[0].Resources = res("1", "1")
	in.Spec.Containers[0].Image = "nginx"
	in.Labels = map[string]string{"app": "db"}
	p, err = pods.UpdateResize(ctx, "web", in, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("resize: %v", err)
	}
	if req, lim := cpuOf(p); req != "1" || lim != "1" || p.Generation != 2 {
		t.Errorf("resized: cpu %s/%s, generation %d, want 1/1, 2", req, lim, p.Generation)
	}
	if p.Spec.Containers[0].Image != "busybox" || p.Labels["app"] != "web" {
		t.Errorf("resize changed more: image %q, labels %v", p.Spec.Containers[0].Image, p.Labels)
	}
	// A resize that changes nothing counts no generation.
	if p, err = pods.UpdateResize(ctx, "web", p, metav1.UpdateOptions{}); err != nil || p.Generation != 2 {
		t.Errorf("no-op resize: %v, generation %d", err, p.Generation)
	}

	// Refused: a QoS change, another resource, another container; with
	// kube's messages.
	invalid := func(what string, mut func(*corev1.Pod), want string) {
		t.Helper()
		in := p.DeepCopy()
		mut(in)
		_, err := pods.UpdateResize(ctx, "web", in, metav1.UpdateOptions{})
		if !apierrors.IsInvalid(err) || err.Error() != want {
			t.Errorf("%s: %v\nwant %s", what, err, want)
		}
	}
	invalid("qos change", func(p *corev1.Pod) { p.Spec.Containers[0].Resources = res("250m", "1") },
		`Pod "web" is invalid: spec: Invalid value: "Guaranteed": Pod QOS Class may not change as a result of resizing`)
	invalid("ephemeral storage", func(p *corev1.Pod) {
		p.Spec.Containers[0].Resources.Requests[corev1.ResourceEphemeralStorage] = resource.MustParse("1Gi")
	}, `Pod "web" is invalid: spec: Forbidden: only cpu and memory resources are mutable`)
	invalid("added container", func(p *corev1.Pod) {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "d", Image: "busybox", Resources: res("1", "1")})
	}, `Pod "web" is invalid: spec.containers: Forbidden: containers may not be added or removed on resize`)
	invalid("limits removed", func(p *corev1.Pod) { p.Spec.Containers[0].Resources.Limits = nil },
		`Pod "web" is invalid: [spec: Invalid value: "Guaranteed": Pod QOS Class may not change as a result of resizing, spec.containers[0].resources.limits: Forbidden: resource limits cannot be removed]`)

	// The pod's own update still may not change resources.
	in = p.DeepCopy()
	in.Spec.Containers[0].Resources = res("2", "2")
	if _, err := pods.Update(ctx, in, metav1.UpdateOptions{}); !apierrors.IsInvalid(err) ||
		!strings.Contains(err.Error(), "spec: Forbidden: pod updates may not change fields other than") {
		t.Errorf("update of resources: %v", err)
	}

	// Patches of every kind.
	for _, c := range []struct {
		pt    types.PatchType
		patch string
		cpu   string
	}{
		{types.StrategicMergePatchType, `{"spec":{"containers":[{"name":"c","resources":{"requests":{"cpu":"1500m"},"limits":{"cpu":"1500m"}}}]}}`, "1500m"},
		{types.JSONPatchType, `[{"op":"replace","path":"/spec/containers/0/resources/requests/cpu","value":"2"},{"op":"replace","path":"/spec/containers/0/resources/limits/cpu","value":"2"}]`, "2"},
		{types.MergePatchType, `{"metadata":{"labels":{"x":"y"}},"spec":{"containers":[{"name":"c","image":"busybox","resources":{"requests":{"cpu":"2500m","memory":"128Mi"},"limits":{"cpu":"2500m","memory":"128Mi"}}}]}}`, "2500m"},
	} {
		before := p.Generation
		if p, err = pods.Patch(ctx, "web", c.pt, []byte(c.patch), metav1.PatchOptions{}, "resize"); err != nil {
			t.Fatalf("%s patch: %v", c.pt, err)
		}
		if req, lim := cpuOf(p); req != c.cpu || lim != c.cpu || p.Generation != before+1 || p.Labels["x"] != "" {
			t.Errorf("%s patch: cpu %s/%s, generation %d (was %d), labels %v", c.pt, req, lim, p.Generation, before, p.Labels)
		}
	}
	apply := `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web"},"spec":{"containers":[{"name":"c","resources":{"requests":{"cpu":"3"},"limits":{"cpu":"3"}}}]}}`
	if p, err = pods.Patch(ctx, "web", types.ApplyPatchType, []byte(apply), metav1.PatchOptions{FieldManager: "vpa", Force: ptr(true)}, "resize"); err != nil {
		t.Fatalf("apply patch: %v", err)
	}
	if req, lim := cpuOf(p); req != "3" || lim != "3" {
		t.Errorf("apply patch: cpu %s/%s", req, lim)
	}
	resizeManaged := false
	for _, m := range p.ManagedFields {
		resizeManaged = resizeManaged || (m.Manager == "vpa" && m.Subresource == "resize")
	}
	if !resizeManaged {
		t.Errorf("apply through resize: managed fields %+v", p.ManagedFields)
	}

	// kubectl patch --subresource resize.
	out := k.mustKubectl("", "patch", "pod", "web", "-n", ns, "--subresource", "resize", "-p",
		`{"spec":{"containers":[{"name":"c","resources":{"requests":{"cpu":"800m"},"limits":{"cpu":"800m"}}}]}}`)
	if !strings.Contains(out, "pod/web patched") {
		t.Errorf("kubectl patch --subresource resize: %s", out)
	}
	if p, err = pods.Get(ctx, "web", metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}
	if req, lim := cpuOf(p); req != "800m" || lim != "800m" {
		t.Errorf("after kubectl: cpu %s/%s", req, lim)
	}
	out, err = k.kubectl("", "patch", "pod", "web", "-n", ns, "--subresource", "resize", "-p",
		`{"spec":{"containers":[{"name":"c","resources":{"requests":{"cpu":"100m"}}}]}}`)
	if err == nil || !strings.Contains(out, "Pod QOS Class may not change as a result of resizing") {
		t.Errorf("kubectl resize changing the QoS class: %v\n%s", err, out)
	}

	// LimitRanger checks a resize as it checks a new pod.
	if _, err := k.client.CoreV1().LimitRanges(ns).Create(ctx, &corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Name: "max"},
		Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{Type: corev1.LimitTypeContainer,
			Max: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	in = p.DeepCopy()
	in.Spec.Containers[0].Resources = res("2", "2")
	in.ResourceVersion = ""
	deadline := 50
	for {
		_, err = pods.UpdateResize(ctx, "web", in, metav1.UpdateOptions{})
		if err != nil || deadline == 0 {
			break
		}
		// (the LimitRange reaches the plugin's cache in a moment; undo)
		deadline--
		back := p.DeepCopy()
		back.ResourceVersion = ""
		if _, err := pods.UpdateResize(ctx, "web", back, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if !apierrors.IsForbidden(err) || err.Error() != `pods "web" is forbidden: maximum cpu usage per Container is 1, but limit is 2` {
		t.Errorf("resize beyond a LimitRange: %v", err)
	}
}

// TestPodResizeOnNode: kube 1.37's PodResizeValidator and
// NodeDeclaredFeatureValidator, on by default, check the resize of a
// bound pod against its node: its allocatable, its OS, the features it
// declares; and a pod on a node that is gone may not be resized.
func TestPodResizeOnNode(t *testing.T) {
	t.Parallel()
	k := startKapi(t, withoutLoops(rootCAPublisher))
	ctx := context.Background()
	ns := gcNamespace(t, k, "resize-node")
	nodes := k.client.CoreV1().Nodes()
	for _, n := range []*corev1.Node{
		{ObjectMeta: metav1.ObjectMeta{Name: "resize-small", Labels: map[string]string{corev1.LabelOSStable: "linux"}},
			Status: corev1.NodeStatus{Capacity: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("1Gi")}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "resize-windows", Labels: map[string]string{corev1.LabelOSStable: "windows"}},
			Status: corev1.NodeStatus{Capacity: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("8"), corev1.ResourceMemory: resource.MustParse("8Gi")}}},
	} {
		if _, err := nodes.Create(ctx, n, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { nodes.Delete(context.Background(), n.Name, metav1.DeleteOptions{}) })
	}
	pods := k.client.CoreV1().Pods(ns)
	resize := func(name, cpu string) error {
		patch := `{"spec":{"containers":[{"name":"c","resources":{"requests":{"cpu":"` + cpu + `"}}}]}}`
		_, err := pods.Patch(ctx, name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}, "resize")
		return err
	}
	for _, node := range []string{"resize-small", "resize-windows", "resize-gone"} {
		if _, err := pods.Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: node},
			Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "c", Image: "busybox",
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}}}}}},
			metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// The node reaches the plugin's cache in a moment.
	var err error
	waitUntil(10*time.Second, func() bool { err = resize("resize-small", "500m"); return err == nil })
	if err != nil {
		t.Fatalf("a resize within the node's allocatable: %v", err)
	}
	err = resize("resize-small", "1500m")
	if !apierrors.IsForbidden(err) || err.Error() != `pods "resize-small" is forbidden: node didn't have enough allocatable resources: cpu, requested: 1500, allocatable: 1000` {
		t.Errorf("a resize beyond the node's allocatable: %v", err)
	} else if causes := err.(apierrors.APIStatus).Status().Details.Causes; len(causes) == 0 || causes[len(causes)-1].Type != "NodeCapacity" {
		t.Errorf("causes %+v, want NodeCapacity", causes)
	}
	err = resize("resize-windows", "500m")
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `pod resize is only supported on linux nodes, node "resize-windows" is "windows"`) {
		t.Errorf("a resize on a windows node: %v", err)
	}
	err = resize("resize-gone", "500m")
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `node "resize-gone" not found`) {
		t.Errorf("a resize on a missing node: %v", err)
	}
	// A pod-level resize needs the node to declare it.
	_, err = pods.Patch(ctx, "resize-small", types.StrategicMergePatchType,
		[]byte(`{"spec":{"resources":{"requests":{"cpu":"600m"}}}}`), metav1.PatchOptions{}, "resize")
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `pod update requires features InPlacePodLevelResourcesVerticalScaling which are not available on node "resize-small"`) {
		t.Errorf("a pod-level resize on a node that does not declare it: %v", err)
	}
}
