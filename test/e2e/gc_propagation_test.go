package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// gcOwnedRC creates a ReplicationController with n pods it owns, made by
// the test as the replication controller would (kapi runs no workload
// controller): each pod's reference controls and blocks its owner's
// deletion. held is how many of them carry the test's finalizer.
func gcOwnedRC(t *testing.T, k *kapi, ns, name string, n, held int) (*corev1.ReplicationController, []*corev1.Pod) {
	t.Helper()
	labels := map[string]string{"app": name}
	rc, err := k.client.CoreV1().ReplicationControllers(ns).Create(context.Background(), gcRC(name, int32(n), labels), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ref := gcOwner("v1", "ReplicationController", rc)
	pods := gcPods(t, k, ns, name+"-held", held, labels, []string{gcHold}, ref)
	pods = append(pods, gcPods(t, k, ns, name, n-held, labels, nil, ref)...)
	return rc, pods
}

func TestGCPropagationClientGo(t *testing.T) {
	t.Parallel()
	k := startKapi(t)
	ctx := context.Background()

	t.Run("Background", func(t *testing.T) {
		t.Parallel()
		ns := gcNamespace(t, k, "gc-background")
		rc, _ := gcOwnedRC(t, k, ns, "web", 3, 0)
		bg := metav1.DeletePropagationBackground
		if err := k.client.CoreV1().ReplicationControllers(ns).Delete(ctx, rc.Name, metav1.DeleteOptions{PropagationPolicy: &bg}); err != nil {
			t.Fatal(err)
		}
		// the owner goes at once, its dependents after
		if _, err := k.client.CoreV1().ReplicationControllers(ns).Get(ctx, rc.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Fatalf("the rc after a background delete: %v, want NotFound", err)
		}
		gcWaitPodsGone(t, k, ns)
	})

	t.Run("Foreground", func(t *testing.T) {
		t.Parallel()
		ns := gcNamespace(t, k, "gc-foreground")
		rc, pods := gcOwnedRC(t, k, ns, "web", 3, 1)
		fg := metav1.DeletePropagationForeground
		if err := k.client.CoreV1().ReplicationControllers(ns).Delete(ctx, rc.Name, metav1.DeleteOptions{PropagationPolicy: &fg}); err != nil {
			t.Fatal(err)
		}
		got, err := k.client.CoreV1().ReplicationControllers(ns).Get(ctx, rc.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("the rc must stay while a dependent blocks it: %v", err)
		}
		if got.DeletionTimestamp == nil || !gcHas(got.Finalizers, metav1.FinalizerDeleteDependents) {
			t.Fatalf("the rc after a foreground delete: deletionTimestamp %v finalizers %v", got.DeletionTimestamp, got.Finalizers)
		}
		// the dependents that can go, go; the held one is marked
		held := pods[0].Name
		if err := waitUntil(gcWait, func() bool {
			l, err := k.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
			return err == nil && len(l.Items) == 1 && l.Items[0].Name == held && l.Items[0].DeletionTimestamp != nil
		}); err != nil {
			t.Fatalf("the unheld pods were not deleted, nor the held one marked: %v", err)
		}
		if got, err := k.client.CoreV1().ReplicationControllers(ns).Get(ctx, rc.Name, metav1.GetOptions{}); err != nil || !gcHas(got.Finalizers, metav1.FinalizerDeleteDependents) {
			t.Fatalf("the rc went while a blocking dependent remained: %v", err)
		}
		gcRelease(t, k, ns, held)
		gcWaitGone(t, "the rc", func() error {
			_, err := k.client.CoreV1().ReplicationControllers(ns).Get(ctx, rc.Name, metav1.GetOptions{})
			return err
		})
		gcWaitPodsGone(t, k, ns)
	})

	t.Run("Orphan", func(t *testing.T) {
		t.Parallel()
		ns := gcNamespace(t, k, "gc-orphan")
		rc, pods := gcOwnedRC(t, k, ns, "web", 3, 0)
		orphan := metav1.DeletePropagationOrphan
		if err := k.client.CoreV1().ReplicationControllers(ns).Delete(ctx, rc.Name, metav1.DeleteOptions{PropagationPolicy: &orphan}); err != nil {
			t.Fatal(err)
		}
		gcWaitGone(t, "the rc", func() error {
			_, err := k.client.CoreV1().ReplicationControllers(ns).Get(ctx, rc.Name, metav1.GetOptions{})
			return err
		})
		gcExpectOrphans(t, k, ns, len(pods))
	})
}

// gcExpectOrphans checks that ns holds n pods and that none of them has
// an owner left, once the collector has settled.
func gcExpectOrphans(t *testing.T, k *kapi, ns string, n int) {
	t.Helper()
	gcSettled(t, k, ns)
	l, err := k.client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Items) != n {
		t.Fatalf("%d pods remain, want the %d orphans", len(l.Items), n)
	}
	for _, p := range l.Items {
		if len(p.OwnerReferences) != 0 || p.DeletionTimestamp != nil {
			t.Errorf("orphan %s: ownerReferences %v deletionTimestamp %v", p.Name, p.OwnerReferences, p.DeletionTimestamp)
		}
	}
}

