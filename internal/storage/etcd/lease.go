package etcd

import (
	"context"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"kapi/internal/metrics"
)

// Expire makes every object the store writes expire ttl after its last
// write: etcd deletes it then, and watches see the deletion
// (kube-apiserver's --event-ttl, for Events). The objects share etcd
// leases, as kube's lease manager shares them: a lease granted for ttl
// plus a reuse window (5% of ttl, at most reuse: --lease-reuse-duration-seconds)
// serves the writes of that window, at most 1,000 of them, so that an
// object lives between ttl and ttl plus the window. It returns s.
func (s *Store) Expire(ttl, reuse time.Duration) *Store {
	s.leases = &leases{client: s.client, ttl: int64(ttl / time.Second), reuse: int64(reuse / time.Second), max: leaseMaxObjects}
	return s
}

// leaseMaxObjects is how many objects one lease serves (kube's
// defaultLeaseMaxObjectCount).
const leaseMaxObjects = 1000

// leases are a store's etcd leases for its expiring objects.
type leases struct {
	client     *clientv3.Client
	ttl, reuse int64 // seconds
	max        int64

	mu       sync.Mutex
	id       clientv3.LeaseID
	expires  time.Time
	attached int64
}

// putOptions are the options of a put of the store's objects: a lease,
// if they expire.
func (s *Store) putOptions(ctx context.Context) ([]clientv3.OpOption, error) {
	if s.leases == nil || s.leases.ttl <= 0 {
		return nil, nil
	}
	id, err := s.leases.get(ctx)
	if err != nil {
		return nil, unavailable(err, true)
	}
	return []clientv3.OpOption{clientv3.WithLease(id)}, nil
}

// get is a lease that outlives ttl from now by no more than the reuse
// window: the last one granted if it does and has served fewer than max
// objects, else a new one of ttl plus the window (kube's GetLease).
func (l *leases) get(ctx context.Context) (clientv3.LeaseID, error) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	window := min(int64(0.05*float64(l.ttl)), l.reuse)
	valid := now.Add(time.Duration(l.ttl) * time.Second).Before(l.expires)
	sufficient := now.Add(time.Duration(l.ttl+window) * time.Second).After(l.expires)
	l.attached++
	if valid && sufficient && l.attached <= l.max {
		return l.id, nil
	}
	ttl := l.ttl + window
	resp, err := l.client.Grant(ctx, ttl)
	if err != nil {
		return 0, err
	}
	leaseObjects.WithLabelValues().Observe(float64(l.attached))
	l.id, l.expires, l.attached = resp.ID, now.Add(time.Duration(ttl)*time.Second), 1
	return l.id, nil
}

// leaseObjects is kube's etcd_lease_object_counts: observed, as kube's,
// when a lease is replaced, with the count of the writes that asked for
// the old one (the one that replaces it included).
var leaseObjects = metrics.Histogram("etcd_lease_object_counts",
	"[ALPHA] Number of objects attached to a single etcd lease.",
	[]float64{10, 50, 100, 500, 1000, 2500, 5000})
