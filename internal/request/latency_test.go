package request

import (
	"context"
	"testing"
	"time"
)

// TestLatencies: mutating webhooks add up, validating ones count by the
// longest, the queue's wait adds; without Latencies the calls still run.
func TestLatencies(t *testing.T) {
	ran := false
	TrackWebhook(context.Background(), true, func() { ran = true })
	if !ran {
		t.Fatal("the webhook call did not run without latencies")
	}
	ctx, l := WithLatencies(context.Background())
	if LatenciesFrom(ctx) != l {
		t.Fatal("LatenciesFrom")
	}
	sleep := func(d time.Duration) func() { return func() { time.Sleep(d) } }
	TrackWebhook(ctx, true, sleep(2*time.Millisecond))
	TrackWebhook(ctx, true, sleep(2*time.Millisecond))
	TrackWebhook(ctx, false, sleep(3*time.Millisecond))
	TrackWebhook(ctx, false, sleep(time.Millisecond))
	TrackQueueWait(ctx, 5*time.Millisecond)
	if got, least := l.Excluded(), 12*time.Millisecond; got < least {
		t.Errorf("excluded %v, want at least %v", got, least)
	}
	if l.mutating < 4*time.Millisecond || l.validating < 3*time.Millisecond || l.validating >= l.mutating+3*time.Millisecond {
		t.Errorf("mutating %v (a sum), validating %v (the longest)", l.mutating, l.validating)
	}
}

// TestRoute: Instrument names the request and keeps what Deprecated said;
// without a Route neither does anything.
func TestRoute(t *testing.T) {
	Instrument(context.Background(), Route{Subresource: "/readyz"})
	Deprecated(context.Background(), "")
	ctx, r := WithRoute(context.Background())
	Deprecated(ctx, "1.40")
	Instrument(ctx, Route{Resource: "statusz", Component: "apiserver"})
	want := Route{Instrumented: true, Resource: "statusz", Component: "apiserver", Deprecated: true, RemovedRelease: "1.40"}
	if *r != want {
		t.Errorf("route %+v, want %+v", *r, want)
	}
}
