package faults

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
)

// watcher watches the ConfigMaps of a namespace through one replica, as an
// informer does: a list, a watch from its resourceVersion, and when the
// watch ends (an ERROR event such as a 410, or the stream closed) a new
// list and a new watch. It records every segment.
type watcher struct {
	replica  int
	mu       sync.Mutex
	segments []*segment
}

// segment is one list and the watch from it.
type segment struct {
	start    int64            // the list's resourceVersion
	list     map[string]int64 // what the list held: name, resourceVersion
	events   []seen
	progress int64  // every event up to it delivered: the last event's or bookmark's resourceVersion
	ended    string // why the watch ended
}

type seen struct {
	name string
	rv   int64
	typ  watch.EventType
}

func (s seen) String() string { return fmt.Sprintf("%s %s at %d", s.typ, s.name, s.rv) }

func (w *watcher) run(ctx context.Context, cl kubernetes.Interface, ns string) {
	cms := cl.CoreV1().ConfigMaps(ns)
	for ctx.Err() == nil {
		lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		list, err := cms.List(lctx, metav1.ListOptions{})
		cancel()
		if err != nil {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		seg := &segment{list: map[string]int64{}}
		seg.start, _ = strconv.ParseInt(list.ResourceVersion, 10, 64)
		seg.progress = seg.start
		for _, cm := range list.Items {
			seg.list[cm.Name], _ = strconv.ParseInt(cm.ResourceVersion, 10, 64)
		}
		w.mu.Lock()
		w.segments = append(w.segments, seg)
		w.mu.Unlock()
		wi, err := cms.Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion, AllowWatchBookmarks: true})
		if err != nil {
			w.mu.Lock()
			seg.ended = "watch refused: " + err.Error()
			w.mu.Unlock()
			time.Sleep(100 * time.Millisecond)
			continue
		}
		w.mu.Lock()
		seg.ended = "stream closed"
		w.mu.Unlock()
		for ev := range wi.ResultChan() {
			if ev.Type == watch.Error {
				w.mu.Lock()
				seg.ended = fmt.Sprintf("ERROR %v", ev.Object)
				if st, ok := ev.Object.(*metav1.Status); ok {
					seg.ended = fmt.Sprintf("ERROR %d %s", st.Code, st.Message)
				}
				w.mu.Unlock()
				break
			}
			cm, ok := ev.Object.(*corev1.ConfigMap)
			if !ok {
				w.mu.Lock()
				seg.ended = fmt.Sprintf("%s of a %T", ev.Type, ev.Object)
				w.mu.Unlock()
				break
			}
			rv, _ := strconv.ParseInt(cm.ResourceVersion, 10, 64)
			w.mu.Lock()
			if ev.Type != watch.Bookmark {
				seg.events = append(seg.events, seen{name: cm.Name, rv: rv, typ: ev.Type})
			}
			seg.progress = max(seg.progress, rv)
			w.mu.Unlock()
		}
		wi.Stop()
	}
}

// reached: the watch open now has delivered every event up to rv.
func (w *watcher) reached(rv int64) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.segments) > 0 && w.segments[len(w.segments)-1].progress >= rv
}

// etcdPrefix is where etcd keeps the ConfigMaps of namespace ns.
func etcdPrefix(ns string) string { return "/registry/configmaps/" + ns + "/" }

// recorder records etcd's own events for the ConfigMaps of a namespace,
// from before the namespace was made: the truth the watches are checked
// against. Its watch is etcd's, on the test's own client (straight to
// every member, not through the proxies), live from the start, so that
// neither a compaction nor a fault between kapi and etcd takes the history
// away.
type recorder struct {
	mu     sync.Mutex
	events []seen
	err    error
	done   chan struct{}
}

func record(ctx context.Context, cli *clientv3.Client, ns string, from int64) *recorder {
	r := &recorder{done: make(chan struct{})}
	prefix := etcdPrefix(ns)
	go func() {
		defer close(r.done)
		for resp := range cli.Watch(ctx, prefix, clientv3.WithPrefix(), clientv3.WithRev(from+1)) {
			if err := resp.Err(); err != nil {
				r.mu.Lock()
				r.err = err
				r.mu.Unlock()
				return
			}
			for _, ev := range resp.Events {
				kv := ev.Kv
				s := seen{name: strings.TrimPrefix(string(kv.Key), prefix), rv: kv.ModRevision, typ: watch.Modified}
				switch {
				case ev.Type == mvccpb.DELETE:
					s.typ = watch.Deleted
				case kv.CreateRevision == kv.ModRevision:
					s.typ = watch.Added
				}
				r.mu.Lock()
				r.events = append(r.events, s)
				r.mu.Unlock()
			}
		}
	}()
	return r
}

