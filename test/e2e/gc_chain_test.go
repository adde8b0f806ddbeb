package e2e

import (
	"context"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// gcChain is a Deployment owning a ReplicaSet owning two Pods and a
// Widget (a custom resource) owning a ConfigMap: made by the test as the
// deployment and replica set controllers, and a CR's operator, would.
type gcChain struct {
	deployment *appsv1.Deployment
	replicaSet *appsv1.ReplicaSet
	pods       []*corev1.Pod
	widget     *unstructured.Unstructured
	leaf       *corev1.ConfigMap
}

func gcDeployment(name string, labels map[string]string) *appsv1.Deployment {
	one := int32(1)
	return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: appsv1.DeploymentSpec{Replicas: &one, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: gcPodSpec()}}}
}

func gcReplicaSet(name string, labels map[string]string, owner metav1.OwnerReference) *appsv1.ReplicaSet {
	two := int32(2)
	return &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels, OwnerReferences: []metav1.OwnerReference{owner}},
		Spec: appsv1.ReplicaSetSpec{Replicas: &two, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: gcPodSpec()}}}
}

// makeChain makes the chain in ns; leafFinalizers go on the ConfigMap.
func gcMakeChain(t *testing.T, k *kapi, ns string, leafFinalizers []string) *gcChain {
	t.Helper()
	ctx := context.Background()
	labels := map[string]string{"app": "chain"}
	var c gcChain
	var err error
	if c.deployment, err = k.client.AppsV1().Deployments(ns).Create(ctx, gcDeployment("chain", labels), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if c.replicaSet, err = k.client.AppsV1().ReplicaSets(ns).Create(ctx, gcReplicaSet("chain-5d4f8", labels, gcOwner("apps/v1", "Deployment", c.deployment)), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rsRef := gcOwner("apps/v1", "ReplicaSet", c.replicaSet)
	c.pods = gcPods(t, k, ns, "chain-5d4f8", 2, labels, nil, rsRef)
	w := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "example.com/v1", "kind": "Widget",
		"metadata": map[string]any{"name": "w"}, "spec": map[string]any{"replicas": int64(1)}}}
	w.SetOwnerReferences([]metav1.OwnerReference{rsRef})
	if c.widget, err = k.dynamic.Resource(widgetGVR).Namespace(ns).Create(ctx, w, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	leaf := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "leaf", Finalizers: leafFinalizers,
		OwnerReferences: []metav1.OwnerReference{gcOwner("example.com/v1", "Widget", c.widget)}}}
	if c.leaf, err = k.client.CoreV1().ConfigMaps(ns).Create(ctx, leaf, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return &c
}

// gcWaitChainGone waits until nothing of the chain is left.
func (c *gcChain) waitGone(t *testing.T, k *kapi, ns string) {
	t.Helper()
	ctx := context.Background()
	gcWaitGone(t, "the ConfigMap", func() error {
		_, err := k.client.CoreV1().ConfigMaps(ns).Get(ctx, c.leaf.Name, metav1.GetOptions{})
		return err
	})
	gcWaitGone(t, "the Widget", func() error {
		_, err := k.dynamic.Resource(widgetGVR).Namespace(ns).Get(ctx, c.widget.GetName(), metav1.GetOptions{})
		return err
	})
	gcWaitPodsGone(t, k, ns)
	gcWaitGone(t, "the ReplicaSet", func() error {
		_, err := k.client.AppsV1().ReplicaSets(ns).Get(ctx, c.replicaSet.Name, metav1.GetOptions{})
		return err
	})
	gcWaitGone(t, "the Deployment", func() error {
		_, err := k.client.AppsV1().Deployments(ns).Get(ctx, c.deployment.Name, metav1.GetOptions{})
		return err
	})
}

// TestGCChainWithCustomResource deletes Deployment -> ReplicaSet ->
// {Pods, Widget -> ConfigMap}, three levels below the deployment with a
// custom resource among them; the CRD is created after kapi started, so
// the collector must have taken up its new resource.
func TestGCChainWithCustomResource(t *testing.T) {
	t.Parallel()
	k := startKapi(t)
	k.createCRD(t, widgetCRD())
	ctx := context.Background()

	t.Run("Background", func(t *testing.T) {
		t.Parallel()
		ns := gcNamespace(t, k, "gc-chain-background")
		c := gcMakeChain(t, k, ns, nil)
		if err := k.client.AppsV1().Deployments(ns).Delete(ctx, c.deployment.Name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		c.waitGone(t, k, ns)
	})

	t.Run("Foreground", func(t *testing.T) {
		t.Parallel()
		ns := gcNamespace(t, k, "gc-chain-foreground")
		c := gcMakeChain(t, k, ns, []string{gcHold})
		fg := metav1.DeletePropagationForeground
		if err := k.client.AppsV1().Deployments(ns).Delete(ctx, c.deployment.Name, metav1.DeleteOptions{PropagationPolicy: &fg}); err != nil {
			t.Fatal(err)
		}
		// The held leaf blocks the Widget, which blocks the ReplicaSet,
		// which blocks the Deployment: each waits in the foreground; the
		// pods, blocking nothing that is held, go.
		gcWaitPodsGone(t, k, ns)
		var w *unstructured.Unstructured
		if err := waitUntil(gcWait, func() bool {
			var err error
			w, err = k.dynamic.Resource(widgetGVR).Namespace(ns).Get(ctx, c.widget.GetName(), metav1.GetOptions{})
			return err == nil && w.GetDeletionTimestamp() != nil && gcHas(w.GetFinalizers(), metav1.FinalizerDeleteDependents)
		}); err != nil {
			t.Fatalf("the Widget is not being deleted in the foreground: %v (%v)", err, w)
		}
		if err := waitUntil(gcWait, func() bool {
			cm, err := k.client.CoreV1().ConfigMaps(ns).Get(ctx, c.leaf.Name, metav1.GetOptions{})
			return err == nil && cm.DeletionTimestamp != nil
		}); err != nil {
			t.Fatalf("the leaf ConfigMap was not deleted: %v", err)
		}
		rs, err := k.client.AppsV1().ReplicaSets(ns).Get(ctx, c.replicaSet.Name, metav1.GetOptions{})
		if err != nil || rs.DeletionTimestamp == nil || !gcHas(rs.Finalizers, metav1.FinalizerDeleteDependents) {
			t.Fatalf("the ReplicaSet while its Widget waits: %v %+v", err, rs)
		}
		if _, err := k.client.AppsV1().Deployments(ns).Get(ctx, c.deployment.Name, metav1.GetOptions{}); err != nil {
			t.Fatalf("the Deployment went while its chain was held: %v", err)
		}
		if _, err := k.client.CoreV1().ConfigMaps(ns).Patch(ctx, c.leaf.Name, "application/merge-patch+json",
			[]byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		c.waitGone(t, k, ns)
	})
}
