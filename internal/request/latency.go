package request

import (
	"context"
	"sync"
	"time"
)

// Latencies are the parts of a request's time that its SLI latency
// (apiserver_request_sli_duration_seconds) leaves out, as kube-apiserver's
// latency trackers (k8s.io/apiserver/pkg/endpoints/request.LatencyTrackers)
// measure them: the admission webhooks, which depend on who configured
// them, and the wait in API Priority and Fairness's queue, which depends
// on the load.
//
// Mutating webhooks run one after the other, so their times add up;
// validating webhooks run at once, so the longest counts; a request waits
// in one queue at most.
type Latencies struct {
	mu                             sync.Mutex
	mutating, validating, apfQueue time.Duration
}

type latenciesKey struct{}

// WithLatencies returns a context whose request's Latencies are tracked.
// kube-apiserver gives them to every request but watches
// (WithLatencyTrackers), and so does the filter chain. They live in the
// request's state (WithAuditID) when it has one, else in a value of
// their own.
func WithLatencies(ctx context.Context) (context.Context, *Latencies) {
	if e := earlyFrom(ctx); e != nil {
		e.tracked = true
		return ctx, &e.latencies
	}
	l := &Latencies{}
	return context.WithValue(ctx, latenciesKey{}, l), l
}

// LatenciesFrom is the request's Latencies, or nil when they are not
// tracked.
func LatenciesFrom(ctx context.Context) *Latencies {
	if e := earlyFrom(ctx); e != nil && e.tracked {
		return &e.latencies
	}
	l, _ := ctx.Value(latenciesKey{}).(*Latencies)
	return l
}

// TrackWebhook runs call, one admission webhook's round trip, and counts
// its time among the request's webhook latency.
func TrackWebhook(ctx context.Context, mutating bool, call func()) {
	l := LatenciesFrom(ctx)
	if l == nil {
		call()
		return
	}
	start := time.Now()
	defer func() {
		d := time.Since(start)
		l.mu.Lock()
		defer l.mu.Unlock()
		if mutating {
			l.mutating += d
		} else {
			l.validating = max(l.validating, d)
		}
	}()
	call()
}

// TrackQueueWait counts d, the time the request waited in a queue of API
// Priority and Fairness.
func TrackQueueWait(ctx context.Context, d time.Duration) {
	if l := LatenciesFrom(ctx); l != nil {
		l.mu.Lock()
		l.apfQueue = max(l.apfQueue, d)
		l.mu.Unlock()
	}
}

// Excluded is the time the SLI latency leaves out: the webhooks' and the
// queue's.
func (l *Latencies) Excluded() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.mutating + l.validating + l.apfQueue
}

// FilterStart is when the filter whose time is being measured started
// (apiserver_request_filter_duration_seconds), and its name ("" when
// none is being measured).
type FilterStart struct {
	Name    string
	Started time.Time
}

// FilterStartFrom is the request's FilterStart, in its state
// (WithAuditID); nil without one.
func FilterStartFrom(ctx context.Context) *FilterStart {
	if e := earlyFrom(ctx); e != nil {
		return &e.filterStart
	}
	return nil
}
