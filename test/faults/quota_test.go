package faults

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// quota is the etcd members' --quota-backend-bytes in the space quota
// tests.
var quota = clusterArgs{etcd: []string{"--quota-backend-bytes", fmt.Sprint(24 << 20)}}

// TestEtcdSpaceQuota: when etcd's space quota is exhausted, writes are
// refused with a 5xx Status naming the cause while reads are still
// served; after compaction, defragmentation and disarming the alarm (as an
// operator does), writes succeed again without restarting kapi.
func TestEtcdSpaceQuota(t *testing.T) {
	c := startCluster(t, quota)
	ctx := context.Background()
	cms := c.clientFor(0).CoreV1().ConfigMaps("default")
	n, refused := fillQuota(t, c)
	var st apierrors.APIStatus
	if !errors.As(refused, &st) || st.Status().Code < 500 || !strings.Contains(st.Status().Message, "database space exceeded") {
		t.Fatalf("a write over the quota: %v", refused)
	}
	t.Logf("after %d writes: %d %s %q", n-1, st.Status().Code, st.Status().Reason, st.Status().Message)
	if _, err := cms.Get(ctx, fmt.Sprintf("fill-%d", n-1), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the refused create of fill-%d: %v, want NotFound", n-1, err)
	}
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "small"}}, metav1.CreateOptions{}); err == nil {
		t.Fatal("a small write succeeded with the alarm raised")
	}
	if _, err := cms.Get(ctx, "fill-0", metav1.GetOptions{}); err != nil {
		t.Errorf("a read with the alarm raised: %v", err)
	}
	// Every acknowledged create is there, served by a list.
	if l, err := cms.List(ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("a list with the alarm raised: %v", err)
	} else {
		there := map[string]bool{}
		for _, cm := range l.Items {
			there[cm.Name] = true
		}
		for i := 0; i < n-1; i++ {
			if !there[fmt.Sprintf("fill-%d", i)] {
				t.Errorf("the acknowledged create of fill-%d is not listed", i)
			}
		}
	}

	recoverQuota(t, c, n)
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "after"}, Data: map[string]string{"x": strings.Repeat("x", 900<<10)}}, metav1.CreateOptions{})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("writes after the recovery: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestEtcdSpaceQuotaUnderLoad: etcd's space quota exhausted and recovered
// while the clients write and the watchers watch: a write refused for the
// quota (a 500 that says so) has not happened, a write acknowledged is
// there, the register's history is linearizable and the watches are whole.
func TestEtcdSpaceQuotaUnderLoad(t *testing.T) {
	c := startCluster(t, quota)
	f := run(t, c, 0, func(t *testing.T) int {
		n, _ := fillQuota(t, c)
		time.Sleep(2 * time.Second * scale()) // the writes refused, the reads served
		recoverQuota(t, c, n)
		return 1
	})
	t.Logf("etcd's space quota exhausted: %v", f)
	fmt.Println("faults: etcd's space quota exhausted:", f)
}

// fillQuota creates ConfigMaps of 900 KiB in namespace default, fill-0,
// fill-1, ..., until one is refused: it returns how many it tried and the
// refusal.
func fillQuota(t *testing.T, c *cluster) (int, error) {
	t.Helper()
	cms := c.clientFor(0).CoreV1().ConfigMaps("default")
	big := strings.Repeat("x", 900<<10)
	for n := 0; n < 200; n++ {
		_, err := cms.Create(context.Background(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("fill-%d", n)}, Data: map[string]string{"x": big}}, metav1.CreateOptions{})
		if err != nil {
			return n + 1, err
		}
	}
	t.Fatal("200 writes of 900 KiB under a 24 MiB quota all succeeded")
	return 0, nil
}

// recoverQuota is the operator's way out: delete the n fill objects,
// compact, defragment every member, disarm the alarm.
func recoverQuota(t *testing.T, c *cluster, n int) {
	t.Helper()
	ctx := context.Background()
	cms := c.clientFor(0).CoreV1().ConfigMaps("default")
	for i := 0; i < n; i++ {
		cms.Delete(ctx, fmt.Sprintf("fill-%d", i), metav1.DeleteOptions{})
	}
	resp, err := c.etcdClient.Get(ctx, "/registry/configmaps/default/fill-0", clientv3.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.etcdClient.Compact(ctx, resp.Header.Revision, clientv3.WithCompactPhysical()); err != nil {
		t.Fatal(err)
	}
	for _, u := range c.etcdURLs {
		if _, err := c.etcdClient.Defragment(ctx, u); err != nil {
			t.Fatalf("defragmenting %s: %v", u, err)
		}
	}
	alarms, err := c.etcdClient.AlarmList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(alarms.Alarms) == 0 || alarms.Alarms[0].Alarm != etcdserverpb.AlarmType_NOSPACE {
		t.Errorf("etcd's alarms: %v", alarms.Alarms)
	}
	for _, a := range alarms.Alarms {
		if _, err := c.etcdClient.AlarmDisarm(ctx, (*clientv3.AlarmMember)(a)); err != nil {
			t.Fatal(err)
		}
	}
}
