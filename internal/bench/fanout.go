package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// The fan-out of a real cluster: --watchers watchers, each on a
// connection of its own (half of kapi's decode JSON, half protobuf),
// while --clients writers update fanOutObjects objects at once for
// --duration. Every write carries its send time; every watcher measures
// each delivery. The writers' rate without the watchers is measured
// first: the fan-out should slow the writes by no more than 2x.

const fanOutObjects = 500

// spreadResult is what one side of the fan-out measured.
type spreadResult struct {
	p99          float64 // ms
	missed       int64
	alone, under float64 // writes/s without and with the watchers
	// cpu: the cores used while the writers ran beside the watchers and
	// until the last event was delivered; delivered: the events.
	cpu       cores
	delivered int64
}

// watchFanOutSpread returns the lines of etcd against kapi, and a line
// of the bare watch server's figures: the floor of a Go server.
func (b *bench) watchFanOutSpread(ctx context.Context) ([]result, string, error) {
	e, err := b.etcdSpread(ctx)
	if err != nil {
		return nil, "", err
	}
	objs, err := b.fanOutObjects(ctx)
	if err != nil {
		return nil, "", err
	}
	k, err := b.kapiSpread(ctx, objs)
	if err != nil {
		return nil, "", err
	}
	// The bare server's objects are kapi's, as the watchers last got them
	// (managed fields and all), so that both send events of one size.
	g, err := b.bareSpread(ctx, objs)
	if err != nil {
		return nil, "", err
	}
	client, server, _ := g.cpu.used()
	bare := fmt.Sprintf("    the same on a bare Go HTTP/2 server (TLS; each event encoded once per encoding, written to every watcher; no storage, no filters):\n"+
		"      delivery p99 %.1f ms (%.2fx etcd's), missed %d; writes %.0f/s alone, %.0f/s during (%.2fx slower); cores: client %.2f, server %.2f; "+
		"CPU per delivered event: client %.1f µs, server %.1f µs\n",
		g.p99, g.p99/e.p99, g.missed, g.alone, g.under, g.alone/g.under, client, server, perEvent(g.cpu.client, g.delivered), perEvent(g.cpu.kapi, g.delivered))
	name := fmt.Sprintf("fan-out %d connections x %d writers on %d objects", b.cfg.Watchers, b.cfg.Clients, fanOutObjects)
	return []result{
		{name: name + ", delivery p99", unit: "ms", etcd: e.p99, kapi: k.p99, goal: "<= 1.5x",
			note:    fmt.Sprintf("missed events: etcd %d, kapi %d; half of kapi's watchers protobuf, half JSON", e.missed, k.missed),
			etcdCPU: e.cpu, kapiCPU: k.cpu, perEvent: [2]int64{e.delivered, k.delivered}},
		{name: "writes during that fan-out", unit: "/s", etcd: e.under, kapi: k.under, higher: true, goal: "-",
			note: fmt.Sprintf("without the watchers: etcd %.0f/s, kapi %.0f/s; the fan-out slows kapi's writes %.2fx (goal <= 2x), etcd's %.2fx",
				e.alone, k.alone, k.alone/k.under, e.alone/e.under)},
	}, bare, nil
}

