package bench

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

type bench struct {
	cfg  Config
	raw  *clientv3.Client
	kapi kubernetes.Interface
	rc   *rest.Config // kapi's client configuration
	// restart stops kapi and starts it again (on the same etcd and data
	// folder), updating pid.
	restart func() error
	// stopped is how long the last restart took to stop the old process.
	stopped time.Duration
	pid     int // kapi's
	// etcdPid and etcdURL are the etcd child's.
	etcdPid int
	etcdURL string
	out     io.Writer
	data    string
	// own is how many ConfigMaps kapi keeps in the "bench" namespace
	// itself (its root CA publisher's kube-root-ca.crt, as a cluster's):
	// lists count them besides the benchmark's.
	own int
}

// result is one line of the report: a figure for etcd and for kapi.
type result struct {
	name       string
	etcd, kapi float64
	unit       string
	// higher: larger is better (throughput); else smaller (latency).
	higher bool
	goal   string
	note   string
	// etcdCPU and kapiCPU: the cores each process used in each half.
	etcdCPU, kapiCPU cores
	// perEvent: the watch events etcd's and kapi's watchers received
	// while the cores were counted, for the CPU per delivered event.
	perEvent [2]int64
}

func (b *bench) run(ctx context.Context) error {
	b.data = strings.Repeat("x", b.cfg.ObjectSize)
	for _, ns := range []string{"bench", "bench-seq", "bench-watch", "bench-fan"} {
		if _, err := b.kapi.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	if err := b.settleNamespace(ctx, "bench"); err != nil {
		return err
	}
	fmt.Fprintf(b.out, "kapi-bench: %d ConfigMaps of %d bytes, %d clients, %d watchers x %d updates, timed scenarios %s\n\n",
		b.cfg.Objects, b.cfg.ObjectSize, b.cfg.Clients, b.cfg.Watchers, b.cfg.WatchUpdates, b.cfg.Duration)
	// scenario runs s and prints its result.
	scenario := func(s func(context.Context) (result, error)) (result, error) {
		r, err := s(ctx)
		if err == nil {
			printResult(b.out, r, b.cfg.CPU)
		}
		return r, err
	}
	if _, err := scenario(b.sequentialCreates); err != nil {
		return err
	}
	creates, err := scenario(b.parallelCreates)
	if err != nil {
		return err
	}
	if _, err := scenario(b.gets); err != nil {
		return err
	}
	anyGets, err := scenario(b.anyGets)
	if err != nil {
		return err
	}
	// The bare server's line, with etcd's figures of those two.
	floor, err := b.bareSingles(ctx, creates, anyGets)
	if err != nil {
		return err
	}
	fmt.Fprint(b.out, floor)
	for _, s := range []func(context.Context) (result, error){
		b.updates, b.consistentList, b.anyList, b.pagedList, b.selectorList, b.watchFanOut,
	} {
		if _, err := scenario(s); err != nil {
			return err
		}
	}
	spread, bare, err := b.watchFanOutSpread(ctx)
	if err != nil {
		return err
	}
	for _, r := range spread {
		printResult(b.out, r, b.cfg.CPU && r.kapiCPU.wall > 0)
	}
	fmt.Fprint(b.out, bare)
	rss, err := procMB(b.pid, "VmHWM")
	if err != nil {
		return err
	}
	anon, err := procMB(b.pid, "RssAnon")
	if err != nil {
		return err
	}
	file, err := procMB(b.pid, "RssFile")
	if err != nil {
		return err
	}
	fmt.Fprintf(b.out, "%-40s %12s %12.0f %10s  %s  (now: %.0f MB anonymous, %.0f MB of files: the binary's own pages)\n",
		"kapi peak resident memory (MB)", "-", rss, "-", "goal < 100 MB", anon, file)
	return nil
}

func printResult(out io.Writer, r result, showCPU bool) {
	ratio := r.kapi / r.etcd
	label := "kapi/etcd"
	if !r.higher {
		label = "x slower"
	}
	note := ""
	if r.note != "" {
		note = "  (" + r.note + ")"
	}
	fmt.Fprintf(out, "%-40s %12.1f %12.1f %10.2f %s  goal %s%s\n", r.name+" ("+r.unit+")", r.etcd, r.kapi, ratio, label, r.goal, note)
	if showCPU {
		ec, _, ee := r.etcdCPU.used()
		kc, kk, ke := r.kapiCPU.used()
		fmt.Fprintf(out, "    cores used: etcd run: client %.2f, etcd %.2f; kapi run: client %.2f, kapi %.2f, etcd %.2f\n",
			ec, ee, kc, kk, ke)
		if r.higher && r.etcd > 0 && r.kapi > 0 {
			fmt.Fprintf(out, "    CPU per operation: etcd run: client %.1f µs, etcd %.1f µs; kapi run: client %.1f µs, kapi %.1f µs, etcd %.1f µs\n",
				perOp(ec, r.etcd), perOp(ee, r.etcd), perOp(kc, r.kapi), perOp(kk, r.kapi), perOp(ke, r.kapi))
		}
		if e, k := r.perEvent[0], r.perEvent[1]; e > 0 && k > 0 {
			fmt.Fprintf(out, "    CPU per delivered event: etcd run: client %.1f µs, etcd %.1f µs; kapi run: client %.1f µs, kapi %.1f µs, etcd %.1f µs\n",
				perEvent(r.etcdCPU.client, e), perEvent(r.etcdCPU.etcd, e), perEvent(r.kapiCPU.client, k), perEvent(r.kapiCPU.kapi, k), perEvent(r.kapiCPU.etcd, k))
		}
		var calls []string
		for m, n := range r.kapiCPU.calls {
			if n > 0 {
				calls = append(calls, fmt.Sprintf("%s %.0f", m, n))
			}
		}
		sort.Strings(calls)
		fmt.Fprintf(out, "    etcd requests in the kapi run: %s\n", strings.Join(calls, ", "))
	}
}

func (b *bench) configMap(name string, labels map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}, Data: map[string]string{"d": b.data}}
}

