package audit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
	"k8s.io/client-go/util/flowcontrol"
	"k8s.io/klog/v2"
)

// maxInFlightBatches bounds the batches a sink delivers at once (the
// webhook, while it retries a slow or failing receiver). Beyond it the
// buffer fills up and new events are dropped, rather than goroutines and
// memory growing without bound.
const maxInFlightBatches = 16

// deliverFunc writes a batch of events somewhere (a file, a webhook); it
// may be slow and may fail, and it should give up once ctx is done.
type deliverFunc func(ctx context.Context, events []*auditv1.Event) error

// batchConfig is how a sink batches, as kube-apiserver's buffered backend.
type batchConfig struct {
	bufferSize int           // events waiting to be delivered; beyond, new events are dropped
	maxSize    int           // events per batch
	maxWait    time.Duration // how long the first event of a batch waits for more; 0: no wait
	throttle   flowcontrol.RateLimiter
	async      bool // deliver batches concurrently, at most maxInFlightBatches
	// mode is kube's: batch (or ""), or blocking and blocking-strict, in
	// which add delivers each event itself, in the request's goroutine.
	mode string
}

// batcher is the front of a sink. In mode batch, add never waits; one
// goroutine gathers the buffered events in batches and delivers them. In
// the blocking modes add delivers the event itself.
//
// A batch is sent when it holds maxSize events, or maxWait after its
// first event arrived, whichever comes first. Shutdown delivers what is
// buffered, then closes the sink.
type batcher struct {
	name    string // plugin label of the metrics: "log", "webhook"
	cfg     batchConfig
	deliver deliverFunc
	close   func() error // called once, after the last batch

	mu     sync.RWMutex // add holds it for reading; shutdown for writing, to close the door
	closed bool
	buffer chan *auditv1.Event
	stop   chan struct{}
	done   chan struct{}

	inflight chan struct{}
	wg       sync.WaitGroup
	ctx      context.Context // cancelled when shutdown runs out of time
	cancel   context.CancelFunc

	lastDropLog atomic.Int64 // unix seconds; drops are logged at most once a second

	syncMu sync.Mutex // serializes blocking deliveries to a sink that is not async (a file)
}

