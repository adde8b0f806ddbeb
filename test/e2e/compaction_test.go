package e2e

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"kapi/internal/server"
	"kapi/internal/storage/etcd"
)

// TestEtcdCompaction: with --etcd-compaction-interval, two replicas on one
// etcd (one with the watch cache, one without) compact it as
// kube-apiserver's do, one compaction per round between them, each
// keeping the history since the round before; a continue token whose
// revision has been compacted is then 410 Expired with kube's message and
// a token to go on with, from the watch cache (though nothing changed) as
// from etcd; a watch from a compacted revision is 410.
func TestEtcdCompaction(t *testing.T) {
	url := startEtcd(t)
	ctx := context.Background()
	c := etcdClient(t, url)
	// Every round, as it happens: compact_rev_key is never compacted
	// away from under a watch that runs.
	wctx, stopRounds := context.WithCancel(ctx)
	defer stopRounds()
	rounds := c.Watch(wctx, etcd.CompactRevKey)

	replica := func(watchCache bool) func(*server.Config) {
		return func(c *server.Config) {
			c.EtcdServers, c.EtcdCompactionInterval, c.WatchCache = []string{url}, time.Second, watchCache
		}
	}
	// The direct one first: the caches of the other start after its
	// bootstrap writes, so that their rings do not hold revision 1.
	direct := startKapi(t, replica(false), withoutLoops(rootCAPublisher))
	cached := startKapi(t, replica(true), withoutLoops(rootCAPublisher))

	cms := cached.client.CoreV1().ConfigMaps("default")
	for i := range 3 {
		if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("c%d", i)}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	first := map[string]*corev1.ConfigMapList{}
	for name, k := range map[string]*kapi{"cached": cached, "direct": direct} {
		l, err := k.client.CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{Limit: 1})
		if err != nil || l.Continue == "" {
			t.Fatalf("%s: first page: %v %+v", name, err, l.ListMeta)
		}
		first[name] = l
	}
	// Nothing written since: the cache holds the state of the token's
	// revision, and must still not serve it once etcd has compacted it.
	// (The watch from the direct one's revision starts at the revision
	// after it: that one compacted too.)
	rv, _ := strconv.ParseInt(first["cached"].ResourceVersion, 10, 64)
	rvDirect, _ := strconv.ParseInt(first["direct"].ResourceVersion, 10, 64)
	rv = max(rv, rvDirect+1)
	if err := waitUntil(60*time.Second, func() bool {
		_, err := c.Get(ctx, "/registry/configmaps/default/c0", clientv3.WithRev(rv))
		return errors.Is(err, rpctypes.ErrCompacted)
	}); err != nil {
		t.Fatalf("etcd was not compacted past revision %d", rv)
	}

	for name, k := range map[string]*kapi{"cached": cached, "direct": direct} {
		t.Run("continue/"+name, func(t *testing.T) { expiredContinue(t, k.client, first[name]) })
	}

	// A watch from a compacted revision: etcd refuses it (kube's message);
	// the watch cache, as kube's, refuses one older than the events it
	// holds (and serves one it holds the events after, compacted or not).
	for name, w := range map[string]struct {
		k   *kapi
		rv  string
		msg string
	}{
		"direct": {direct, first["direct"].ResourceVersion, etcd.WatchTooOld},
		"cached": {cached, "1", "too old resource version: 1 ("},
	} {
		t.Run("watch/"+name, func(t *testing.T) {
			wi, err := w.k.client.CoreV1().ConfigMaps("default").Watch(ctx, metav1.ListOptions{ResourceVersion: w.rv})
			if err != nil {
				t.Fatal(err)
			}
			defer wi.Stop()
			ev, ok := <-wi.ResultChan()
			st, isStatus := ev.Object.(*metav1.Status)
			if !ok || ev.Type != watch.Error || !isStatus || st.Code != 410 || st.Reason != metav1.StatusReasonExpired ||
				len(st.Message) < len(w.msg) || st.Message[:len(w.msg)] != w.msg {
				t.Fatalf("watch from %s: %v %+v, want 410 %q", w.rv, ev.Type, ev.Object, w.msg)
			}
		})
	}

	// One compaction per round between both replicas: every round's put
	// of compact_rev_key compacts a revision recorded at or after the
	// round before it (so one interval of history is kept), which two
	// replicas that did not agree through the key's version would break
	// (each would compact what it saw at its own last round, before the
	// other's).
	type put struct{ version, modRev, compacts int64 }
	var puts []put
	for len(puts) < 5 {
		wr, ok := <-rounds
		if !ok {
			t.Fatalf("the watch of %s ended after %d rounds", etcd.CompactRevKey, len(puts))
		}
		if err := wr.Err(); err != nil {
			t.Fatal(err)
		}
		for _, ev := range wr.Events {
			v, _ := strconv.ParseInt(string(ev.Kv.Value), 10, 64)
			puts = append(puts, put{ev.Kv.Version, ev.Kv.ModRevision, v})
		}
	}
	stopRounds()
	for i, p := range puts {
		if p.version != int64(i+1) {
			t.Fatalf("round %d has version %d: %+v", i+1, p.version, puts)
		}
		if i == 0 {
			if p.compacts != 0 {
				t.Errorf("the first round compacts %d", p.compacts)
			}
			continue
		}
		if prev := puts[i-1]; p.compacts < prev.modRev || p.compacts >= p.modRev {
			t.Errorf("round %d (revision %d) compacts %d, not between the round before (revision %d) and itself", i+1, p.modRev, p.compacts, prev.modRev)
		}
	}
	t.Logf("rounds (version, revision, compacts): %v", puts)
}

// expiredContinue: the continue token of first, whose revision is
// compacted, is 410 Expired with kube's message and an inconsistent token
// that lists the rest as it is now.
func expiredContinue(t *testing.T, client kubernetes.Interface, first *corev1.ConfigMapList) {
	ctx := context.Background()
	cms := client.CoreV1().ConfigMaps("default")
	var err error
	// The watch cache learns of the compaction through compact_rev_key,
	// a moment after etcd made it.
	if werr := waitUntil(30*time.Second, func() bool {
		_, err = cms.List(ctx, metav1.ListOptions{Limit: 1, Continue: first.Continue})
		return err != nil
	}); werr != nil {
		t.Fatalf("the compacted continue token is still served")
	}
	var st apierrors.APIStatus
	if !apierrors.IsResourceExpired(err) || !errors.As(err, &st) || st.Status().Message != etcd.ContinueTooOld || st.Status().ListMeta.Continue == "" {
		t.Fatalf("a compacted continue token: %v", err)
	}
	rest, err := cms.List(ctx, metav1.ListOptions{Limit: 1, Continue: st.Status().ListMeta.Continue})
	if err != nil || len(rest.Items) != 1 || rest.Items[0].Name != "c1" || rest.ResourceVersion == first.ResourceVersion {
		t.Fatalf("the inconsistent continue token: %v %+v", err, rest)
	}
}