// parallel runs n operations on c workers and returns operations/s.
func parallel(n, c int, op func(i int) error) (float64, error) {
	var next atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < c; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := op(i); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return 0, err
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// timed runs op on c workers for d and returns operations/s.
func timed(d time.Duration, c int, op func() error) (float64, error) {
	return timedEach(d, c, func(int) func() error { return op })
}

// timedEach is timed with an operation of each worker's own.
func timedEach(d time.Duration, c int, op func(worker int) func() error) (float64, error) {
	var count atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	deadline := time.Now().Add(d)
	start := time.Now()
	for w := 0; w < c; w++ {
		do := op(w)
		wg.Go(func() {
			for time.Now().Before(deadline) {
				if err := do(); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				count.Add(1)
			}
		})
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return 0, err
	}
	return float64(count.Load()) / time.Since(start).Seconds(), nil
}

func (b *bench) sequentialCreates(ctx context.Context) (result, error) {
	n := max(b.cfg.Objects/4, 1)
	r := result{name: "sequential creates", unit: "/s", higher: true, goal: ">= 0.5"}
	var err error
	if err = b.cpu(&r.etcdCPU, func() (err error) {
		r.etcd, err = parallel(n, 1, func(i int) error {
			_, err := b.raw.Put(ctx, fmt.Sprintf("/bench-raw/seq/cm-%d", i), b.data)
			return err
		})
		return err
	}); err != nil {
		return r, err
	}
	err = b.profiled(ctx, &r.kapiCPU, "sequential-creates", b.cfg.Duration, func() (err error) {
		r.kapi, err = parallel(n, 1, func(i int) error {
			_, err := b.kapi.CoreV1().ConfigMaps("bench-seq").Create(ctx, b.configMap(fmt.Sprintf("cm-%d", i), nil), metav1.CreateOptions{})
			return err
		})
		return err
	})
	return r, err
}

func (b *bench) parallelCreates(ctx context.Context) (result, error) {
	r := result{name: fmt.Sprintf("parallel creates, %d clients", b.cfg.Clients), unit: "/s", higher: true, goal: ">= 0.5"}
	var err error
	if err = b.cpu(&r.etcdCPU, func() (err error) {
		r.etcd, err = parallel(b.cfg.Objects, b.cfg.Clients, func(i int) error {
			_, err := b.raw.Put(ctx, fmt.Sprintf("/bench-raw/cm/cm-%d", i), b.data)
			return err
		})
		return err
	}); err != nil {
		return r, err
	}
	err = b.profiled(ctx, &r.kapiCPU, "parallel-creates", b.cfg.Duration, func() (err error) {
		r.kapi, err = parallel(b.cfg.Objects, b.cfg.Clients, func(i int) error {
			var labels map[string]string
			if i%100 == 0 {
				labels = map[string]string{"selected": "yes"} // 1% for the selector list
			}
			_, err := b.kapi.CoreV1().ConfigMaps("bench").Create(ctx, b.configMap(fmt.Sprintf("cm-%d", i), labels), metav1.CreateOptions{})
			return err
		})
		return err
	})
	return r, err
}

func (b *bench) gets(ctx context.Context) (result, error) {
	return b.getsWith(ctx, "parallel gets", ">= 0.6", "gets", metav1.GetOptions{})
}

// anyGets are gets with resourceVersion=0 ("any"): kapi answers from
// memory without asking etcd for its revision; etcd's are serializable
// (no consensus round). Issue 15's goal for them is 0.8 of etcd's.
func (b *bench) anyGets(ctx context.Context) (result, error) {
	return b.getsWith(ctx, "parallel gets, resourceVersion=0", ">= 0.8", "gets-rv0", metav1.GetOptions{ResourceVersion: "0"}, clientv3.WithSerializable())
}

func (b *bench) getsWith(ctx context.Context, name, goal, profile string, opts metav1.GetOptions, etcdOpts ...clientv3.OpOption) (result, error) {
	r := result{name: fmt.Sprintf("%s, %d clients", name, b.cfg.Clients), unit: "/s", higher: true, goal: goal}
	var err error
	if err = b.cpu(&r.etcdCPU, func() (err error) {
		r.etcd, err = timed(b.cfg.Duration, b.cfg.Clients, func() error {
			_, err := b.raw.Get(ctx, fmt.Sprintf("/bench-raw/cm/cm-%d", rand.IntN(b.cfg.Objects)), etcdOpts...)
			return err
		})
		return err
	}); err != nil {
		return r, err
	}
	err = b.profiled(ctx, &r.kapiCPU, profile, b.cfg.Duration, func() (err error) {
		r.kapi, err = timed(b.cfg.Duration, b.cfg.Clients, func() error {
			_, err := b.kapi.CoreV1().ConfigMaps("bench").Get(ctx, fmt.Sprintf("cm-%d", rand.IntN(b.cfg.Objects)), opts)
			return err
		})
		return err
	})
	return r, err
}

// bareSingles measures the floor of the single-object scenarios: parallel
// creates and gets on the bare server (bare.go), which keeps objects in a
// map and its answers encoded, with the clients of kapi's scenarios.
// creates and gets are those scenarios' results, for etcd's figures in
// the same run (its puts, and its serializable gets).
func (b *bench) bareSingles(ctx context.Context, creates, gets result) (string, error) {
	p, _, c, err := b.startBare(ctx, func(c kubernetes.Interface) error {
		_, err := c.CoreV1().ConfigMaps("bench").Get(ctx, "none", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	})
	if err != nil {
		return "", err
	}
	defer p.stop()
	cms, pid := c.CoreV1().ConfigMaps("bench"), p.cmd.Process.Pid
	var createCPU, getCPU cores
	var createRate, getRate float64
	if err := b.cpuOf(pid, &createCPU, func() (err error) {
		createRate, err = parallel(b.cfg.Objects, b.cfg.Clients, func(i int) error {
			_, err := cms.Create(ctx, b.configMap(fmt.Sprintf("cm-%d", i), nil), metav1.CreateOptions{})
			return err
		})
		return err
	}); err != nil {
		return "", err
	}
	if err := b.cpuOf(pid, &getCPU, func() (err error) {
		getRate, err = timed(b.cfg.Duration, b.cfg.Clients, func() error {
			_, err := cms.Get(ctx, fmt.Sprintf("cm-%d", rand.IntN(b.cfg.Objects)), metav1.GetOptions{})
			return err
		})
		return err
	}); err != nil {
		return "", err
	}
	cc, cs, _ := createCPU.used()
	gc, gs, _ := getCPU.used()
	return fmt.Sprintf("    the same on a bare Go HTTP/2 server (TLS; objects kept in a map, each encoded once per encoding; no storage, no filters, no admission):\n"+
		"      parallel creates %.0f/s, %.2f of etcd's; CPU per create: client %.1f µs, server %.1f µs\n"+
		"      gets %.0f/s, %.2f of etcd's serializable gets; CPU per get: client %.1f µs, server %.1f µs\n",
		createRate, createRate/creates.etcd, perOp(cc, createRate), perOp(cs, createRate),
		getRate, getRate/gets.etcd, perOp(gc, getRate), perOp(gs, getRate)), nil
}

// perOp is the µs of CPU per operation of a process that used cores at
// rate operations a second.
func perOp(cores, rate float64) float64 {
	return cores / rate * 1e6
}

// updates are read-modify-write: read, change, write if unchanged since.
func (b *bench) updates(ctx context.Context) (result, error) {
	r := result{name: fmt.Sprintf("read-modify-write updates, %d clients", b.cfg.Clients), unit: "/s", higher: true, goal: ">= 0.5"}
	var err error
	if err = b.cpu(&r.etcdCPU, func() (err error) {
		r.etcd, err = timed(b.cfg.Duration, b.cfg.Clients, func() error {
			key := fmt.Sprintf("/bench-raw/cm/cm-%d", rand.IntN(b.cfg.Objects))
			resp, err := b.raw.Get(ctx, key)
			if err != nil || len(resp.Kvs) == 0 {
				return err
			}
			_, err = b.raw.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(key), "=", resp.Kvs[0].ModRevision)).
				Then(clientv3.OpPut(key, b.data)).Commit()
			return err
		})
		return err
	}); err != nil {
		return r, err
	}
	err = b.profiled(ctx, &r.kapiCPU, "updates", b.cfg.Duration, func() (err error) {
		r.kapi, err = timed(b.cfg.Duration, b.cfg.Clients, b.kapiUpdate(ctx))
		return err
	})
	return r, err
}

