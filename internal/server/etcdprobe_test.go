package server

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestEtcdProbe: kube's etcd check: a probe that does not answer fails
// at the timeout (the check's context ends), whatever the caller's
// context; one that answers gives its answer.
func TestEtcdProbe(t *testing.T) {
	check := newEtcdProbe(func(ctx context.Context) error {
		<-ctx.Done() // a hung etcd: only the probe's own timeout ends it
		return ctx.Err()
	}, 100*time.Millisecond)
	if err := check(context.Background()); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a hung probe: %v, want the deadline", err)
	}
	down := errors.New("etcd is down")
	if err := newEtcdProbe(func(context.Context) error { return down }, 0)(context.Background()); err != down {
		t.Fatalf("got %v, want %v", err, down)
	}
}