func TestGCPropagationKubectl(t *testing.T) {
	t.Parallel()
	k := startKapi(t)
	ctx := context.Background()
	for _, cascade := range []string{"background", "foreground", "orphan"} {
		t.Run(cascade, func(t *testing.T) {
			t.Parallel()
			ns := gcNamespace(t, k, "gc-kubectl-"+cascade)
			rc, pods := gcOwnedRC(t, k, ns, "web", 3, 0)
			// kubectl waits until the rc is gone
			gcKubectl(t, k, "delete", "rc", rc.Name, "-n", ns, "--cascade="+cascade, "--timeout=50s")
			if _, err := k.client.CoreV1().ReplicationControllers(ns).Get(ctx, rc.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Fatalf("the rc after kubectl delete: %v", err)
			}
			switch cascade {
			case "background":
				gcWaitPodsGone(t, k, ns)
			case "foreground":
				// the owner went after its dependents: none is left now
				l, err := k.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if len(l.Items) != 0 {
					t.Fatalf("%d pods remain after the foreground deletion of their owner", len(l.Items))
				}
			case "orphan":
				gcExpectOrphans(t, k, ns, len(pods))
			}
		})
	}

	t.Run("foreground-no-wait", func(t *testing.T) {
		t.Parallel()
		ns := gcNamespace(t, k, "gc-kubectl-nowait")
		rc, pods := gcOwnedRC(t, k, ns, "web", 2, 1)
		out := gcKubectl(t, k, "delete", "rc", rc.Name, "-n", ns, "--cascade=foreground", "--wait=false")
		if want := fmt.Sprintf("replicationcontroller %q deleted", rc.Name); !gcContainsString(out, want) {
			t.Errorf("kubectl said %q, want %q", out, want)
		}
		got := gcKubectl(t, k, "get", "rc", rc.Name, "-n", ns, "-o", "jsonpath={.metadata.finalizers}")
		if !gcContainsString(got, metav1.FinalizerDeleteDependents) {
			t.Fatalf("the rc's finalizers: %s", got)
		}
		gcWaitGone(t, "the unheld pod", func() error {
			_, err := k.client.CoreV1().Pods(ns).Get(ctx, pods[1].Name, metav1.GetOptions{})
			return err
		})
		gcRelease(t, k, ns, pods[0].Name)
		gcWaitGone(t, "the rc", func() error {
			_, err := k.client.CoreV1().ReplicationControllers(ns).Get(ctx, rc.Name, metav1.GetOptions{})
			return err
		})
	})
}

// gcKubectl is mustKubectl for a subtest: k.mustKubectl fails the test
// that started kapi, which a parallel subtest must not.
func gcKubectl(t *testing.T, k *kapi, args ...string) string {
	t.Helper()
	out, err := k.kubectl("", args...)
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func gcContainsString(s, sub string) bool {
	_, ok := gcContainsAll(s, sub)
	return ok
}
