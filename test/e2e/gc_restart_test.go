package e2e

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"kapi/internal/server"
)

// TestGCRestart: the collector keeps no state but its graph, which a new
// kapi rebuilds from the watch caches and then finishes what was begun.
func TestGCRestart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("BegunWithoutCollector", func(t *testing.T) {
		t.Parallel()
		// kapi without the collector: the API server marks the owner
		// and nothing more happens
		k := startKapi(t, func(c *server.Config) { c.Controllers = []string{"*", "-garbage-collector-controller"} })
		ns := gcNamespace(t, k, "gc-restart")
		rc, _ := gcOwnedRC(t, k, ns, "web", 3, 0)
		fg := metav1.DeletePropagationForeground
		if err := k.client.CoreV1().ReplicationControllers(ns).Delete(ctx, rc.Name, metav1.DeleteOptions{PropagationPolicy: &fg}); err != nil {
			t.Fatal(err)
		}
		background := gcNamespace(t, k, "gc-restart-background")
		rc3, _ := gcOwnedRC(t, k, background, "web", 2, 0)
		bg := metav1.DeletePropagationBackground
		if err := k.client.CoreV1().ReplicationControllers(background).Delete(ctx, rc3.Name, metav1.DeleteOptions{PropagationPolicy: &bg}); err != nil {
			t.Fatal(err)
		}
		orphans := gcNamespace(t, k, "gc-restart-orphans")
		rc2, pods2 := gcOwnedRC(t, k, orphans, "web", 2, 0)
		orphan := metav1.DeletePropagationOrphan
		if err := k.client.CoreV1().ReplicationControllers(orphans).Delete(ctx, rc2.Name, metav1.DeleteOptions{PropagationPolicy: &orphan}); err != nil {
			t.Fatal(err)
		}
		got, err := k.client.CoreV1().ReplicationControllers(ns).Get(ctx, rc.Name, metav1.GetOptions{})
		if err != nil || !gcHas(got.Finalizers, metav1.FinalizerDeleteDependents) {
			t.Fatalf("the rc after a foreground delete: %v %v", err, got)
		}
		k.cfg.Controllers = nil
		k.restart()
		gcWaitGone(t, "the rc", func() error {
			_, err := k.client.CoreV1().ReplicationControllers(ns).Get(ctx, rc.Name, metav1.GetOptions{})
			return err
		})
		// foreground: the owner went last
		l, err := k.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Items) != 0 {
			t.Fatalf("%d pods left after their owner went in the foreground", len(l.Items))
		}
		// the dependents of an owner that went while no collector ran
		gcWaitPodsGone(t, k, background)
		gcWaitGone(t, "the orphaning rc", func() error {
			_, err := k.client.CoreV1().ReplicationControllers(orphans).Get(ctx, rc2.Name, metav1.GetOptions{})
			return err
		})
		gcExpectOrphans(t, k, orphans, len(pods2))
	})

	t.Run("MidForeground", func(t *testing.T) {
		t.Parallel()
		k := startKapi(t)
		ns := gcNamespace(t, k, "gc-restart")
		rc, pods := gcOwnedRC(t, k, ns, "web", 3, 1)
		fg := metav1.DeletePropagationForeground
		if err := k.client.CoreV1().ReplicationControllers(ns).Delete(ctx, rc.Name, metav1.DeleteOptions{PropagationPolicy: &fg}); err != nil {
			t.Fatal(err)
		}
		held := pods[0].Name
		if err := waitUntil(gcWait, func() bool {
			l, err := k.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
			return err == nil && len(l.Items) == 1 && l.Items[0].DeletionTimestamp != nil
		}); err != nil {
			t.Fatalf("the foreground deletion did not begin: %v", err)
		}
		k.restart()
		if _, err := k.client.CoreV1().ReplicationControllers(ns).Get(ctx, rc.Name, metav1.GetOptions{}); err != nil {
			t.Fatalf("the rc after the restart, its held dependent still there: %v", err)
		}
		gcRelease(t, k, ns, held)
		gcWaitGone(t, "the rc", func() error {
			_, err := k.client.CoreV1().ReplicationControllers(ns).Get(ctx, rc.Name, metav1.GetOptions{})
			return err
		})
		gcWaitPodsGone(t, k, ns)
	})
}