// etcdSpread: watchers on clients of their own over a prefix of 500
// keys, the writers putting timestamped 1 KiB values.
func (b *bench) etcdSpread(ctx context.Context) (spreadResult, error) {
	var r spreadResult
	const prefix = "/bench-raw/fan/"
	pad := "|" + b.data
	put := func() error {
		key := prefix + strconv.Itoa(rand.IntN(fanOutObjects))
		_, err := b.raw.Put(ctx, key, strconv.FormatInt(time.Now().UnixNano(), 10)+pad)
		return err
	}
	if _, err := parallel(fanOutObjects, b.cfg.Clients, func(int) error { return put() }); err != nil {
		return r, err
	}
	var err error
	if r.alone, err = timed(b.cfg.Duration, b.cfg.Clients, put); err != nil {
		return r, err
	}
	var lat latencies
	var got atomic.Int64
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for range b.cfg.Watchers {
		c, err := clientv3.New(clientv3.Config{Endpoints: []string{b.etcdURL}, DialTimeout: 10 * time.Second, Logger: zap.NewNop()})
		if err != nil {
			return r, err
		}
		defer c.Close()
		ch := c.Watch(clientv3.WithRequireLeader(wctx), prefix, clientv3.WithPrefix())
		wg.Go(func() {
			for resp := range ch {
				for _, ev := range resp.Events {
					lat.add(sentAt(string(ev.Kv.Value)))
					got.Add(1)
				}
			}
		})
	}
	time.Sleep(500 * time.Millisecond)
	var writes atomic.Int64
	var want int64
	if err := b.cpu(&r.cpu, func() (err error) {
		if r.under, err = timed(b.cfg.Duration, b.cfg.Clients, func() error { writes.Add(1); return put() }); err != nil {
			return err
		}
		want = writes.Load() * int64(b.cfg.Watchers)
		waitFor(30*time.Second, func() bool { return got.Load() >= want })
		return nil
	}); err != nil {
		return r, err
	}
	cancel()
	wg.Wait()
	r.delivered = got.Load()
	r.p99, r.missed = lat.p99(), want-r.delivered
	return r, nil
}

// kapiSpread: the same with ConfigMaps in bench-fan; each writer updates
// its own share of the objects from the copy it last wrote, so that no
// write conflicts.
func (b *bench) kapiSpread(ctx context.Context, objs []*corev1.ConfigMap) (spreadResult, error) {
	cms := b.kapi.CoreV1().ConfigMaps("bench-fan")
	// Watched from after the writes alone, which the watchers must not get.
	from := func() (string, error) {
		list, err := cms.List(ctx, metav1.ListOptions{Limit: 1})
		if err != nil {
			return "", err
		}
		return list.ResourceVersion, nil
	}
	return b.serverSpread(ctx, b.rc, b.pid, "fan-out-connections", objs, from)
}

// fanOutObjects creates the fan-out's ConfigMaps in kapi.
func (b *bench) fanOutObjects(ctx context.Context) ([]*corev1.ConfigMap, error) {
	cms := b.kapi.CoreV1().ConfigMaps("bench-fan")
	objs := make([]*corev1.ConfigMap, fanOutObjects)
	_, err := parallel(fanOutObjects, b.cfg.Clients, func(i int) error {
		cm := b.configMap("fan-"+strconv.Itoa(i), nil)
		cm.Data["t"] = "0"
		var err error
		objs[i], err = cms.Create(ctx, cm, metav1.CreateOptions{})
		return err
	})
	return objs, err
}