// kapiUpdate is one read-modify-write of a random ConfigMap.
func (b *bench) kapiUpdate(ctx context.Context) func() error {
	return func() error {
		cms := b.kapi.CoreV1().ConfigMaps("bench")
		cm, err := cms.Get(ctx, fmt.Sprintf("cm-%d", rand.IntN(b.cfg.Objects)), metav1.GetOptions{})
		if err != nil {
			return err
		}
		cm.Data["n"] = strconv.Itoa(rand.Int())
		_, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
		if err != nil && strings.Contains(err.Error(), "the object has been modified") {
			return nil // another client won the race; that is the protocol
		}
		return err
	}
}

// sample appends the ms of n runs of op to d.
func sample(d *[]float64, n int, op func() error) error {
	for i := 0; i < n; i++ {
		start := time.Now()
		if err := op(); err != nil {
			return err
		}
		*d = append(*d, float64(time.Since(start).Microseconds())/1000)
	}
	return nil
}

func median(d []float64) float64 {
	sort.Float64s(d)
	return d[len(d)/2]
}

func (b *bench) rawList(ctx context.Context) func() error {
	return func() error {
		_, err := b.raw.Get(ctx, "/bench-raw/cm/", clientv3.WithPrefix())
		return err
	}
}

func (b *bench) listWith(ctx context.Context, opts metav1.ListOptions, want int) func() error {
	if opts.LabelSelector == "" {
		want += b.own
	}
	return func() error {
		o := opts
		n := 0
		for {
			l, err := b.kapi.CoreV1().ConfigMaps("bench").List(ctx, o)
			if err != nil {
				return err
			}
			n += len(l.Items)
			if l.Continue == "" {
				break
			}
			o.Continue = l.Continue
		}
		if n != want {
			return fmt.Errorf("list of %+v: %d items, want %d", opts, n, want)
		}
		return nil
	}
}

