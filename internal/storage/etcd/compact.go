package etcd

import (
	"context"
	"strconv"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/klog/v2"
)

// CompactRevKey is the key through which the API servers on one etcd agree
// on compactions: kube-apiserver's own (k8s.io/apiserver
// pkg/storage/etcd3/compact.go), outside any prefix, so that kapi and
// kube-apiserver replicas on one etcd share the one schedule.
const CompactRevKey = "compact_rev_key"

// Compactor compacts etcd every interval, as kube-apiserver does: each
// round, the replica whose transaction on CompactRevKey's version wins
// records the current revision and compacts the revision recorded the
// round before. So history is kept for at least one interval, and with
// several replicas there is one compaction per interval, whichever
// replica makes it. It returns when ctx ends.
func Compactor(ctx context.Context, c *clientv3.Client, interval time.Duration) {
	var version, rev int64
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var err error
		version, rev, err = compact(ctx, c, version, rev)
		if err != nil && ctx.Err() == nil {
			klog.ErrorS(err, "etcd: compacting")
		}
	}
}

// compact is one round: when CompactRevKey is still at version (nobody
// compacted since this replica last looked), it records the current
// revision and compacts rev, the one recorded a round ago (none on the
// first round). It returns the version and revision to try next.
func compact(ctx context.Context, c *clientv3.Client, version, rev int64) (int64, int64, error) {
	resp, err := c.Txn(ctx).If(
		clientv3.Compare(clientv3.Version(CompactRevKey), "=", version),
	).Then(
		clientv3.OpPut(CompactRevKey, strconv.FormatInt(rev, 10)), // the put makes its version version+1
	).Else(
		clientv3.OpGet(CompactRevKey),
	).Commit()
	if err != nil {
		return version, rev, err
	}
	current := resp.Header.Revision
	if !resp.Succeeded {
		// Another replica compacted this round: follow its count.
		return resp.Responses[0].GetResponseRange().Kvs[0].Version, current, nil
	}
	if rev == 0 {
		return version + 1, current, nil
	}
	if _, err := c.Compact(ctx, rev); err != nil {
		return version + 1, current, err
	}
	klog.V(4).InfoS("etcd: compacted", "revision", rev)
	return version + 1, current, nil
}
