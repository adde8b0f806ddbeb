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
	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"kapi/internal/server"
	"kapi/internal/storage/etcd"
)

// TestEtcdCompaction: with --etcd-compaction-interval, two replicas on one
// etcd compact it as kube-apiserver's do, one compaction per interval
// between them, keeping one interval of history; a continue token whose
// revision has been compacted is then 410 Expired with kube's message and
// a token to go on with.
func TestEtcdCompaction(t *testing.T) {
	url := startEtcd(t)
	const interval = time.Second
	replica := func(c *server.Config) {
		c.EtcdServers, c.EtcdCompactionInterval = []string{url}, interval
	}
	k := startKapi(t, replica, withoutLoops(rootCAPublisher))
	started := time.Now()
	startKapi(t, replica, withoutLoops(rootCAPublisher))
	ctx := context.Background()
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{url}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	cms := k.client.CoreV1().ConfigMaps("default")
	for i := range 3 {
		if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("c%d", i)}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	first, err := cms.List(ctx, metav1.ListOptions{Limit: 1})
	if err != nil || first.Continue == "" {
		t.Fatalf("first page: %v %+v", err, first.ListMeta)
	}
	rv, _ := strconv.ParseInt(first.ResourceVersion, 10, 64)
	// A write, so that the next page is not served from the cache's
	// unchanged memory, and the revision moves on.
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "later"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := waitUntil(60*time.Second, func() bool {
		_, err := c.Get(ctx, "/registry/configmaps/default/c0", clientv3.WithRev(rv))
		return errors.Is(err, rpctypes.ErrCompacted)
	}); err != nil {
		t.Fatalf("etcd was not compacted past revision %d", rv)
	}
	_, err = cms.List(ctx, metav1.ListOptions{Limit: 1, Continue: first.Continue})
	var st apierrors.APIStatus
	if !apierrors.IsResourceExpired(err) || !errors.As(err, &st) || st.Status().Message != etcd.ContinueTooOld || st.Status().ListMeta.Continue == "" {
		t.Fatalf("a compacted continue token: %v", err)
	}
	// The inconsistent token goes on from now.
	if _, err := cms.List(ctx, metav1.ListOptions{Limit: 1, Continue: st.Status().ListMeta.Continue}); err != nil {
		t.Fatalf("the inconsistent continue token: %v", err)
	}

	// One compaction round per interval between both replicas: the key's
	// version counts the rounds (two replicas each compacting on its own
	// would make about two a second).
	time.Sleep(3 * interval)
	resp, err := c.Get(ctx, etcd.CompactRevKey)
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("%s: %v %v", etcd.CompactRevKey, err, resp)
	}
	elapsed := time.Since(started)
	if rounds, most := resp.Kvs[0].Version, int64(elapsed/interval)+2; rounds > most {
		t.Errorf("%d compaction rounds in %v with an interval of %v: more than one a round", rounds, elapsed, interval)
	} else {
		t.Logf("%d compaction rounds in %v", rounds, elapsed.Round(time.Millisecond))
	}
}
