package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// replica is a kapi binary on a shared etcd, killed (-9) by the test or
// at its end.
type replica struct {
	cmd    *exec.Cmd
	client kubernetes.Interface
	name   string
}

// startReplica runs the kapi binary with --etcd-servers etcd and its own
// data folder, and waits for its start-up line.
func startReplica(t *testing.T, name, etcd string, args ...string) *replica {
	t.Helper()
	port := portOf(t, "https://"+freeAddr(t))
	cmd, _, client := runKapiBinary(t, t.TempDir(), append([]string{"--secure-port", fmt.Sprint(port), "--etcd-servers", etcd}, args...)...)
	return &replica{cmd: cmd, client: client, name: name}
}

// metric reads one sample of kapi's /metrics (-1 when absent).
func metric(ctx context.Context, c kubernetes.Interface, name, labels string) (float64, error) {
	return metricSeries(ctx, c, name+"{"+labels+"}")
}

// metricSeries is the value of one series of /metrics, written as its line
// starts (name{labels}, or the name of a series without labels); -1 when
// there is none.
func metricSeries(ctx context.Context, c kubernetes.Interface, series string) (float64, error) {
	raw, err := c.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return 0, err
	}
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`)
	m := re.FindSubmatch(raw)
	if m == nil {
		return -1, nil
	}
	return strconv.ParseFloat(string(m[1]), 64)
}

func leads(ctx context.Context, r *replica) bool {
	v, err := metric(ctx, r.client, "leader_election_master_status", `name="kapi-controllers"`)
	return err == nil && v == 1
}

// TestControllersLeaderElection: two replicas on one etcd; exactly one
// runs the control loops (the other's namespace queue never gets an
// item); kill -9 of the leader moves the loops to the other, which
// finishes a namespace deletion the dead one had started, leaving
// nothing behind. The failover time is logged (the goal is 15 s with the
// default lease of 10 s); the test waits up to a minute.
func TestControllersLeaderElection(t *testing.T) {
	t.Parallel()
	etcd := startEtcd(t)
	a := startReplica(t, "a", etcd)
	b := startReplica(t, "b", etcd)
	ctx := context.Background()

	var leader, other *replica
	if err := waitUntil(30*time.Second, func() bool {
		la, lb := leads(ctx, a), leads(ctx, b)
		switch {
		case la && !lb:
			leader, other = a, b
		case lb && !la:
			leader, other = b, a
		default:
			return false
		}
		return true
	}); err != nil {
		t.Fatal("no single leader among the two replicas")
	}
	t.Logf("replica %s leads", leader.name)

	// Work while both are alive: a namespace deleted through the other
	// replica is finished by the leader alone.
	mkNamespace(t, other.client, "both-alive", 20, nil)
	if err := other.client.CoreV1().Namespaces().Delete(ctx, "both-alive", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitNamespaceGone(t, other.client, "both-alive")
	if v, err := metric(ctx, leader.client, "workqueue_adds_total", `name="namespace"`); err != nil || v < 1 {
		t.Fatalf("the leader's namespace queue saw no work: %v %v", v, err)
	}
	if v, err := metric(ctx, other.client, "workqueue_adds_total", `name="namespace"`); err != nil || v > 0 {
		t.Fatalf("the replica that does not lead worked too (workqueue_adds_total %v, %v)", v, err)
	}

	// A deletion the leader starts but cannot finish (a finalizer holds a
	// ConfigMap), then the leader dies.
	mkNamespace(t, other.client, "mid-deletion", 20, []string{"e2e.kapi.dev/hold"})
	if err := other.client.CoreV1().Namespaces().Delete(ctx, "mid-deletion", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := waitUntil(60*time.Second, func() bool {
		l, err := other.client.CoreV1().ConfigMaps("mid-deletion").List(ctx, metav1.ListOptions{})
		return err == nil && len(l.Items) == 1 && l.Items[0].DeletionTimestamp != nil
	}); err != nil {
		t.Fatal("the leader did not delete the namespace's contents")
	}
	leader.cmd.Process.Kill()
	leader.cmd.Wait()
	killed := time.Now()
	if err := waitUntil(60*time.Second, func() bool { return leads(ctx, other) }); err != nil {
		t.Fatal("the surviving replica never took the lease")
	}
	t.Logf("failover: replica %s leads %.1f s after kill -9 of %s", other.name, time.Since(killed).Seconds(), leader.name)

	// The survivor finishes what the dead leader started.
	cm, err := other.client.CoreV1().ConfigMaps("mid-deletion").Get(ctx, "held", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cm.Finalizers = nil
	if _, err := other.client.CoreV1().ConfigMaps("mid-deletion").Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitNamespaceGone(t, other.client, "mid-deletion")
	if v, err := metric(ctx, other.client, "workqueue_adds_total", `name="namespace"`); err != nil || v < 1 {
		t.Fatalf("the new leader's namespace queue saw no work: %v %v", v, err)
	}
}

// mkNamespace makes namespace ns with n ConfigMaps, the last of them
// ("held") with the given finalizers.
func mkNamespace(t *testing.T, c kubernetes.Interface, ns string, n int, finalizers []string) {
	t.Helper()
	ctx := context.Background()
	if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%d", i)}}
		if i == n-1 && finalizers != nil {
			cm.Name, cm.Finalizers = "held", finalizers
		}
		if _, err := c.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

// waitNamespaceGone waits until namespace ns and everything in it are
// gone.
func waitNamespaceGone(t *testing.T, c kubernetes.Interface, ns string) {
	t.Helper()
	ctx := context.Background()
	if err := waitUntil(60*time.Second, func() bool {
		_, err := c.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	}); err != nil {
		got, _ := c.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		t.Fatalf("namespace %s is still there: %s", ns, strings.TrimSpace(fmt.Sprint(got.Status)))
	}
	l, err := c.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
	if err != nil || len(l.Items) != 0 {
		t.Fatalf("namespace %s left %d ConfigMaps behind (%v)", ns, len(l.Items), err)
	}
}
