package e2e

import (
	"context"
	"fmt"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// TestGCConformance covers the scenarios of upstream's seven
// "[sig-api-machinery] Garbage collector ... [Conformance]" tests
// (test/e2e/apimachinery/garbage_collector.go). Upstream relies on the
// replication, deployment and replica set controllers to make the
// dependents; kapi runs no workload controller, so each test makes them
// itself as those controllers would (a controlling, blocking reference to
// the owner, a Deployment's ReplicaSet named after it with the pods it
// owns), then deletes as upstream does, with a uid precondition, and with
// upstream's numbers of pods (100 where it makes as many as a node takes,
// up to 100).
func TestGCConformance(t *testing.T) {
	t.Parallel()
	k := startKapi(t)
	ctx := context.Background()
	deleteRC := func(t *testing.T, ns string, rc *corev1.ReplicationController, policy metav1.DeletionPropagation) {
		t.Helper()
		err := k.client.CoreV1().ReplicationControllers(ns).Delete(ctx, rc.Name, metav1.DeleteOptions{
			PropagationPolicy: &policy, Preconditions: metav1.NewUIDPreconditions(string(rc.UID))})
		if err != nil {
			t.Fatalf("deleting the rc: %v", err)
		}
	}
	waitRCGone := func(t *testing.T, ns, name string) {
		t.Helper()
		gcWaitGone(t, "rc "+name, func() error {
			_, err := k.client.CoreV1().ReplicationControllers(ns).Get(ctx, name, metav1.GetOptions{})
			return err
		})
	}
	// remaining counts the deployments, replica sets and pods of ns.
	remaining := func(ns string) (int, int, int, error) {
		d, err := k.client.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return 0, 0, 0, err
		}
		rs, err := k.client.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return 0, 0, 0, err
		}
		p, err := k.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return 0, 0, 0, err
		}
		return len(d.Items), len(rs.Items), len(p.Items), nil
	}
	// deploymentWithRS makes a Deployment, the ReplicaSet its controller
	// would make, and the RS's two pods.
	deploymentWithRS := func(t *testing.T, ns string) (*appsv1.Deployment, *appsv1.ReplicaSet) {
		t.Helper()
		labels := map[string]string{"gctest": "deployment"}
		d, err := k.client.AppsV1().Deployments(ns).Create(ctx, gcDeployment("simpletest.deployment", labels), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		rs, err := k.client.AppsV1().ReplicaSets(ns).Create(ctx, gcReplicaSet("simpletest.deployment-7c5d9", labels, gcOwner("apps/v1", "Deployment", d)), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		gcPods(t, k, ns, "simpletest.deployment-7c5d9", 2, labels, nil, gcOwner("apps/v1", "ReplicaSet", rs))
		return d, rs
	}

	t.Run("should delete pods created by rc when not orphaning", func(t *testing.T) {
		t.Parallel()
		ns := gcNamespace(t, k, "gc-conf-1")
		rc, _ := gcOwnedRC(t, k, ns, "simpletest.rc", 2, 0)
		deleteRC(t, ns, rc, metav1.DeletePropagationBackground)
		waitRCGone(t, ns, rc.Name)
		gcWaitPodsGone(t, k, ns)
	})

	t.Run("should orphan pods created by rc if delete options say so", func(t *testing.T) {
		t.Parallel()
		ns := gcNamespace(t, k, "gc-conf-2")
		rc, pods := gcOwnedRC(t, k, ns, "simpletest.rc", 100, 0)
		deleteRC(t, ns, rc, metav1.DeletePropagationOrphan)
		waitRCGone(t, ns, rc.Name)
		// upstream waits 30 s for a mistaken deletion; the collector
		// having settled says the same without a fixed wait
		gcExpectOrphans(t, k, ns, len(pods))
	})

	t.Run("should delete RS created by deployment when not orphaning", func(t *testing.T) {
		t.Parallel()
		ns := gcNamespace(t, k, "gc-conf-3")
		d, _ := deploymentWithRS(t, ns)
		bg := metav1.DeletePropagationBackground
		if err := k.client.AppsV1().Deployments(ns).Delete(ctx, d.Name, metav1.DeleteOptions{PropagationPolicy: &bg,
			Preconditions: metav1.NewUIDPreconditions(string(d.UID))}); err != nil {
			t.Fatal(err)
		}
		var nd, nrs, np int
		if err := waitUntil(gcWait, func() bool {
			var err error
			nd, nrs, np, err = remaining(ns)
			return err == nil && nd == 0 && nrs == 0 && np == 0
		}); err != nil {
			t.Fatalf("remaining: %d deployments, %d replica sets, %d pods: %v", nd, nrs, np, err)
		}
	})

	t.Run("should orphan RS created by deployment when deleteOptions.PropagationPolicy is Orphan", func(t *testing.T) {
		t.Parallel()
		ns := gcNamespace(t, k, "gc-conf-4")
		d, _ := deploymentWithRS(t, ns)
		orphan := metav1.DeletePropagationOrphan
		if err := k.client.AppsV1().Deployments(ns).Delete(ctx, d.Name, metav1.DeleteOptions{PropagationPolicy: &orphan,
			Preconditions: metav1.NewUIDPreconditions(string(d.UID))}); err != nil {
			t.Fatal(err)
		}
		gcWaitGone(t, "the deployment", func() error {
			_, err := k.client.AppsV1().Deployments(ns).Get(ctx, d.Name, metav1.GetOptions{})
			return err
		})
		gcSettled(t, k, ns)
		nd, nrs, np, err := remaining(ns)
		if err != nil || nd != 0 || nrs != 1 || np != 2 {
			t.Fatalf("remaining: %d deployments, %d replica sets, %d pods (want 0, 1, 2): %v", nd, nrs, np, err)
		}
		rss, err := k.client.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, rs := range rss.Items {
			if metav1.GetControllerOf(&rs) != nil {
				t.Errorf("ReplicaSet %s still has a controller: %v", rs.Name, rs.OwnerReferences)
			}
		}
	})

	t.Run("should keep the rc around until all its pods are deleted if the deleteOptions says so", func(t *testing.T) {
		t.Parallel()
		ns := gcNamespace(t, k, "gc-conf-5")
		rc, _ := gcOwnedRC(t, k, ns, "simpletest.rc", 100, 0)
		deleteRC(t, ns, rc, metav1.DeletePropagationForeground)
		waitRCGone(t, ns, rc.Name)
		// there must be no pod left once the rc is gone
		l, err := k.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Items) != 0 {
			t.Fatalf("expected no pods once the rc is gone, got %d", len(l.Items))
		}
	})

	t.Run("should not delete dependents that have both valid owner and owner that's waiting for dependents to be deleted", func(t *testing.T) {
		t.Parallel()
		ns := gcNamespace(t, k, "gc-conf-6")
		const replicas = 100
		rc1, pods := gcOwnedRC(t, k, ns, "simpletest-rc-to-be-deleted", replicas, 0)
		rc2, err := k.client.CoreV1().ReplicationControllers(ns).Create(ctx, gcRC("simpletest-rc-to-stay", 0, map[string]string{"gctest_s": "stay"}), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// half the pods get rc2 as a second owner, by a strategic merge
		// patch as upstream's test adds it
		patch := fmt.Sprintf(`{"metadata":{"ownerReferences":[{"apiVersion":"v1","kind":"ReplicationController","name":"%s","uid":"%s"}]}}`, rc2.Name, rc2.UID)
		for i := 0; i < replicas/2; i++ {
			if _, err := k.client.CoreV1().Pods(ns).Patch(ctx, pods[i].Name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
				t.Fatalf("adding rc2 as an owner of %s: %v", pods[i].Name, err)
			}
		}
		deleteRC(t, ns, rc1, metav1.DeletePropagationForeground)
		waitRCGone(t, ns, rc1.Name)
		l, err := k.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Items) != replicas/2 {
			t.Fatalf("%d pods remain, want the %d that rc2 owns", len(l.Items), replicas/2)
		}
		for _, p := range l.Items {
			if p.DeletionTimestamp != nil {
				t.Errorf("pod %s owned by rc2 is being deleted", p.Name)
			}
			if len(p.OwnerReferences) != 1 || p.OwnerReferences[0].UID != rc2.UID {
				t.Errorf("pod %s: owners %v, want rc2 alone", p.Name, p.OwnerReferences)
			}
		}
	})

	t.Run("should not be blocked by dependency circle", func(t *testing.T) {
		t.Parallel()
		ns := gcNamespace(t, k, "gc-conf-7")
		pod1 := gcPods(t, k, ns, "pod1", 1, nil, nil)[0]
		pod2 := gcPods(t, k, ns, "pod2", 1, nil, nil, gcOwner("v1", "Pod", pod1))[0]
		pod3 := gcPods(t, k, ns, "pod3", 1, nil, nil, gcOwner("v1", "Pod", pod2))[0]
		// pod1 owned by pod3 closes the circle, as upstream's patch does
		patch := fmt.Sprintf(`{"metadata":{"ownerReferences":[{"apiVersion":"v1","kind":"Pod","name":"%s","uid":"%s","controller":true,"blockOwnerDeletion":true}]}}`, pod3.Name, pod3.UID)
		if _, err := k.client.CoreV1().Pods(ns).Patch(ctx, pod1.Name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		fg := metav1.DeletePropagationForeground
		if err := k.client.CoreV1().Pods(ns).Delete(ctx, pod1.Name, metav1.DeleteOptions{PropagationPolicy: &fg}); err != nil {
			t.Fatal(err)
		}
		gcWaitPodsGone(t, k, ns)
	})

	// upstream gathers the collector's metrics after each test
	t.Run("metrics", func(t *testing.T) {
		ns := gcNamespace(t, k, "gc-conf-metrics")
		gcSettled(t, k, ns)
		for _, q := range []string{"garbage_collector_attempt_to_delete", "garbage_collector_graph_changes"} {
			m := gcMetrics(t, k)
			if missing, ok := gcContainsAll(m, fmt.Sprintf(`workqueue_adds_total{name=%q}`, q), fmt.Sprintf(`workqueue_depth{name=%q}`, q)); !ok {
				t.Errorf("/metrics lacks %s", missing)
			}
		}
		if m := gcMetrics(t, k); !gcContainsString(m, "garbagecollector_controller_resources_sync_error_total") {
			t.Errorf("/metrics lacks garbagecollector_controller_resources_sync_error_total")
		}
	})
}
