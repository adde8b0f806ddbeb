package cacher

import (
	"context"
	"sync"
	"time"
)

// revisions shares etcd's current revision between concurrent consistent
// reads. A read must see a revision read after it arrived; so it joins
// the next fetch, which starts as soon as the one in flight (if any)
// returns. However many reads arrive, at most one fetch is in flight and
// one waits to start: sixteen clients cost two range requests, not
// sixteen.
type revisions struct {
	fetch func(ctx context.Context) (int64, error)

	mu      sync.Mutex
	running bool
	next    *revisionCall
}

type revisionCall struct {
	done chan struct{}
	rev  int64
	err  error
}

// get returns a revision read after the call began.
func (r *revisions) get(ctx context.Context) (int64, error) {
	r.mu.Lock()
	if r.next == nil {
		r.next = &revisionCall{done: make(chan struct{})}
	}
	c := r.next
	if !r.running {
		r.running, r.next = true, nil
		go r.run(c)
	}
	r.mu.Unlock()
	select {
	case <-c.done:
		return c.rev, c.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

func (r *revisions) run(c *revisionCall) {
	for c != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c.rev, c.err = r.fetch(ctx)
		cancel()
		close(c.done)
		r.mu.Lock()
		c, r.next = r.next, nil
		if c == nil {
			r.running = false
		}
		r.mu.Unlock()
	}
}
