package etcd

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"kapi/internal/storage/embedded"
)

// replica is one API server's compactor state between rounds.
type replica struct{ version, rev int64 }

func (r *replica) round(t *testing.T, c *clientv3.Client) (compacted int64) {
	t.Helper()
	var err error
	r.version, r.rev, compacted, err = compact(context.Background(), c, r.version, r.rev)
	if err != nil {
		t.Fatal(err)
	}
	return compacted
}

// TestCompactRounds: two replicas taking turns on one etcd make one
// compaction per round between them, each compacting the revision
// recorded a round earlier, and the one that loses a round learns what
// the other compacted; when one stops, the other takes over.
func TestCompactRounds(t *testing.T) {
	e, err := embedded.Start(context.Background(), t.TempDir()+"/etcd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	c, ctx := e.Client, context.Background()
	write := func() int64 {
		resp, err := c.Put(ctx, "/registry/x", fmt.Sprint(time.Now().UnixNano()))
		if err != nil {
			t.Fatal(err)
		}
		return resp.Header.Revision
	}
	// compactedAt: etcd has rev and nothing before it.
	compactedAt := func(rev int64) {
		t.Helper()
		if _, err := c.Get(ctx, "/registry/x", clientv3.WithRev(rev)); err != nil {
			t.Errorf("revision %d: %v, want it kept", rev, err)
		}
		if _, err := c.Get(ctx, "/registry/x", clientv3.WithRev(rev-1)); !errors.Is(err, rpctypes.ErrCompacted) {
			t.Errorf("revision %d: %v, want it compacted", rev-1, err)
		}
	}
	rounds := func(want int64) {
		t.Helper()
		resp, err := c.Get(ctx, CompactRevKey)
		if err != nil || len(resp.Kvs) != 1 || resp.Kvs[0].Version != want {
			t.Fatalf("%s after %d rounds: %v %v", CompactRevKey, want, err, resp.Kvs)
		}
	}
	var a, b replica
	write()
	if got := a.round(t, c); got != 0 {
		t.Fatalf("the first round compacted %d", got)
	}
	recorded := a.rev
	if got := b.round(t, c); got != 0 { // the same round: b loses it
		t.Fatalf("b compacted %d in a's first round", got)
	}
	rounds(1)
	write()
	write()
	if got := a.round(t, c); got != recorded {
		t.Fatalf("a's second round compacted %d, want %d (recorded a round before)", got, recorded)
	}
	compactedAt(recorded)
	if got := b.round(t, c); got != recorded {
		t.Fatalf("b, losing the second round, learnt %d, want %d", got, recorded)
	}
	rounds(2)
	// a stops: b's next round wins and compacts what b saw last round.
	bSaw := b.rev
	write()
	if got := b.round(t, c); got != bSaw {
		t.Fatalf("b's round compacted %d, want %d", got, bSaw)
	}
	compactedAt(bSaw)
	rounds(3)
}

// TestCompactionRunAndFollow: Run compacts on its schedule and ends with
// its context; a Compaction that follows CompactRevKey learns the
// revision Run compacted.
func TestCompactionRunAndFollow(t *testing.T) {
	e, err := embedded.Start(context.Background(), t.TempDir()+"/etcd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	ctx, cancel := context.WithCancel(context.Background())
	var running, following Compaction
	ran, followed := make(chan struct{}), make(chan struct{})
	go func() { defer close(ran); running.Run(ctx, e.Client, 20*time.Millisecond) }()
	go func() { defer close(followed); following.Follow(ctx, e.Client) }()
	defer func() { cancel(); <-ran; <-followed }()

	for i := 0; running.Revision() == 0; i++ {
		if _, err := e.Client.Put(ctx, "/registry/x", fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
		if i > 5000 {
			t.Fatal("Run has not compacted")
		}
		time.Sleep(5 * time.Millisecond)
	}
	compacted := running.Revision()
	if _, err := e.Client.Get(ctx, "/registry/x", clientv3.WithRev(compacted-1)); !errors.Is(err, rpctypes.ErrCompacted) {
		t.Errorf("Run says %d is compacted; etcd: %v", compacted, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for following.Revision() < compacted {
		if time.Now().After(deadline) {
			t.Fatalf("Follow knows %d, Run compacted %d", following.Revision(), compacted)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
