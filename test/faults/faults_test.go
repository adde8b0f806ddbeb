package faults

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
)

const ns = "faults"

// outcome of a write: acknowledged, refused (the server said it did not
// happen: a 4xx), or unknown (a timeout, a lost connection, a 5xx: it may
// have happened).
type outcome int

const (
	acked outcome = iota
	refused
	unknown
)

func classify(err error) outcome {
	var st apierrors.APIStatus
	switch {
	case err == nil:
		return acked
	case errors.As(err, &st) && st.Status().Code >= 400 && st.Status().Code < 500 && st.Status().Code != 408 && st.Status().Code != 429:
		return refused
	}
	return unknown
}

// history is what the clients and watchers recorded.
type history struct {
	mu      sync.Mutex
	creates map[string]createRecord // by name
	reg     []porcupine.Operation
	initial string // the register's value before the history
	start   time.Time
}

type createRecord struct {
	outcome outcome
	rv      int64
}

// register operations: a read, or a compare-and-swap from the value read
// to a new one (an update with the read's resourceVersion as
// precondition; every value is written once, so a value stands for its
// version).
type regInput struct {
	cas          bool
	expect, next string
}

type regOutput struct {
	value   string  // a read's
	outcome outcome // a cas's
}

// registerModel: a register of strings holding initial when the history
// begins; a cas of unknown outcome may or may not have happened.
func registerModel(initial string) porcupine.Model {
	return (&porcupine.NondeterministicModel{
		Init: func() []any { return []any{initial} },
		Step: func(state, input, output any) []any {
			s, in, out := state.(string), input.(regInput), output.(regOutput)
			if !in.cas {
				if out.value == s {
					return []any{s}
				}
				return nil
			}
			switch out.outcome {
			case acked:
				if s == in.expect {
					return []any{in.next}
				}
			case refused:
				if s != in.expect {
					return []any{s}
				}
			case unknown:
				if s == in.expect {
					return []any{in.next, s}
				}
				return []any{s}
			}
			return nil
		},
	}).ToModel()
}

func (h *history) now() int64 { return int64(time.Since(h.start)) }

// load runs 12 creators and 4 register clients against both replicas
// until ctx ends.
func load(ctx context.Context, c *cluster, h *history, round int) {
	var wg sync.WaitGroup
	for w := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl := c.clientFor(w % 2)
			for n := 0; ctx.Err() == nil; n++ {
				name := fmt.Sprintf("r%d-w%d-%d", round, w, n)
				octx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				made, err := cl.CoreV1().ConfigMaps(ns).Create(octx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
				cancel()
				rec := createRecord{outcome: classify(err)}
				if apierrors.IsAlreadyExists(err) {
					// Every name is created once: client-go retried a
					// create whose first attempt was applied but answered
					// 503/504 with Retry-After (its outcome unknown).
					rec.outcome = unknown
				}
				if err == nil {
					rec.rv, _ = strconv.ParseInt(made.ResourceVersion, 10, 64)
				}
				h.mu.Lock()
				h.creates[name] = rec
				h.mu.Unlock()
				if err != nil {
					time.Sleep(50 * time.Millisecond)
				}
			}
		}()
	}
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl := c.clientFor(r % 2)
			for n := 0; ctx.Err() == nil; n++ {
				regStep(cl, h, 12+r, fmt.Sprintf("r%d-c%d-%d", round, r, n))
			}
		}()
	}
	wg.Wait()
}

// regStep is one read, then a cas from what it read.
func regStep(cl kubernetes.Interface, h *history, client int, next string) {
	cms := cl.CoreV1().ConfigMaps(ns)
	call := h.now()
	octx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	cur, err := cms.Get(octx, "register", metav1.GetOptions{})
	cancel()
	if err != nil {
		time.Sleep(50 * time.Millisecond)
		return // a failed read changes nothing: left out of the history
	}
	ret := h.now()
	value := cur.Data["v"]
	h.mu.Lock()
	h.reg = append(h.reg, porcupine.Operation{ClientId: client, Input: regInput{}, Call: call, Output: regOutput{value: value}, Return: ret})
	h.mu.Unlock()

	cur.Data["v"] = next
	call = h.now()
	octx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	_, err = cms.Update(octx, cur, metav1.UpdateOptions{})
	cancel()
	out := classify(err)
	if apierrors.IsConflict(err) {
		out = refused
	}
	ret = h.now()
	if out == unknown {
		ret = 1 << 62 // it may take effect at any time after its call
	}
	h.mu.Lock()
	h.reg = append(h.reg, porcupine.Operation{ClientId: client, Input: regInput{cas: true, expect: value, next: next}, Call: call,
		Output: regOutput{outcome: out}, Return: ret})
	h.mu.Unlock()
}

