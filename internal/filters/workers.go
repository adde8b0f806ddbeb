package filters

import (
	"sync/atomic"
	"time"
)

// workers runs calls on goroutines kept from one call to the next, as
// grpc-go's NumStreamWorkers does for streams. A handler on a goroutine
// of its own starts on a small stack and grows it step by step as the
// request goes deeper, each step a copy of the whole stack
// (runtime.copystack: 6-13% of kapi's CPU on gets and creates); a kept
// goroutine's stack is already grown. The collector still shrinks the
// stack of a worker that waits, as of any goroutine. At most maxIdle
// workers wait for a call; the others, and any that waited idleFor,
// end. A call finds a waiting worker or starts one: it never waits.
type workers struct {
	calls   chan func()
	idle    atomic.Int32
	maxIdle int32
	idleFor time.Duration
	started atomic.Int64 // workers started, for tests
}

func newWorkers(maxIdle int32, idleFor time.Duration) *workers {
	return &workers{calls: make(chan func()), maxIdle: maxIdle, idleFor: idleFor}
}

// run calls f on a worker.
func (p *workers) run(f func()) {
	select {
	case p.calls <- f:
	default:
		p.started.Add(1)
		go p.work(f)
	}
}

func (p *workers) work(f func()) {
	var idle *time.Timer
	for {
		f()
		f = nil
		if p.idle.Add(1) > p.maxIdle {
			p.idle.Add(-1)
			return
		}
		if idle == nil {
			idle = time.NewTimer(p.idleFor)
		} else {
			idle.Reset(p.idleFor)
		}
		select {
		case f = <-p.calls:
			p.idle.Add(-1)
		case <-idle.C:
			p.idle.Add(-1)
			return
		}
	}
}
