package server

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/klog/v2"

	"kapi/internal/storage/embedded"
)

// snapshotPrefix names the scheduled snapshots: kapi-<UTC time>.db.
const snapshotPrefix = "kapi-"

// SnapshotName is the file name of a snapshot taken at t.
func SnapshotName(t time.Time) string {
	return snapshotPrefix + t.UTC().Format("20060102T150405.000Z") + ".db"
}

// snapshots saves a snapshot of etcd into dir every interval and keeps
// the newest retention of them (0 keeps all). It returns when ctx ends.
func snapshots(ctx context.Context, c *clientv3.Client, dir string, interval time.Duration, retention int) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		path := filepath.Join(dir, SnapshotName(time.Now()))
		n, err := embedded.SaveSnapshot(ctx, c, path)
		if err != nil {
			if ctx.Err() == nil {
				klog.ErrorS(err, "scheduled etcd snapshot")
			}
			continue
		}
		klog.V(2).InfoS("saved an etcd snapshot", "path", path, "bytes", n)
		if err := pruneSnapshots(dir, retention); err != nil {
			klog.ErrorS(err, "removing old etcd snapshots")
		}
	}
}

// pruneSnapshots removes all but the newest keep scheduled snapshots in
// dir (their names sort by time); files of other names are not touched.
func pruneSnapshots(dir string, keep int) error {
	if keep <= 0 {
		return nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var names []string
	for _, e := range entries {
		if n := e.Name(); strings.HasPrefix(n, snapshotPrefix) && strings.HasSuffix(n, ".db") && e.Type().IsRegular() {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for len(names) > keep {
		if err := os.Remove(filepath.Join(dir, names[0])); err != nil {
			return fmt.Errorf("removing %s: %w", names[0], err)
		}
		names = names[1:]
	}
	return nil
}

// EtcdURLFile is where a running kapi writes its embedded etcd's client
// URL (loopback), for `kapi etcd-snapshot save` and etcdctl.
func EtcdURLFile(dataDir string) string { return filepath.Join(dataDir, "etcd.url") }
