package etcd

import (
	"context"
	"strconv"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/klog/v2"
)

// CompactRevKey is the key through which the API servers on one etcd agree
// on compactions: kube-apiserver's own (k8s.io/apiserver
// pkg/storage/etcd3/compact.go), outside any prefix, so that kapi and
// kube-apiserver replicas on one etcd share the one schedule. Its value is
// the revision the round that wrote it compacts; its version counts the
// rounds.
const CompactRevKey = "compact_rev_key"

// Compaction is what this replica knows of etcd's compaction: the newest
// revision compacted by any API server on the etcd (through CompactRevKey),
// or 0. The watch cache consults it, so that what it serves from memory
// does not outlive etcd's history: a continue token or a watch from before
// it is 410 Gone, as they are from etcd.
type Compaction struct {
	rev atomic.Int64
}

// Revision is the newest compacted revision known: etcd has no revision
// before it.
func (c *Compaction) Revision() int64 {
	if c == nil {
		return 0
	}
	return c.rev.Load()
}

// observe records that rev has been compacted.
func (c *Compaction) observe(rev int64) {
	for {
		old := c.rev.Load()
		if rev <= old || c.rev.CompareAndSwap(old, rev) {
			return
		}
	}
}

// Run compacts etcd every interval, as kube-apiserver does: each round,
// the replica whose transaction on CompactRevKey's version wins records
// the current revision and compacts the revision recorded the round
// before. So history is kept for at least one interval, and with several
// replicas there is one compaction per interval, whichever replica makes
// it. It returns when ctx ends.
func (c *Compaction) Run(ctx context.Context, client *clientv3.Client, interval time.Duration) {
	var version, rev int64
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var compacted int64
		var err error
		version, rev, compacted, err = compact(ctx, client, version, rev)
		if err != nil && ctx.Err() == nil {
			klog.ErrorS(err, "etcd: compacting")
		}
		c.observe(compacted)
	}
}

// compact is one round: when CompactRevKey is still at version (nobody
// compacted since this replica last looked), it records rev and compacts
// it, rev being the revision seen a round ago (none on the first round).
// It returns the version and revision to try next, and the revision now
// compacted (by this round or by the one of another replica; 0 when
// none).
func compact(ctx context.Context, c *clientv3.Client, version, rev int64) (nextVersion, nextRev, compacted int64, err error) {
	resp, err := c.Txn(ctx).If(
		clientv3.Compare(clientv3.Version(CompactRevKey), "=", version),
	).Then(
		clientv3.OpPut(CompactRevKey, strconv.FormatInt(rev, 10)), // the put makes its version version+1
	).Else(
		clientv3.OpGet(CompactRevKey),
	).Commit()
	if err != nil {
		return version, rev, 0, err
	}
	current := resp.Header.Revision
	if !resp.Succeeded {
		// Another replica made this round: follow its count.
		kv := resp.Responses[0].GetResponseRange().Kvs[0]
		other, _ := strconv.ParseInt(string(kv.Value), 10, 64)
		return kv.Version, current, other, nil
	}
	if rev == 0 {
		return version + 1, current, 0, nil
	}
	if _, err := c.Compact(ctx, rev); err != nil {
		return version + 1, current, 0, err
	}
	klog.V(4).InfoS("etcd: compacted", "revision", rev)
	return version + 1, current, rev, nil
}

// Follow keeps Revision current with the compactions of every replica on
// the etcd, as kube-apiserver's compactor does for its watch cache: it
// reads CompactRevKey, then watches it. It returns when ctx ends.
func (c *Compaction) Follow(ctx context.Context, client *clientv3.Client) {
	for {
		if err := c.follow(ctx, client); err != nil && ctx.Err() == nil {
			klog.V(2).InfoS("etcd: following compactions", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

func (c *Compaction) follow(ctx context.Context, client *clientv3.Client) error {
	resp, err := client.Get(ctx, CompactRevKey)
	if err != nil {
		return err
	}
	if len(resp.Kvs) == 1 {
		rev, _ := strconv.ParseInt(string(resp.Kvs[0].Value), 10, 64)
		c.observe(rev)
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for wr := range client.Watch(wctx, CompactRevKey, clientv3.WithRev(resp.Header.Revision+1)) {
		if err := wr.Err(); err != nil {
			return err
		}
		for _, ev := range wr.Events {
			rev, _ := strconv.ParseInt(string(ev.Kv.Value), 10, 64)
			c.observe(rev)
		}
	}
	return ctx.Err()
}
