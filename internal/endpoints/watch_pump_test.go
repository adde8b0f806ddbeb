package endpoints

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
)

// pullWatch is a storage.Puller whose events can all be taken at once,
// and after them none (as when the changes left in its buffer are ones
// the watch leaves out); Next then waits until its ctx ends.
type pullWatch struct{ events []watch.Event }

func (w *pullWatch) Stop()                          {}
func (w *pullWatch) ResultChan() <-chan watch.Event { return nil }
func (w *pullWatch) TryNext() (watch.Event, bool) {
	if len(w.events) == 0 {
		return watch.Event{}, false
	}
	ev := w.events[0]
	w.events = w.events[1:]
	return ev, true
}
func (w *pullWatch) Next(ctx context.Context) (watch.Event, bool) {
	if ev, ok := w.TryNext(); ok {
		return ev, true
	}
	<-ctx.Done()
	return watch.Event{}, false
}

type countFlushes int

func (c *countFlushes) Flush() { *c++ }

func pumpEvent(name string) watch.Event {
	return watch.Event{Type: watch.Added, Object: &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}}}
}

// TestEventPumpFlushesBeforeWaiting: events that can be taken at once
// are written with one flush, and what was written is flushed before the
// pump waits, from a storage.Puller and from a plain watch's channel.
func TestEventPumpFlushesBeforeWaiting(t *testing.T) {
	plain := watch.NewFakeWithChanSize(2, false)
	plain.Add(pumpEvent("a").Object)
	plain.Add(pumpEvent("b").Object)
	defer plain.Stop()
	for name, wi := range map[string]watch.Interface{
		"puller": &pullWatch{events: []watch.Event{pumpEvent("a"), pumpEvent("b")}},
		"plain":  plain,
	} {
		var flushes countFlushes
		p := newEventPump(wi, &flushes)
		for _, want := range []string{"a", "b"} {
			ev, ok := p.take(context.Background())
			if !ok || ev.Object.(*corev1.ConfigMap).Name != want {
				t.Fatalf("%s: took %v (%v), want %s", name, ev.Object, ok, want)
			}
			p.wrote()
		}
		if flushes != 0 {
			t.Fatalf("%s: %d flushes while events could be taken at once", name, flushes)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		if ev, ok := p.take(ctx); ok {
			t.Fatalf("%s: took %s with none waiting", name, ev.Type)
		}
		cancel()
		if flushes != 1 {
			t.Fatalf("%s: %d flushes before waiting, want 1", name, flushes)
		}
	}
}