// bareSpread: the same on the bare server (bare.go), with copies of objs.
func (b *bench) bareSpread(ctx context.Context, objs []*corev1.ConfigMap) (spreadResult, error) {
	mine := make([]*corev1.ConfigMap, len(objs))
	for i, o := range objs {
		mine[i] = o.DeepCopy()
	}
	p, rc, _, err := b.startBare(ctx, func(c kubernetes.Interface) error {
		_, err := c.CoreV1().ConfigMaps("bench-fan").Update(ctx, mine[0], metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return spreadResult{}, err
	}
	defer p.stop()
	// Its watches start now, whatever their resource version.
	now := func() (string, error) { return "", nil }
	return b.serverSpread(ctx, rc, p.cmd.Process.Pid, "", mine, now)
}

// startBare starts the bare server (bare.go), a child process of its own,
// and returns it, the benchmark's client configuration for it and a
// client, once ready answers without an error.
func (b *bench) startBare(ctx context.Context, ready func(kubernetes.Interface) error) (*child, *rest.Config, kubernetes.Interface, error) {
	addr := freeAddr()
	_, port, _ := net.SplitHostPort(addr)
	p, err := spawn(ctx, "bare", "--child", "bare", "--port", port)
	if err != nil {
		return nil, nil, nil, err
	}
	rc := rest.CopyConfig(b.rc)
	rc.Host = "https://" + addr
	rc.TLSClientConfig = rest.TLSClientConfig{Insecure: true}
	rc.BearerToken, rc.BearerTokenFile = "", ""
	c, err := kubernetes.NewForConfig(rc)
	if err == nil {
		err = waitFor(30*time.Second, func() bool { return ready(c) == nil })
	}
	if err != nil {
		p.stop()
		return nil, nil, nil, fmt.Errorf("the bare server did not start: %w", err)
	}
	return p, rc, c, nil
}

// serverSpread runs the fan-out against the server at rc (process pid),
// whose objs the writers update, watching from the resource version from
// gives after the writes alone; profile names kapi's profile ("": none).
func (b *bench) serverSpread(ctx context.Context, rc *rest.Config, pid int, profile string, objs []*corev1.ConfigMap,
	from func() (string, error)) (spreadResult, error) {
	var r spreadResult
	server, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return r, err
	}
	cms := server.CoreV1().ConfigMaps("bench-fan")
	writer := func(w int) func() error {
		return func() error {
			i := w + b.cfg.Clients*rand.IntN((fanOutObjects-w+b.cfg.Clients-1)/b.cfg.Clients)
			cm := objs[i].DeepCopy()
			cm.Data["t"] = strconv.FormatInt(time.Now().UnixNano(), 10)
			out, err := cms.Update(ctx, cm, metav1.UpdateOptions{})
			if err == nil {
				objs[i] = out
			}
			return err
		}
	}
	if r.alone, err = timedEach(b.cfg.Duration, b.cfg.Clients, writer); err != nil {
		return r, err
	}
	rv, err := from()
	if err != nil {
		return r, err
	}
	var lat latencies
	var got atomic.Int64
	var wg sync.WaitGroup
	var watchers []watch.Interface
	defer func() {
		for _, w := range watchers {
			w.Stop()
		}
		wg.Wait()
	}()
	for i := range b.cfg.Watchers {
		c, err := ownConnection(rc, i%2 == 0)
		if err != nil {
			return r, err
		}
		w, err := c.CoreV1().ConfigMaps("bench-fan").Watch(ctx, metav1.ListOptions{ResourceVersion: rv})
		if err != nil {
			return r, err
		}
		watchers = append(watchers, w)
		wg.Go(func() {
			for ev := range w.ResultChan() {
				if cm, ok := ev.Object.(*corev1.ConfigMap); ok && ev.Type == watch.Modified {
					lat.add(cm.Data["t"])
					got.Add(1)
				}
			}
		})
	}
	time.Sleep(500 * time.Millisecond)
	var writes atomic.Int64
	if profile != "" {
		wait := b.profile(ctx, profile, b.cfg.Duration)
		defer wait()
	}
	var want int64
	if err := b.cpuOf(pid, &r.cpu, func() (err error) {
		if r.under, err = timedEach(b.cfg.Duration, b.cfg.Clients, func(w int) func() error {
			write := writer(w)
			return func() error { writes.Add(1); return write() }
		}); err != nil {
			return err
		}
		want = writes.Load() * int64(b.cfg.Watchers)
		waitFor(30*time.Second, func() bool { return got.Load() >= want })
		return nil
	}); err != nil {
		return r, err
	}
	r.delivered = got.Load()
	r.p99, r.missed = lat.p99(), want-r.delivered
	return r, nil
}

// ownConnection is a client of kapi on a connection of its own (a dialer
// keeps client-go from sharing its cached transport), decoding protobuf
// or JSON.
func ownConnection(server *rest.Config, protobuf bool) (kubernetes.Interface, error) {
	rc := rest.CopyConfig(server)
	rc.Dial = (&net.Dialer{Timeout: 10 * time.Second}).DialContext
	rc.ContentType, rc.AcceptContentTypes = "application/json", "application/json"
	if protobuf {
		rc.ContentType, rc.AcceptContentTypes = "application/vnd.kubernetes.protobuf", "application/vnd.kubernetes.protobuf"
	}
	return kubernetes.NewForConfig(rc)
}

// sentAt is the send time at the head of an etcd value ("<ns>|...").
func sentAt(v string) string {
	ns, _, _ := strings.Cut(v, "|")
	return ns
}