func newBatcher(name string, cfg batchConfig, deliver deliverFunc, closeFn func() error) *batcher {
	if cfg.maxSize < 1 {
		cfg.maxSize = 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &batcher{
		name: name, cfg: cfg, deliver: deliver, close: closeFn,
		buffer:   make(chan *auditv1.Event, cfg.bufferSize),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
		inflight: make(chan struct{}, maxInFlightBatches),
		ctx:      ctx, cancel: cancel,
	}
	go b.run()
	return b
}

// add queues ev for delivery, or drops it (and counts it) when the buffer
// is full or the sink shut down; it never blocks. In a blocking mode it
// delivers ev before it returns. It reports false only when a
// blocking-strict sink failed to deliver ev.
func (b *batcher) add(ev *auditv1.Event) bool {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.cfg.mode == ModeBlocking || b.cfg.mode == ModeBlockingStrict {
		if b.closed {
			b.dropped(ev)
			return b.cfg.mode != ModeBlockingStrict
		}
		if !b.cfg.async {
			b.syncMu.Lock()
			defer b.syncMu.Unlock()
		}
		return b.deliverBatch([]*auditv1.Event{ev}) == nil || b.cfg.mode != ModeBlockingStrict
	}
	if !b.closed {
		select {
		case b.buffer <- ev:
			return true
		default:
		}
	}
	b.dropped(ev)
	return true
}

func (b *batcher) dropped(ev *auditv1.Event) {
	droppedCounter.WithLabelValues(b.name).Inc()
	errorCounter.WithLabelValues("buffered").Inc()
	now := time.Now().Unix()
	if last := b.lastDropLog.Load(); now > last && b.lastDropLog.CompareAndSwap(last, now) {
		klog.ErrorS(nil, "Audit buffer full or shut down, dropping events", "plugin", b.name, "auditID", ev.AuditID, "stage", ev.Stage)
	}
}

func (b *batcher) run() {
	defer close(b.done)
	defer b.cancel()
	for {
		batch, stopped := b.collect()
		b.send(batch)
		if stopped {
			break
		}
	}
	// The door is closed: deliver what is left.
	for {
		batch := b.drain(nil)
		if len(batch) == 0 {
			break
		}
		b.send(batch)
	}
	b.wg.Wait()
	if b.close != nil {
		if err := b.close(); err != nil {
			klog.ErrorS(err, "Closing audit sink", "plugin", b.name)
		}
	}
}

// collect waits for an event, then gathers more until the batch is full,
// maxWait passed, or (without maxWait) no more are waiting. stopped tells
// that shutdown began.
func (b *batcher) collect() (batch []*auditv1.Event, stopped bool) {
	select {
	case ev := <-b.buffer:
		batch = append(batch, ev)
	case <-b.stop:
		return nil, true
	}
	var timeout <-chan time.Time
	if b.cfg.maxWait > 0 {
		t := time.NewTimer(b.cfg.maxWait)
		defer t.Stop()
		timeout = t.C
	}
	for len(batch) < b.cfg.maxSize {
		if timeout == nil {
			select {
			case ev := <-b.buffer:
				batch = append(batch, ev)
				continue
			default:
				return batch, false
			}
		}
		select {
		case ev := <-b.buffer:
			batch = append(batch, ev)
		case <-timeout:
			return batch, false
		case <-b.stop:
			return b.drain(batch), true
		}
	}
	return batch, false
}

// drain adds to batch, up to a full one, the events waiting, without
// waiting.
func (b *batcher) drain(batch []*auditv1.Event) []*auditv1.Event {
	for len(batch) < b.cfg.maxSize {
		select {
		case ev := <-b.buffer:
			batch = append(batch, ev)
		default:
			return batch
		}
	}
	return batch
}

func (b *batcher) send(batch []*auditv1.Event) {
	if len(batch) == 0 {
		return
	}
	if b.cfg.throttle != nil {
		b.cfg.throttle.Wait(b.ctx)
	}
	if !b.cfg.async {
		b.deliverBatch(batch)
		return
	}
	b.inflight <- struct{}{}
	b.wg.Add(1)
	go func() {
		defer func() { <-b.inflight; b.wg.Done() }()
		b.deliverBatch(batch)
	}()
}

// deliverBatch delivers, counting the events of a failed batch as errors
// (those a partialError names, when it is one).
func (b *batcher) deliverBatch(batch []*auditv1.Event) error {
	err := b.ctx.Err()
	if err == nil {
		err = func() (err error) {
			defer func() {
				if v := recover(); v != nil {
					err = fmt.Errorf("panic: %v", v)
				}
			}()
			return b.deliver(b.ctx, batch)
		}()
	}
	if err != nil {
		failed := len(batch)
		var pe *partialError
		if errors.As(err, &pe) {
			failed = pe.failed
		}
		errorCounter.WithLabelValues(b.name).Add(float64(failed))
		klog.ErrorS(err, "Error in audit plugin affecting audit events", "plugin", b.name, "events", failed)
	}
	return err
}

// partialError is a delivery in which some of the events failed.
type partialError struct {
	failed int
	err    error
}

func (e *partialError) Error() string { return e.err.Error() }
func (e *partialError) Unwrap() error { return e.err }

// shutdown stops taking events and delivers the buffered ones. When ctx
// ends first, deliveries still running are abandoned and their events
// counted as errors.
func (b *batcher) shutdown(ctx context.Context) error {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.stop)
	}
	b.mu.Unlock()
	select {
	case <-b.done:
		return nil
	case <-ctx.Done():
		b.cancel()
		return fmt.Errorf("audit %s: %w", b.name, ctx.Err())
	}
}
