package faults

import (
	"context"
	"fmt"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// figures are what a scenario reports.
type figures struct {
	faults                               int
	acked, refused, unknown              int
	lost, refusedPresent, contradictions int
	histories, regOps, linearizable      int
	watch                                watchFigures
	replicas                             int
}

func (f figures) String() string {
	return fmt.Sprintf("faults injected %d; writes acknowledged %d, refused %d, unknown %d; lost %d; refused yet present %d; contradicted %d; register histories %d (%d operations), linearizable %d; watch events checked %d in %d watches on %d replicas, relists %d",
		f.faults, f.acked, f.refused, f.unknown, f.lost, f.refusedPresent, f.contradictions, f.histories, f.regOps, f.linearizable, f.watch.events, f.watch.watches, f.replicas, f.watch.relists)
}

// run runs the load and a watcher per replica in a namespace of its own,
// injects the fault, stops the load, and checks.
func run(t *testing.T, c *cluster, round int, inject func(t *testing.T) int) figures {
	t.Helper()
	ns := fmt.Sprintf("faults-%d", round)
	bg := context.Background()
	cl := c.clientFor(0)
	before, err := c.etcdClient.Get(bg, "/registry/namespaces/"+ns)
	if err != nil {
		t.Fatal(err)
	}
	rctx, stopRecording := context.WithCancel(bg)
	defer stopRecording()
	rec := record(rctx, c.etcdClient, ns, before.Header.Revision)
	if _, err := cl.CoreV1().Namespaces().Create(bg, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.CoreV1().ConfigMaps(ns).Create(bg, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "register"}, Data: map[string]string{"v": "0"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	h := &history{objects: map[string][]objOp{}, start: time.Now(), initial: "0"}
	wctx, stopWatching := context.WithCancel(bg)
	defer stopWatching()
	watchers := make([]*watcher, len(c.kapi))
	done := make(chan struct{}, len(c.kapi))
	for i := range watchers {
		watchers[i] = &watcher{replica: i}
		go func() { watchers[i].run(wctx, c.clientFor(i), ns); done <- struct{}{} }()
	}
	lctx, stopLoad := context.WithCancel(bg)
	loadDone := make(chan struct{})
	go func() { load(lctx, c, h, ns); close(loadDone) }()
	time.Sleep(2 * time.Second * scale())
	faults := inject(t)
	time.Sleep(2 * time.Second * scale())
	stopLoad()
	<-loadDone

	// The end of the history: a write once the load has stopped, which
	// every watcher must come to.
	var end int64
	for n := 0; end == 0; n++ {
		octx, cancel := context.WithTimeout(bg, 5*time.Second)
		made, err := cl.CoreV1().ConfigMaps(ns).Create(octx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("end-%d", n)}}, metav1.CreateOptions{})
		cancel()
		if err == nil {
			end, _ = strconv.ParseInt(made.ResourceVersion, 10, 64)
		} else if n == 300 {
			t.Fatalf("no write succeeded after the fault: %v", err)
		} else {
			time.Sleep(200 * time.Millisecond)
		}
	}
	for _, w := range watchers {
		deadline := time.Now().Add(60 * time.Second)
		for !w.reached(end) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if !w.reached(end) {
			t.Errorf("the watcher of replica %d never came to the end of the history (%d)", w.replica, end)
		}
	}
	stopWatching()
	for range watchers {
		<-done
	}
	// Every replica serves, as it did before the fault.
	for r := range c.kapi {
		waitServing(t, c, r)
	}
	f := check(t, c, h, ns)
	f.faults = faults
	truth, err := rec.upTo(end)
	if err != nil {
		t.Fatalf("etcd's history of %s: %v", ns, err)
	}
	f.watch = checkWatches(t, truth, watchers, end)
	return f
}

// check reads every object back through a replica, with a consistent
// list, and checks it against the writes recorded, and the register's
// history for linearizability.
func check(t *testing.T, c *cluster, h *history, ns string) figures {
	t.Helper()
	f := figures{replicas: len(c.kapi)}
	var list *corev1.ConfigMapList
	var err error
	for range 100 { // the replicas may still be recovering
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		list, err = c.clientFor(0).CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
		cancel()
		if err == nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("listing after the fault: %v", err)
	}
	final := map[string]objState{}
	for _, cm := range list.Items {
		final[cm.Name] = objState{present: true, value: cm.Data["v"]}
	}
	for name, ops := range h.objects {
		for _, op := range ops {
			switch op.outcome {
			case acked:
				f.acked++
			case refused, failed:
				f.refused++
			default:
				f.unknown++
			}
		}
		strict, contradictions := possible(ops, true)
		if contradictions > 0 {
			f.contradictions += contradictions
			t.Errorf("%s: %d answers contradict the answers before them: %s", name, contradictions, describe(ops))
		}
		got := final[name]
		if strict[got] {
			continue
		}
		if loose, _ := possible(ops, false); loose[got] {
			f.refusedPresent++
			t.Errorf("%s is %+v, the effect of a refused write: %s", name, got, describe(ops))
		} else {
			f.lost++
			t.Errorf("%s is %+v, not what its acknowledged writes left: %s", name, got, describe(ops))
		}
	}

	f.histories, f.regOps = 1, len(h.reg)
	res, _ := porcupine.CheckOperationsVerbose(registerModel(h.initial), h.reg, time.Minute)
	if res == porcupine.Ok {
		f.linearizable = 1
	} else {
		t.Errorf("the register's history (%d operations) is not linearizable: %v", len(h.reg), res)
	}
	return f
}

func describe(ops []objOp) string {
	var parts []string
	for _, op := range ops {
		kind := [...]string{"create", "update", "delete"}[op.kind]
		out := [...]string{"acknowledged", "refused", "unknown", "failed"}[op.outcome]
		if op.notFound {
			out += " (NotFound)"
		}
		if op.exists {
			out += " (AlreadyExists)"
		}
		parts = append(parts, fmt.Sprintf("%s %s %s", kind, op.value, out))
	}
	return fmt.Sprint(parts)
}

// TestFaults runs the scenarios on one cluster, one after the other, each
// in a namespace of its own.
func TestFaults(t *testing.T) {
	c := startCluster(t, clusterArgs{})
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
		{fmt.Sprint("SIGSTOP of an etcd follower for ", 10*time.Second*scale()), func(t *testing.T) int {
			m := (c.etcdLeader(t) + 1) % 3
			c.etcd[m].signal(syscall.SIGSTOP)
			time.Sleep(10 * time.Second * scale())
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
		{fmt.Sprint("kapi's traffic to one etcd member blackholed for ", 10*time.Second*scale()), func(t *testing.T) int {
			p := c.proxies[(c.etcdLeader(t)+1)%3]
			p.blackhole()
			time.Sleep(10 * time.Second * scale())
			p.heal()
			return 1
		}},
		{"connections between kapi and etcd dropped", func(t *testing.T) int {
			for _, p := range c.proxies {
				p.dropAll()
			}
			return 1
		}},
		{fmt.Sprint("kapi and etcd blackholed for ", 6*time.Second*scale()), func(t *testing.T) int {
			for _, p := range c.proxies {
				p.blackhole()
			}
			// Longer than the clients' 5 s: writes of unknown outcome.
			time.Sleep(6 * time.Second * scale())
			for _, p := range c.proxies {
				p.heal()
			}
			return 1
		}},
		{"kill -9 of every etcd member", func(t *testing.T) int {
			for _, p := range c.etcd {
				p.kill9()
			}
			time.Sleep(3 * time.Second * scale())
			for _, p := range c.etcd {
				p.start(t)
			}
			return 3
		}},
		{"etcd compacted to its newest revision", func(t *testing.T) int {
			resp, err := c.etcdClient.Get(context.Background(), "compact", clientv3.WithCountOnly())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.etcdClient.Compact(context.Background(), resp.Header.Revision, clientv3.WithCompactPhysical()); err != nil {
				t.Fatal(err)
			}
			return 1
		}},
		{fmt.Sprint("SIGSTOP of the etcd leader for ", 10*time.Second*scale()), func(t *testing.T) int {
			l := c.etcdLeader(t)
			c.etcd[l].signal(syscall.SIGSTOP)
			time.Sleep(10 * time.Second * scale())
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
