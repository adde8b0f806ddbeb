package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestEtcdSnapshots: `kapi etcd-snapshot save` snapshots a running kapi's
// embedded etcd; scheduled snapshots appear every --etcd-snapshot-interval
// and only the newest --etcd-snapshot-retention stay; `restore` is
// refused while kapi runs, and once it is stopped makes the embedded etcd
// the snapshot's: kapi then serves the same objects with the same
// resourceVersions, and nothing written after the snapshot.
func TestEtcdSnapshots(t *testing.T) {
	dir := t.TempDir()
	port := fmt.Sprint(portOf(t, "https://"+freeAddr(t)))
	cmd, _, c := runKapiBinary(t, dir, "--secure-port", port, "--etcd-snapshot-interval", "1s", "--etcd-snapshot-retention", "2")
	ctx := context.Background()
	cms := c.CoreV1().ConfigMaps("default")
	before := map[string]*corev1.ConfigMap{}
	for i := range 3 {
		cm, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("kept-%d", i)}, Data: map[string]string{"i": fmt.Sprint(i)}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		before[cm.Name] = cm
	}
	snap := filepath.Join(t.TempDir(), "snap.db")
	snapshotCmd := func(args ...string) (string, error) {
		out, err := exec.Command(bins.kapi, append([]string{"etcd-snapshot", "--data-dir", dir}, args...)...).CombinedOutput()
		return string(out), err
	}
	if out, err := snapshotCmd("save", snap); err != nil || !strings.Contains(out, "saved a snapshot") {
		t.Fatalf("save: %v\n%s", err, out)
	}
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "after"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	// The scheduled ones: several saved, two kept.
	seen := map[string]bool{}
	scheduled := func() []string {
		entries, _ := os.ReadDir(filepath.Join(dir, "snapshots"))
		var names []string
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".db") {
				names = append(names, e.Name())
				seen[e.Name()] = true
			}
		}
		// A new one is saved before the oldest is removed.
		if len(names) > 2+1 {
			t.Errorf("%d scheduled snapshots kept, retention 2: %v", len(names), names)
		}
		return names
	}
	if err := waitUntil(60*time.Second, func() bool { scheduled(); return len(seen) >= 4 }); err != nil {
		t.Fatalf("scheduled snapshots seen: %v", seen)
	}

	if out, err := snapshotCmd("restore", snap); err == nil || !strings.Contains(out, "stop it first") {
		t.Fatalf("restore while kapi runs: %v\n%s", err, out)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("kapi after SIGTERM: %v", err)
	}
	// Stopped: the newest two of those saved are kept.
	kept := scheduled()
	var all []string
	for name := range seen {
		all = append(all, name)
	}
	sort.Strings(all)
	if !slices.Equal(kept, all[len(all)-2:]) {
		t.Errorf("scheduled snapshots kept: %v, want the newest two of %v", kept, all)
	}

	// Into a fresh data folder (a new machine), and into the old one.
	fresh := t.TempDir()
	if out, err := snapshotCmd("--data-dir="+fresh, "restore", snap); err != nil || !strings.Contains(out, "restored") || strings.Contains(out, "kept") {
		t.Fatalf("restore into a fresh folder: %v\n%s", err, out)
	}
	if out, err := snapshotCmd("restore", snap); err != nil || !strings.Contains(out, "restored") || !strings.Contains(out, "kept") {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	for _, d := range []string{fresh, dir} {
		p := port
		if d == fresh {
			p = fmt.Sprint(portOf(t, "https://"+freeAddr(t)))
		}
		_, _, c := runKapiBinary(t, d, "--secure-port", p)
		cms := c.CoreV1().ConfigMaps("default")
		for name, want := range before {
			got, err := cms.Get(ctx, name, metav1.GetOptions{})
			if err != nil || got.ResourceVersion != want.ResourceVersion || got.UID != want.UID || got.Data["i"] != want.Data["i"] {
				t.Errorf("%s after the restore into %s: %v %v, want resourceVersion %s", name, d, got, err, want.ResourceVersion)
			}
		}
		if _, err := cms.Get(ctx, "after", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("the object written after the snapshot, in %s: %v", d, err)
		}
	}
}
