package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

const deploymentYAML = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, image: nginx}]}
`

// TestScale: kubectl scale, the Scale of the four workload kinds, and
// the resourceVersion check of a write to it.
func TestScale(t *testing.T) {
	k := startKapi(t)
	ctx := context.Background()
	k.mustKubectl(deploymentYAML, "apply", "-f", "-")
	out := k.mustKubectl("", "scale", "deployment", "web", "--replicas=3")
	if !strings.Contains(out, "scaled") {
		t.Fatalf("kubectl scale: %s", out)
	}
	d, err := k.client.AppsV1().Deployments("default").Get(ctx, "web", metav1.GetOptions{})
	if err != nil || *d.Spec.Replicas != 3 {
		t.Fatalf("replicas after kubectl scale: %v %v", err, d.Spec.Replicas)
	}
	if d.Generation != 2 {
		t.Errorf("generation after scaling: %d, want 2", d.Generation)
	}
	// --current-replicas reads the Scale first.
	k.mustKubectl("", "scale", "deployment/web", "--current-replicas=3", "--replicas=2")

	sc, err := k.client.AppsV1().Deployments("default").GetScale(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sc.Spec.Replicas != 2 || sc.Status.Selector != "app=web" || sc.Name != "web" || sc.ResourceVersion == "" {
		t.Fatalf("Scale: %+v", sc)
	}
	stale := sc.DeepCopy()
	sc.Spec.Replicas = 5
	if sc, err = k.client.AppsV1().Deployments("default").UpdateScale(ctx, "web", sc, metav1.UpdateOptions{}); err != nil || sc.Spec.Replicas != 5 {
		t.Fatalf("UpdateScale: %v %+v", err, sc)
	}
	stale.Spec.Replicas = 7
	if _, err := k.client.AppsV1().Deployments("default").UpdateScale(ctx, "web", stale, metav1.UpdateOptions{}); !apierrors.IsConflict(err) {
		t.Fatalf("UpdateScale with a stale resourceVersion: %v, want 409", err)
	}
	neg := sc.DeepCopy()
	neg.Spec.Replicas = -1
	if _, err := k.client.AppsV1().Deployments("default").UpdateScale(ctx, "web", neg, metav1.UpdateOptions{}); !apierrors.IsInvalid(err) {
		t.Fatalf("negative replicas: %v", err)
	}
	// The three patch types.
	for ct, body := range map[types.PatchType]string{
		types.MergePatchType:          `{"spec":{"replicas":4}}`,
		types.StrategicMergePatchType: `{"spec":{"replicas":4}}`,
		types.JSONPatchType:           `[{"op":"replace","path":"/spec/replicas","value":4}]`,
	} {
		res := k.client.AppsV1().RESTClient().Patch(ct).Namespace("default").Resource("deployments").Name("web").
			SubResource("scale").Body([]byte(body)).Do(ctx)
		var got autoscalingv1.Scale
		if err := res.Into(&got); err != nil || got.Spec.Replicas != 4 {
			t.Fatalf("%s patch of scale: %v %+v", ct, err, got)
		}
		k.client.AppsV1().Deployments("default").UpdateScale(ctx, "web", &autoscalingv1.Scale{
			ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"}, Spec: autoscalingv1.ScaleSpec{Replicas: 1}}, metav1.UpdateOptions{})
	}
	// A stale resourceVersion in a patch is a conflict too.
	patch := fmt.Sprintf(`{"metadata":{"resourceVersion":%q},"spec":{"replicas":9}}`, stale.ResourceVersion)
	code, _, _ := k.do(t, "PATCH", "/apis/apps/v1/namespaces/default/deployments/web/scale", "application/merge-patch+json", []byte(patch))
	if code != 409 {
		t.Fatalf("patch with a stale resourceVersion: %d", code)
	}

	// ReplicaSets, StatefulSets and ReplicationControllers scale too; an
	// RC's selector is a map.
	tmpl := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "x"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx"}}}}
	sel := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "x"}}
	if _, err := k.client.AppsV1().ReplicaSets("default").Create(ctx, &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "x"},
		Spec: appsv1.ReplicaSetSpec{Selector: sel, Template: tmpl}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := k.client.AppsV1().StatefulSets("default").Create(ctx, &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "x"},
		Spec: appsv1.StatefulSetSpec{Selector: sel, Template: tmpl, ServiceName: "x"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := k.client.CoreV1().ReplicationControllers("default").Create(ctx, &corev1.ReplicationController{ObjectMeta: metav1.ObjectMeta{Name: "x"},
		Spec: corev1.ReplicationControllerSpec{Selector: map[string]string{"app": "x"}, Template: &tmpl}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"replicaset", "statefulset", "replicationcontroller"} {
		k.mustKubectl("", "scale", kind, "x", "--replicas=2")
		out := k.mustKubectl("", "get", kind, "x", "-o", "jsonpath={.spec.replicas}")
		if out != "2" {
			t.Errorf("%s replicas after kubectl scale: %q", kind, out)
		}
	}
	rcScale, err := k.client.CoreV1().ReplicationControllers("default").GetScale(ctx, "x", metav1.GetOptions{})
	if err != nil || rcScale.Status.Selector != "app=x" || rcScale.Spec.Replicas != 2 {
		t.Fatalf("RC Scale: %v %+v", err, rcScale)
	}
	// Discovery lists the subresource.
	res, err := k.client.Discovery().ServerResourcesForGroupVersion("apps/v1")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range res.APIResources {
		found = found || (r.Name == "deployments/scale" && r.Kind == "Scale" && r.Group == "autoscaling")
		// The verbs of status and scale, in kube-apiserver's order.
		if (r.Name == "deployments/scale" || r.Name == "deployments/status") && !slices.Equal(r.Verbs, []string{"get", "patch", "update"}) {
			t.Errorf("discovery lists %s with verbs %v, want [get patch update]", r.Name, r.Verbs)
		}
	}
	if !found {
		t.Error("discovery does not list deployments/scale as an autoscaling/v1 Scale")
	}
}

func scheduledPod(name, node string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "c", Image: "nginx"}}}}
}

// TestPodGracefulDeletion: an unscheduled pod goes at once; a scheduled
// one is marked for its grace period and stays (there is no kubelet)
// until a delete with gracePeriodSeconds=0.
func TestPodGracefulDeletion(t *testing.T) {
	k := startKapi(t)
	ctx := context.Background()
	k.waitDefaultServiceAccount(t, "default")
	pods := k.client.CoreV1().Pods("default")
	if _, err := pods.Create(ctx, scheduledPod("unscheduled", ""), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	k.mustKubectl("", "delete", "pod", "unscheduled", "--wait=false")
	k.mustKubectl("", "wait", "--for=delete", "pod/unscheduled", "--timeout=10s")

	if _, err := pods.Create(ctx, scheduledPod("running", "node-1"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	grace := int64(45)
	if err := pods.Delete(ctx, "running", metav1.DeleteOptions{GracePeriodSeconds: &grace}); err != nil {
		t.Fatal(err)
	}
	p, err := pods.Get(ctx, "running", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("a scheduled pod is gone at once: %v", err)
	}
	if p.DeletionTimestamp == nil || p.DeletionGracePeriodSeconds == nil || *p.DeletionGracePeriodSeconds != 45 {
		t.Fatalf("marks: %v %v", p.DeletionTimestamp, p.DeletionGracePeriodSeconds)
	}
	if d := time.Until(p.DeletionTimestamp.Time); d < 30*time.Second || d > 50*time.Second {
		t.Errorf("deletionTimestamp %v is not about 45s ahead", p.DeletionTimestamp)
	}
	// A status write does not end the grace period.
	p.Status.Phase = corev1.PodRunning
	if _, err := pods.UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	// A longer grace period changes nothing; a shorter one moves the timestamp.
	longer := int64(100)
	if err := pods.Delete(ctx, "running", metav1.DeleteOptions{GracePeriodSeconds: &longer}); err != nil {
		t.Fatal(err)
	}
	shorter := int64(10)
	if err := pods.Delete(ctx, "running", metav1.DeleteOptions{GracePeriodSeconds: &shorter}); err != nil {
		t.Fatal(err)
	}
	p2, err := pods.Get(ctx, "running", metav1.GetOptions{})
	if err != nil || *p2.DeletionGracePeriodSeconds != 10 || !p2.DeletionTimestamp.Before(p.DeletionTimestamp) {
		t.Fatalf("after a shorter grace period: %v %v %v", err, p2.DeletionGracePeriodSeconds, p2.DeletionTimestamp)
	}
	// kubectl wait lists the pod, then watches it: the force delete comes
	// once its log (-v=6) shows the watch, so that the wait sees the pod
	// (a wait that finds none prints nothing).
	wait := k.kubectlCommand(ctx, "-v=6", "wait", "--for=delete", "pod/running", "--timeout=30s")
	var waitOut bytes.Buffer
	wait.Stdout = &waitOut
	stderr, err := wait.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := wait.Start(); err != nil {
		t.Fatal(err)
	}
	watching, read := make(chan struct{}), make(chan struct{})
	var waitLog bytes.Buffer
	go func() {
		defer close(read)
		seen := false
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			waitLog.WriteString(sc.Text() + "\n")
			if !seen && strings.Contains(sc.Text(), "watch=true") {
				seen = true
				close(watching)
			}
		}
	}()
	select {
	case <-watching:
	case <-read:
	case <-time.After(30 * time.Second):
	}
	k.mustKubectl("", "delete", "pod", "running", "--grace-period=0", "--force")
	<-read // all of stderr, before Wait closes the pipe
	werr := wait.Wait()
	if out := waitOut.String(); werr != nil || !strings.Contains(out, "condition met") && !strings.Contains(out, "deleted") {
		t.Fatalf("kubectl wait --for=delete: %v: %s\n%s", werr, out, waitLog.String())
	}

	// A pod that has finished goes at once.
	if _, err := pods.Create(ctx, scheduledPod("finished", "node-1"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	f, _ := pods.Get(ctx, "finished", metav1.GetOptions{})
	f.Status.Phase = corev1.PodSucceeded
	if _, err := pods.UpdateStatus(ctx, f, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := pods.Delete(ctx, "finished", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := pods.Get(ctx, "finished", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("a finished pod stays: %v", err)
	}
}

// TestPropagationPolicy: Orphan and Foreground set the garbage
// collector's finalizers as kube-apiserver does, Background none; the
// legacy orphanDependents too; a bad policy is 422. This is the API
// server's half, so the garbage collector, which would remove the
// finalizers at once, is off (its half is in gc_*_test.go).
func TestPropagationPolicy(t *testing.T) {
	k := startKapi(t, withoutLoops("garbage-collector-controller"))
	ctx := context.Background()
	cms := k.client.CoreV1().ConfigMaps("default")
	for _, c := range []struct {
		name      string
		opts      metav1.DeleteOptions
		finalizer string
	}{
		{"orphan", metav1.DeleteOptions{PropagationPolicy: ptr(metav1.DeletePropagationOrphan)}, metav1.FinalizerOrphanDependents},
		{"foreground", metav1.DeleteOptions{PropagationPolicy: ptr(metav1.DeletePropagationForeground)}, metav1.FinalizerDeleteDependents},
		{"legacy", metav1.DeleteOptions{OrphanDependents: ptr(true)}, metav1.FinalizerOrphanDependents},
		{"background", metav1.DeleteOptions{PropagationPolicy: ptr(metav1.DeletePropagationBackground)}, ""},
	} {
		if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: c.name}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := cms.Delete(ctx, c.name, c.opts); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		got, err := cms.Get(ctx, c.name, metav1.GetOptions{})
		if c.finalizer == "" {
			if !apierrors.IsNotFound(err) {
				t.Errorf("%s: still there: %v", c.name, err)
			}
			continue
		}
		if err != nil || got.DeletionTimestamp == nil || len(got.Finalizers) != 1 || got.Finalizers[0] != c.finalizer {
			t.Errorf("%s: %v %+v", c.name, err, got.ObjectMeta)
			continue
		}
		// Removing the finalizer (the garbage collector's job) ends it.
		patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"finalizers": nil}})
		if _, err := cms.Patch(ctx, c.name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := cms.Get(ctx, c.name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("%s: still there without finalizers: %v", c.name, err)
		}
	}
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "bad"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	err := cms.Delete(ctx, "bad", metav1.DeleteOptions{PropagationPolicy: ptr(metav1.DeletionPropagation("Sideways"))})
	if !apierrors.IsInvalid(err) {
		t.Fatalf("a bad propagationPolicy: %v", err)
	}
	err = cms.Delete(ctx, "bad", metav1.DeleteOptions{PropagationPolicy: ptr(metav1.DeletePropagationOrphan), OrphanDependents: ptr(true)})
	if !apierrors.IsInvalid(err) {
		t.Fatalf("both orphanDependents and propagationPolicy: %v", err)
	}
	// kubectl's --cascade=orphan sends propagationPolicy Orphan.
	k.mustKubectl("", "delete", "configmap", "bad", "--cascade=orphan", "--wait=false")
	got, err := cms.Get(ctx, "bad", metav1.GetOptions{})
	if err != nil || len(got.Finalizers) != 1 || got.Finalizers[0] != metav1.FinalizerOrphanDependents {
		t.Fatalf("kubectl delete --cascade=orphan: %v %v", err, got)
	}
}

// TestDeleteCollectionSelectors: deletecollection deletes what the label
// and field selectors select, and pods there are deleted gracefully too.
func TestDeleteCollectionSelectors(t *testing.T) {
	k := startKapi(t)
	ctx := context.Background()
	cms := k.client.CoreV1().ConfigMaps("default")
	for i, l := range []string{"a", "a", "b"} {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprint("cm-", i), Labels: map[string]string{"l": l}}}
		if _, err := cms.Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := cms.DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: "l=a", FieldSelector: "metadata.name!=cm-1"}); err != nil {
		t.Fatal(err)
	}
	list, err := cms.List(ctx, metav1.ListOptions{LabelSelector: "l"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range list.Items {
		names = append(names, c.Name)
	}
	if strings.Join(names, ",") != "cm-1,cm-2" {
		t.Fatalf("left after deletecollection: %v", names)
	}
	k.waitDefaultServiceAccount(t, "default")
	pods := k.client.CoreV1().Pods("default")
	for _, p := range []*corev1.Pod{scheduledPod("on-node", "node-1"), scheduledPod("pending", "")} {
		if _, err := pods.Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := pods.DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	if p, err := pods.Get(ctx, "on-node", metav1.GetOptions{}); err != nil || p.DeletionTimestamp == nil {
		t.Fatalf("a scheduled pod after deletecollection: %v", err)
	}
	if _, err := pods.Get(ctx, "pending", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("an unscheduled pod after deletecollection: %v", err)
	}
}

func ptr[T any](v T) *T { return &v }
