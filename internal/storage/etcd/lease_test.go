package etcd

import (
	"context"
	"fmt"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"kapi/internal/storage"
	"kapi/internal/storage/storagetest"
)

// TestExpire: the objects of an expiring store carry an etcd lease of
// its ttl, created and updated alike; writes in one reuse window share
// a lease, and a lease serves at most leaseMaxObjects; a store that does
// not expire writes without a lease; etcd deletes an object when its
// lease ends.
func TestExpire(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	leaseOf := func(key string) (clientv3.LeaseID, int64) {
		t.Helper()
		resp, err := s.client.Get(ctx, s.key(key))
		if err != nil || len(resp.Kvs) != 1 {
			t.Fatalf("%s: %v %v", key, err, resp)
		}
		id := clientv3.LeaseID(resp.Kvs[0].Lease)
		if id == 0 {
			return 0, 0
		}
		ttl, err := s.client.TimeToLive(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return id, ttl.GrantedTTL
	}
	if _, err := s.Create(ctx, "a/kept", storagetest.CM("a", "kept", "x")); err != nil {
		t.Fatal(err)
	}
	if id, _ := leaseOf("a/kept"); id != 0 {
		t.Fatalf("a store without Expire wrote lease %x", id)
	}

	s.Expire(time.Hour, time.Minute)
	for i := range 3 {
		if _, err := s.Create(ctx, fmt.Sprint("a/e", i), storagetest.CM("a", fmt.Sprint("e", i), "x")); err != nil {
			t.Fatal(err)
		}
	}
	first, granted := leaseOf("a/e0")
	// An hour and the window: 5% of the hour (180 s), at most the minute.
	if first == 0 || granted != 3660 {
		t.Fatalf("lease %x granted %d s, want 3660", first, granted)
	}
	for _, k := range []string{"a/e1", "a/e2"} {
		if id, _ := leaseOf(k); id != first {
			t.Errorf("%s on lease %x, want the shared %x", k, id, first)
		}
	}
	if _, err := s.Update(ctx, "a/kept", false, storagetest.Write(func(cur runtime.Object) (runtime.Object, error) {
		cur.(*corev1.ConfigMap).Data = map[string]string{"k": "changed"}
		return cur, nil
	})); err != nil {
		t.Fatal(err)
	}
	if id, _ := leaseOf("a/kept"); id != first {
		t.Errorf("an update wrote lease %x, want %x", id, first)
	}
	// A full lease is replaced.
	s.leases.attached = leaseMaxObjects
	if _, err := s.Create(ctx, "a/next", storagetest.CM("a", "next", "x")); err != nil {
		t.Fatal(err)
	}
	if id, _ := leaseOf("a/next"); id == first || id == 0 {
		t.Errorf("after %d objects, lease %x, want a new one", leaseMaxObjects, id)
	}

	// etcd's shortest lease is longer than a second; 2 s (no window).
	s.Expire(2*time.Second, time.Minute)
	if _, err := s.Create(ctx, "a/short", storagetest.CM("a", "short", "x")); err != nil {
		t.Fatal(err)
	}
	if _, granted := leaseOf("a/short"); granted != 2 {
		t.Fatalf("granted %d s, want 2", granted)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, err := s.Get(ctx, "a/short", storage.ReadOptions{})
		if storage.HasCode(err, storage.CodeNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the object outlived its lease: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := s.Get(ctx, "a/e0", storage.ReadOptions{}); err != nil {
		t.Errorf("an object of the hour's lease: %v", err)
	}
}