// watchLog is what one replica's watcher saw: segments of one watch each,
// from a list's resourceVersion; a watch ends with an error, a 410 or a
// closed stream, and the next starts from a new list.
type watchLog struct {
	segments [][]seen
	starts   []int64
	relists  int
}

type seen struct {
	name string
	rv   int64
	typ  watch.EventType
}

// watchReplica watches ConfigMaps of the namespace through replica i until
// ctx ends.
func watchReplica(ctx context.Context, c *cluster, i int, log *watchLog, mu *sync.Mutex) {
	cl := c.clientFor(i)
	for ctx.Err() == nil {
		lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		list, err := cl.CoreV1().ConfigMaps(ns).List(lctx, metav1.ListOptions{})
		cancel()
		if err != nil {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		start, _ := strconv.ParseInt(list.ResourceVersion, 10, 64)
		w, err := cl.CoreV1().ConfigMaps(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
		if err != nil {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		mu.Lock()
		log.segments = append(log.segments, nil)
		log.starts = append(log.starts, start)
		if len(log.segments) > 1 {
			log.relists++
		}
		seg := len(log.segments) - 1
		mu.Unlock()
		for ev := range w.ResultChan() {
			if ev.Type == watch.Bookmark {
				continue
			}
			if ev.Type == watch.Error {
				break
			}
			cm, ok := ev.Object.(*corev1.ConfigMap)
			if !ok {
				break
			}
			rv, _ := strconv.ParseInt(cm.ResourceVersion, 10, 64)
			mu.Lock()
			log.segments[seg] = append(log.segments[seg], seen{name: cm.Name, rv: rv, typ: ev.Type})
			mu.Unlock()
		}
		w.Stop()
	}
}

// figures are what a scenario reports.
type figures struct {
	faults, acked, refused, unknown, lost, refusedPresent int
	regOps, watchEvents, relists                          int
	linearizable                                          bool
}

func (f figures) String() string {
	return fmt.Sprintf("faults injected %d; creates acknowledged %d, refused %d, unknown %d; lost %d; refused yet present %d; register operations %d, linearizable %v; watch events checked %d on 2 replicas, relists %d",
		f.faults, f.acked, f.refused, f.unknown, f.lost, f.refusedPresent, f.regOps, f.linearizable, f.watchEvents, f.relists)
}

// run runs the load and the watchers through inject, then checks.
func run(t *testing.T, c *cluster, round int, inject func(t *testing.T) int) figures {
	t.Helper()
	reg, err := c.clientFor(0).CoreV1().ConfigMaps(ns).Get(context.Background(), "register", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	h := &history{creates: map[string]createRecord{}, start: time.Now(), initial: reg.Data["v"]}
	ctx, stop := context.WithCancel(context.Background())
	var logs [2]watchLog
	var mus [2]sync.Mutex
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Add(1)
		go func() { defer wg.Done(); watchReplica(ctx, c, i, &logs[i], &mus[i]) }()
	}
	loadDone := make(chan struct{})
	go func() { load(ctx, c, h, round); close(loadDone) }()
	time.Sleep(2 * time.Second * scale())
	faults := inject(t)
	time.Sleep(2 * time.Second * scale())
	stop()
	<-loadDone
	wg.Wait()
	return check(t, c, h, logs[:], faults)
}

func check(t *testing.T, c *cluster, h *history, logs []watchLog, faults int) figures {
	t.Helper()
	f := figures{faults: faults}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var list *corev1.ConfigMapList
	var err error
	for range 100 { // the replicas may still be recovering
		if list, err = c.clientFor(0).CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{}); err == nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("listing after the fault: %v", err)
	}
	present := map[string]bool{}
	for _, cm := range list.Items {
		present[cm.Name] = true
	}
	for name, r := range h.creates {
		switch r.outcome {
		case acked:
			f.acked++
			if !present[name] {
				f.lost++
				t.Errorf("acknowledged create of %s (resourceVersion %d) lost", name, r.rv)
			}
		case refused:
			f.refused++
			if present[name] {
				f.refusedPresent++
				t.Errorf("refused create of %s is present", name)
			}
		default:
			f.unknown++
		}
	}

	f.regOps = len(h.reg)
	res, _ := porcupine.CheckOperationsVerbose(registerModel(h.initial), h.reg, time.Minute)
	f.linearizable = res == porcupine.Ok
	if res != porcupine.Ok {
		t.Errorf("the register's history (%d operations) is not linearizable: %v", len(h.reg), res)
	}

	// Every watch segment: resourceVersions increasing, no event twice, and
	// every acknowledged create whose revision lies within the segment seen
	// in it (no gap).
	for i, l := range logs {
		f.relists += l.relists
		for s, seg := range l.segments {
			seenNames := map[string]bool{}
			last := l.starts[s]
			for _, e := range seg {
				f.watchEvents++
				if e.rv <= last {
					t.Errorf("replica %d, watch %d: %s at %d after %d", i, s, e.name, e.rv, last)
				}
				last = e.rv
				if e.typ == watch.Added {
					if seenNames[e.name] {
						t.Errorf("replica %d, watch %d: %s added twice", i, s, e.name)
					}
					seenNames[e.name] = true
				}
			}
			for name, r := range h.creates {
				if r.outcome == acked && r.rv > l.starts[s] && r.rv <= last && !seenNames[name] {
					t.Errorf("replica %d, watch %d (from %d to %d): the create of %s at %d is missing", i, s, l.starts[s], last, name, r.rv)
				}
			}
		}
	}
	return f
}

// TestFaults runs the scenarios on one cluster, one after the other.
func TestFaults(t *testing.T) {
	c := startCluster(t)
	ctx := context.Background()
	cl := c.clientFor(0)
	if _, err := cl.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "register"}, Data: map[string]string{"v": "0"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	scenarios := []struct {
		name   string
		inject func(t *testing.T) int
	}{
		{"kill -9 of a kapi replica", func(t *testing.T) int {
			c.kapi[1].kill9()
			time.Sleep(time.Second * scale())
			c.startKapi(t, 1)
			return 1
		}},
		{"kill -9 of the etcd leader", func(t *testing.T) int {
			l := c.etcdLeader(t)
			c.etcd[l].kill9()
			time.Sleep(2 * time.Second * scale())
			c.etcd[l].start(t)
			return 1
		}},
		{"SIGSTOP of an etcd member", func(t *testing.T) int {
			m := (c.etcdLeader(t) + 1) % 3
			c.etcd[m].signal(syscall.SIGSTOP)
			time.Sleep(2 * time.Second * scale())
			c.etcd[m].signal(syscall.SIGCONT)
			return 1
		}},
		{"200 ms of latency between kapi and etcd", func(t *testing.T) int {
			for _, p := range c.proxies {
				p.setDelay(200 * time.Millisecond)
			}
			time.Sleep(2 * time.Second * scale())
			for _, p := range c.proxies {
				p.setDelay(0)
			}
			return 1
		}},
		{"connections between kapi and etcd dropped", func(t *testing.T) int {
			for _, p := range c.proxies {
				p.dropAll()
			}
			return 1
		}},
		{"kapi and etcd blackholed", func(t *testing.T) int {
			for _, p := range c.proxies {
				p.blackhole()
			}
			time.Sleep(2 * time.Second * scale())
			for _, p := range c.proxies {
				p.heal()
			}
			return 1
		}},
		{"SIGSTOP of the etcd leader", func(t *testing.T) int {
			l := c.etcdLeader(t)
			c.etcd[l].signal(syscall.SIGSTOP)
			time.Sleep(2 * time.Second * scale())
			c.etcd[l].signal(syscall.SIGCONT)
			return 1
		}},
	}
	var all []string
	for i, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			f := run(t, c, i, s.inject)
			t.Logf("%s: %v", s.name, f)
			all = append(all, fmt.Sprintf("%s: %v", s.name, f))
		})
	}
	for _, line := range all {
		fmt.Println("faults:", line)
	}
}
