package embedded

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/etcdutl/v3/snapshot"
	"go.uber.org/zap"
)

// SaveSnapshot writes a snapshot of the etcd c talks to into path: etcd's
// own snapshot stream (its database with a checksum at the end), written
// beside path first and renamed into place once whole, so that path is a
// complete snapshot or nothing.
func SaveSnapshot(ctx context.Context, c *clientv3.Client, path string) (int64, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return 0, err
	}
	rc, err := c.Snapshot(ctx)
	if err != nil {
		return 0, fmt.Errorf("asking etcd for a snapshot: %w", err)
	}
	defer rc.Close()
	part := path + ".part"
	f, err := os.OpenFile(part, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(f, rc)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n == 0 {
		err = errors.New("etcd sent an empty snapshot")
	}
	if err != nil {
		os.Remove(part)
		return 0, fmt.Errorf("saving the snapshot: %w", err)
	}
	return n, os.Rename(part, path)
}

// RestoreSnapshot makes dir (the embedded etcd's folder, <data-dir>/etcd)
// hold the snapshot at file, with etcd's own restore (etcdutl), as a
// one-member cluster of the embedded etcd's name: the same keys at the
// same revisions, so kapi serves the same objects with the same
// resourceVersions. What dir held is kept beside it, renamed with the
// time. kapi must not be running.
func RestoreSnapshot(file, dir string) (kept string, err error) {
	if _, err := os.Stat(file); err != nil {
		return "", err
	}
	tmp := dir + ".restoring"
	os.RemoveAll(tmp)
	peer := "http://127.0.0.1:2380" // rewritten by the next start, which picks its own
	err = snapshot.NewV3(zap.NewNop()).Restore(snapshot.RestoreConfig{
		SnapshotPath:        file,
		Name:                memberName,
		OutputDataDir:       tmp,
		PeerURLs:            []string{peer},
		InitialCluster:      memberName + "=" + peer,
		InitialClusterToken: "etcd-cluster",
	})
	if err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("restoring %s: %w", file, err)
	}
	if _, err := os.Stat(dir); err == nil {
		kept = fmt.Sprintf("%s.before-restore-%s", dir, time.Now().UTC().Format("20060102T150405Z"))
		if err := os.Rename(dir, kept); err != nil {
			os.RemoveAll(tmp)
			return "", err
		}
	}
	return kept, os.Rename(tmp, dir)
}