// listResult measures lists in alternating rounds (five of etcd's, five
// of kapi's, five times), so that both meet the same moments of a shared
// machine: a list takes milliseconds, and the machine's speed drifts over
// seconds.
func (b *bench) listResult(ctx context.Context, name string, opts metav1.ListOptions, want int, goal string) (result, error) {
	r := result{name: name, unit: "ms p50", goal: goal}
	etcdList, kapiList := b.rawList(ctx), b.listWith(ctx, opts, want)
	var ed, kd []float64
	for range 5 {
		if err := b.cpu(&r.etcdCPU, func() error { return sample(&ed, 5, etcdList) }); err != nil {
			return r, err
		}
		if err := b.cpu(&r.kapiCPU, func() error { return sample(&kd, 5, kapiList) }); err != nil {
			return r, err
		}
	}
	r.etcd, r.kapi = median(ed), median(kd)
	if b.cfg.ProfileDir == "" {
		return r, nil
	}
	// The profile: a hundred more of kapi's lists, enough samples to say
	// something, not counted.
	var discard []float64
	err := b.profiled(ctx, nil, strings.NewReplacer(" ", "-", ",", "", "%", "pc", "=", "").Replace(name), time.Second,
		func() error { return sample(&discard, 100, kapiList) })
	return r, err
}

func (b *bench) consistentList(ctx context.Context) (result, error) {
	return b.listResult(ctx, fmt.Sprintf("list of %d, consistent", b.cfg.Objects), metav1.ListOptions{}, b.cfg.Objects, "<= 2x")
}

func (b *bench) anyList(ctx context.Context) (result, error) {
	return b.listResult(ctx, fmt.Sprintf("list of %d, resourceVersion=0", b.cfg.Objects), metav1.ListOptions{ResourceVersion: "0"}, b.cfg.Objects, "-")
}

func (b *bench) pagedList(ctx context.Context) (result, error) {
	return b.listResult(ctx, fmt.Sprintf("list of %d, pages of 500", b.cfg.Objects), metav1.ListOptions{Limit: 500}, b.cfg.Objects, "-")
}

