package bench

// What the benchmark reads of its processes: the cores each used, etcd's
// requests, kapi's profiles, resident memory and Go's own account of it.

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"k8s.io/client-go/rest"
)

// profile, when Config.ProfileDir is set, records kapi's CPU profile and
// allocations for the length of one scenario's kapi half (from
// /debug/pprof) into ProfileDir/<name>.pprof and <name>.allocs.pprof; the
// returned func waits for them.
func (b *bench) profile(ctx context.Context, name string, d time.Duration) func() error {
	if b.cfg.ProfileDir == "" {
		return func() error { return nil }
	}
	secs := strconv.Itoa(max(int(d.Round(time.Second)/time.Second), 1))
	// The CPU profile, and the allocations made meanwhile (a delta).
	kinds := map[string]string{"profile": name + ".pprof", "allocs": name + ".allocs.pprof"}
	done := make(chan error, len(kinds))
	for kind, file := range kinds {
		go func() {
			data, err := b.kapi.CoreV1().RESTClient().Get().AbsPath("/debug/pprof/"+kind).
				Param("seconds", secs).DoRaw(ctx)
			if err == nil {
				err = os.WriteFile(filepath.Join(b.cfg.ProfileDir, file), data, 0o644)
			}
			done <- err
		}()
	}
	return func() error {
		var first error
		for range kinds {
			if err := <-done; first == nil {
				first = err
			}
		}
		return first
	}
}

// profiled runs the kapi half of a scenario under profile, adding the
// CPU it used to into (unless nil).
func (b *bench) profiled(ctx context.Context, into *cores, name string, d time.Duration, op func() error) error {
	wait := b.profile(ctx, name, d)
	err := b.cpu(into, op)
	if perr := wait(); err == nil {
		err = perr
	}
	return err
}

// cores is the CPU time the benchmark's client (this process), kapi and
// etcd used over stretches of wall time, and etcd's requests by method
// meanwhile.
type cores struct {
	client, kapi, etcd, wall float64 // seconds
	calls                    map[string]float64
}

func (c cores) used() (client, kapi, etcd float64) {
	if c.wall == 0 {
		return 0, 0, 0
	}
	return c.client / c.wall, c.kapi / c.wall, c.etcd / c.wall
}

// cpu runs op and adds the CPU each process used meanwhile to into (nil:
// just runs op).
func (b *bench) cpu(into *cores, op func() error) error {
	return b.cpuOf(b.pid, into, op)
}

// cpuOf is cpu with the server's process pid in kapi's place.
func (b *bench) cpuOf(pid int, into *cores, op func() error) error {
	if into == nil {
		return op()
	}
	start := time.Now()
	calls0 := b.etcdCalls()
	c0, k0, e0 := cpuSeconds(os.Getpid()), cpuSeconds(pid), cpuSeconds(b.etcdPid)
	err := op()
	into.wall += time.Since(start).Seconds()
	into.client += cpuSeconds(os.Getpid()) - c0
	into.kapi += cpuSeconds(pid) - k0
	into.etcd += cpuSeconds(b.etcdPid) - e0
	if into.calls == nil {
		into.calls = map[string]float64{}
	}
	for m, n := range b.etcdCalls() {
		into.calls[m] += n - calls0[m]
	}
	return err
}

// etcdCalls reads etcd's request counts by gRPC method from its /metrics
// (grpc_server_handled_total); nil when --cpu is off.
func (b *bench) etcdCalls() map[string]float64 {
	if !b.cfg.CPU {
		return nil
	}
	resp, err := http.Get(b.etcdURL + "/metrics")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		_, rest, _ := strings.Cut(line, `grpc_method="`)
		method, _, _ := strings.Cut(rest, `"`)
		switch {
		case strings.HasPrefix(line, "grpc_server_handled_total{"):
		case strings.HasPrefix(line, "grpc_server_msg_received_total{") && method == "Watch":
			// Watch creations and progress requests, on open streams.
			method = "Watch messages"
		default:
			continue
		}
		f := strings.Fields(line)
		n, _ := strconv.ParseFloat(f[len(f)-1], 64)
		out[method] += n
	}
	return out
}

// cpuSeconds is the user and system CPU time of process pid, from
// /proc/<pid>/stat (0 when it cannot be read).
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name may hold spaces: fields count from its closing ")".
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / 100 // USER_HZ is 100 on Linux
}

// procMB is a memory figure of the process in MB, from /proc/<pid>/status:
// "VmRSS" (resident now) or "VmHWM" (peak resident).
func procMB(pid int, field string) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == field+":" {
			kb, err := strconv.ParseFloat(f[1], 64)
			return kb / 1024, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// goMetrics reads kapi's /metrics and returns the Go runtime's samples
// (the lines named go_...), by name, in their own units.
func goMetrics(ctx context.Context, rc rest.Interface) (map[string]float64, error) {
	raw, err := rc.Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return nil, err
	}
	v := map[string]float64{}
	for _, line := range strings.Split(string(raw), "\n") {
		name, value, ok := strings.Cut(line, " ")
		if !ok || !strings.HasPrefix(name, "go_") {
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			return nil, fmt.Errorf("/metrics: %s: %w", name, err)
		}
		v[name] = f
	}
	return v, nil
}

// liveHeap is kapi's live heap in bytes (go_memstats_heap_alloc_bytes,
// from /metrics) after n collections forced by /debug/pprof/heap?gc=1,
// and the heap profile the last of them returned.
func liveHeap(ctx context.Context, rc rest.Interface, n int) (heap float64, profile []byte, err error) {
	for range n {
		if profile, err = rc.Get().AbsPath("/debug/pprof/heap").Param("gc", "1").DoRaw(ctx); err != nil {
			return 0, nil, err
		}
	}
	m, err := goMetrics(ctx, rc)
	if err != nil {
		return 0, nil, err
	}
	return m["go_memstats_heap_alloc_bytes"], profile, nil
}

// perEvent is CPU seconds spread over n events, in µs per event.
func perEvent(sec float64, n int64) float64 {
	return sec * 1e6 / float64(max(n, 1))
}