// upTo waits until the recorder has come to revision rev and returns the
// events up to it.
func (r *recorder) upTo(rev int64) ([]seen, error) {
	deadline := time.Now().Add(60 * time.Second)
	for {
		r.mu.Lock()
		events, err := r.events, r.err
		r.mu.Unlock()
		if len(events) > 0 && events[len(events)-1].rv >= rev {
			var out []seen
			for _, e := range events {
				if e.rv <= rev {
					out = append(out, e)
				}
			}
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("etcd's watch did not come to %d", rev)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stateAt is what the namespace held at revision rev, replaying events
// from the namespace's beginning: name, resourceVersion.
func stateAt(events []seen, rev int64) map[string]int64 {
	out := map[string]int64{}
	for _, e := range events {
		if e.rv > rev {
			break
		}
		if e.typ == watch.Deleted {
			delete(out, e.name)
		} else {
			out[e.name] = e.rv
		}
	}
	return out
}

// watchFigures are what the watch checks counted.
type watchFigures struct {
	events, watches, relists int
}

// checkWatches checks every segment of every watcher against etcd's own
// events: the list held what etcd held at its resourceVersion, and the
// watch saw exactly etcd's events after it, in order, up to where it had
// come (to end, the last revision of the history, for the watch open at
// the end): no event missing, none twice, none of another type.
func checkWatches(t *testing.T, truth []seen, watchers []*watcher, end int64) watchFigures {
	t.Helper()
	var f watchFigures
	for _, w := range watchers {
		f.watches += len(w.segments)
		f.relists += len(w.segments) - 1
		for i, s := range w.segments {
			name := fmt.Sprintf("replica %d, watch %d of %d (from %d, %s)", w.replica, i+1, len(w.segments), s.start, s.ended)
			if d := diffState(s.list, stateAt(truth, s.start)); d != "" {
				t.Errorf("%s: the list differs from etcd at its resourceVersion: %s", name, d)
			}
			upTo := min(s.progress, end)
			var want, got []seen
			for _, e := range truth {
				if e.rv > s.start && e.rv <= upTo {
					want = append(want, e)
				}
			}
			for _, e := range s.events {
				if e.rv <= upTo {
					got = append(got, e)
				}
			}
			f.events += len(got)
			if d := diffEvents(got, want); d != "" {
				t.Errorf("%s, up to %d: %s", name, upTo, d)
			}
		}
	}
	return f
}

func diffState(got, want map[string]int64) string {
	var d []string
	for n, rv := range want {
		if g, ok := got[n]; !ok {
			d = append(d, fmt.Sprintf("%s (%d) missing", n, rv))
		} else if g != rv {
			d = append(d, fmt.Sprintf("%s at %d, not %d", n, g, rv))
		}
	}
	for n, rv := range got {
		if _, ok := want[n]; !ok {
			d = append(d, fmt.Sprintf("%s (%d) not in etcd", n, rv))
		}
	}
	if len(d) > 10 {
		d = append(d[:10], fmt.Sprintf("and %d more", len(d)-10))
	}
	return strings.Join(d, ", ")
}

// diffEvents names the first difference between the events a watch saw
// and etcd's: a gap, a duplicate, an event out of order or of another type.
func diffEvents(got, want []seen) string {
	for i := range max(len(got), len(want)) {
		switch {
		case i >= len(got):
			return fmt.Sprintf("%d events missing from %v on", len(want)-i, want[i])
		case i >= len(want):
			return fmt.Sprintf("%d events more than etcd holds, from %v on", len(got)-i, got[i])
		case got[i] != want[i]:
			kind := "a gap or an event of another type"
			for _, g := range got[:i] {
				if g.rv == got[i].rv {
					kind = "a duplicate"
				}
			}
			if i > 0 && got[i].rv <= got[i-1].rv {
				kind += ", out of order"
			}
			return fmt.Sprintf("event %d is %v where etcd holds %v (%s)", i, got[i], want[i], kind)
		}
	}
	return ""
}