func (b *bench) selectorList(ctx context.Context) (result, error) {
	r, err := b.listResult(ctx, "list with a 1% label selector", metav1.ListOptions{LabelSelector: "selected=yes"}, (b.cfg.Objects+99)/100, "-")
	r.note = "etcd: the whole range, it cannot select"
	return r, err
}

// watchFanOut: W watchers of one object each side, U updates; each update
// carries its send time, each watcher measures delivery.
func (b *bench) watchFanOut(ctx context.Context) (result, error) {
	r := result{name: fmt.Sprintf("watch fan-out %dx%d, delivery p99", b.cfg.Watchers, b.cfg.WatchUpdates), unit: "ms", goal: "<= 1.5x"}
	W, U := b.cfg.Watchers, b.cfg.WatchUpdates

	// etcd
	var lat latencies
	var got atomic.Int64
	wctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for i := 0; i < W; i++ {
		wg.Add(1)
		ch := b.raw.Watch(clientv3.WithRequireLeader(wctx), "/bench-raw/watch/w")
		go func() {
			defer wg.Done()
			for resp := range ch {
				for _, ev := range resp.Events {
					lat.add(string(ev.Kv.Value))
					got.Add(1)
				}
			}
		}()
	}
	time.Sleep(500 * time.Millisecond)
	if err := b.cpu(&r.etcdCPU, func() error {
		for i := 0; i < U; i++ {
			if _, err := b.raw.Put(ctx, "/bench-raw/watch/w", strconv.FormatInt(time.Now().UnixNano(), 10)); err != nil {
				return err
			}
		}
		waitFor(15*time.Second, func() bool { return got.Load() >= int64(W*U) })
		return nil
	}); err != nil {
		cancel()
		return r, err
	}
	r.perEvent[0] = got.Load()
	cancel()
	wg.Wait()
	r.etcd = lat.p99()
	etcdMissed := int64(W*U) - got.Load()

	// kapi
	cms := b.kapi.CoreV1().ConfigMaps("bench-watch")
	start, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "w"}, Data: map[string]string{"t": "0"}}, metav1.CreateOptions{})
	if err != nil {
		return r, err
	}
	var klat latencies
	var kgot atomic.Int64
	var watchers []watch.Interface
	for i := 0; i < W; i++ {
		w, err := cms.Watch(ctx, metav1.ListOptions{ResourceVersion: start.ResourceVersion})
		if err != nil {
			return r, err
		}
		watchers = append(watchers, w)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ev := range w.ResultChan() {
				if cm, ok := ev.Object.(*corev1.ConfigMap); ok && ev.Type == watch.Modified {
					klat.add(cm.Data["t"])
					kgot.Add(1)
				}
			}
		}()
	}
	time.Sleep(500 * time.Millisecond)
	cm := start
	if err := b.cpu(&r.kapiCPU, func() (err error) {
		for i := 0; i < U; i++ {
			cm.Data["t"] = strconv.FormatInt(time.Now().UnixNano(), 10)
			if cm, err = cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
				return err
			}
		}
		waitFor(15*time.Second, func() bool { return kgot.Load() >= int64(W*U) })
		return nil
	}); err != nil {
		return r, err
	}
	r.perEvent[1] = kgot.Load()
	for _, w := range watchers {
		w.Stop()
	}
	wg.Wait()
	r.kapi = klat.p99()
	r.note = fmt.Sprintf("missed events: etcd %d, kapi %d", etcdMissed, int64(W*U)-kgot.Load())
	return r, nil
}

// latencies collects delivery times from embedded send times.
type latencies struct {
	mu sync.Mutex
	ms []float64
}

func (l *latencies) add(sent string) {
	ns, err := strconv.ParseInt(sent, 10, 64)
	if err != nil || ns == 0 {
		return
	}
	d := float64(time.Now().UnixNano()-ns) / 1e6
	l.mu.Lock()
	l.ms = append(l.ms, d)
	l.mu.Unlock()
}

func (l *latencies) p99() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.ms) == 0 {
		return 0
	}
	sort.Float64s(l.ms)
	return l.ms[len(l.ms)*99/100]
}

// settleNamespace waits (up to 10 s) for the ConfigMap kapi's root CA
// publisher puts in every new namespace, so that it is there before any
// scenario runs, and counts what kapi keeps there.
func (b *bench) settleNamespace(ctx context.Context, ns string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		l, err := b.kapi.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		if len(l.Items) > 0 || time.Now().After(deadline) {
			b.own = len(l.Items)
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
}
