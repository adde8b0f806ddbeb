// Package bench compares kapi with the raw etcd under it, in one run, so
// that every figure is a ratio measured on the same machine at the same
// time: creates, gets, read-modify-write updates, lists, a label-selector
// list, a watch fan-out with missed events counted, and kapi's peak
// resident memory. kapi and etcd run as child processes of the benchmark
// (the benchmark's own binary, re-executed), so that kapi's memory is its
// own.
package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"kapi/internal/server"
	"kapi/internal/storage/embedded"
)

// Config is the benchmark's shape.
type Config struct {
	Objects, ObjectSize, Clients int
	Watchers, WatchUpdates       int
	Duration                     time.Duration
	// ProfileDir, when set, receives kapi's CPU and allocation profiles
	// of each scenario (<scenario>.pprof, <scenario>.allocs.pprof), for
	// `go tool pprof`.
	ProfileDir string
	// CPU prints the cores the client, kapi and etcd used in each
	// scenario.
	CPU bool
	// NoGzip: the client does not ask for gzip (client-go's
	// DisableCompression), so large answers come uncompressed.
	NoGzip bool
	// CRDMode runs the CRD benchmark (crds.go) instead: CRDs created at
	// once, CRDs in all, the properties of the large schema, and the
	// kubectl to use (empty: built from kapi/test/kubectl).
	CRDMode        bool
	CRDs, CRDsMany int
	CRDProperties  int
	Kubectl        string
	// AdmissionMode runs the admission benchmark (admission.go) instead.
	AdmissionMode bool
	// ProxyMode runs the service proxy benchmark (proxy.go) instead; its
	// kapi child runs with --proxy-allow-loopback.
	ProxyMode bool
	// LargeMode runs the large benchmark (large.go) instead: Objects
	// (100,000 unless given) ConfigMaps and Pods in 100 namespaces.
	LargeMode bool
	// StartMode measures kapi's start-up instead (start.go): Starts
	// first starts and restarts of a kapi process.
	StartMode bool
	Starts    int

	// Child, Dir, Port, EtcdURL: the re-executed processes.
	Child   string
	Dir     string
	Port    int
	EtcdURL string
}

// Defaults are the scenario: 2,000 one-KiB ConfigMaps, 16 clients,
// 200 watchers x 500 updates.
func Defaults() Config {
	return Config{Objects: 2000, ObjectSize: 1024, Clients: 16, Watchers: 200, WatchUpdates: 500, Duration: 3 * time.Second,
		CRDs: 200, CRDsMany: 1000, CRDProperties: 10000, Starts: 10}
}

// Run runs the benchmark, or a child process of it.
func Run(ctx context.Context, cfg Config, out io.Writer) error {
	switch cfg.Child {
	case "etcd":
		return runEtcd(ctx, cfg)
	case "kapi":
		return runKapi(ctx, cfg)
	case "bare":
		return runBare(cfg)
	case "":
	default:
		return fmt.Errorf("unknown child %q", cfg.Child)
	}
	if cfg.StartMode {
		return runStart(ctx, cfg, out)
	}
	if cfg.ProfileDir != "" {
		// Made before the run, so that a bad folder fails at once.
		if err := os.MkdirAll(cfg.ProfileDir, 0o755); err != nil {
			return err
		}
	}
	dir, err := os.MkdirTemp("", "kapi-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	etcdURL := "http://" + freeAddr()
	etcdProc, err := spawn(ctx, "etcd", "--child", "etcd", "--dir", filepath.Join(dir, "etcd"), "--etcd", etcdURL)
	if err != nil {
		return err
	}
	defer etcdProc.stop()
	raw, err := clientv3.New(clientv3.Config{Endpoints: []string{etcdURL}, DialTimeout: 10 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		return err
	}
	defer raw.Close()
	if err := waitFor(60*time.Second, func() bool {
		c, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		_, err := raw.Get(c, "ping")
		return err == nil
	}); err != nil {
		return fmt.Errorf("etcd did not start: %w", err)
	}

	port, _ := strconv.Atoi(strings.Split(freeAddr(), ":")[1])
	kapiDir := filepath.Join(dir, "kapi")
	kapiArgs := []string{"--child", "kapi", "--dir", kapiDir, "--port", strconv.Itoa(port), "--etcd", etcdURL}
	if cfg.ProxyMode {
		kapiArgs = append(kapiArgs, "--proxy")
	}
	kapiProc, err := spawn(ctx, "kapi", kapiArgs...)
	if err != nil {
		return err
	}
	defer func() { kapiProc.stop() }() // the one running then (restart)
	kubeconfig := filepath.Join(kapiDir, "admin.kubeconfig")
	var client kubernetes.Interface
	var restConfig *rest.Config
	if err := waitFor(60*time.Second, func() bool {
		rc, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
		if err != nil {
			return false
		}
		rc.QPS, rc.Burst = -1, 0
		rc.ContentType = "application/vnd.kubernetes.protobuf"
		rc.DisableCompression = cfg.NoGzip
		c, err := kubernetes.NewForConfig(rc)
		if err != nil {
			return false
		}
		if _, err := c.Discovery().ServerVersion(); err != nil {
			return false
		}
		client, restConfig = c, rc
		return true
	}); err != nil {
		return fmt.Errorf("kapi did not start: %w", err)
	}
	b := &bench{cfg: cfg, raw: raw, kapi: client, rc: restConfig, pid: kapiProc.cmd.Process.Pid, etcdPid: etcdProc.cmd.Process.Pid, etcdURL: etcdURL, out: out}
	// restart stops kapi and starts it again on the same etcd and folder.
	// With --profile the new process profiles its own start, until it is
	// ready (restart.pprof).
	b.restart = func() error {
		start := time.Now()
		kapiProc.stop()
		b.stopped = time.Since(start)
		args := kapiArgs
		if cfg.ProfileDir != "" {
			args = append(slices.Clip(args), "--profile", cfg.ProfileDir)
		}
		p, err := spawn(ctx, "kapi", args...)
		if err != nil {
			return err
		}
		kapiProc, b.pid = p, p.cmd.Process.Pid
		return nil
	}
	if cfg.LargeMode {
		return b.runLarge(ctx)
	}
	if cfg.AdmissionMode {
		return b.runAdmission(ctx)
	}
	if cfg.ProxyMode {
		return b.runProxy(ctx, restConfig)
	}
	if cfg.CRDMode {
		// JSON: custom resources have no protobuf.
		rc := rest.CopyConfig(restConfig)
		rc.ContentType = "application/json"
		return b.runCRDs(ctx, rc, kubeconfig, dir)
	}
	return b.run(ctx)
}

// runEtcd is the etcd child: a single member, as kapi embeds it, on the
// URL given.
func runEtcd(ctx context.Context, cfg Config) error {
	e, err := embedded.StartAt(ctx, cfg.Dir, cfg.EtcdURL)
	if err != nil {
		return err
	}
	defer e.Close()
	waitForStdinEOF()
	return nil
}

// runKapi is the kapi child, on the benchmark's etcd, or on its embedded
// one without --etcd.
func runKapi(ctx context.Context, cfg Config) error {
	c := server.Defaults()
	c.DataDir, c.SecurePort, c.Out = cfg.Dir, cfg.Port, io.Discard
	if cfg.EtcdURL != "" { // else its embedded etcd (--start)
		c.EtcdServers = []string{cfg.EtcdURL}
	}
	c.ProxyAllowLoopback = cfg.ProxyMode // its backend is on loopback
	var profile *os.File
	if cfg.ProfileDir != "" { // a restart's: its start-up
		f, err := os.Create(filepath.Join(cfg.ProfileDir, "restart.pprof"))
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		profile = f
	}
	s, err := server.Start(ctx, c)
	if profile != nil {
		pprof.StopCPUProfile()
		profile.Close()
	}
	if err != nil {
		return err
	}
	waitForStdinEOF()
	return s.Stop()
}

// A child lives until its parent closes its standard input (or dies).
func waitForStdinEOF() {
	io.Copy(io.Discard, os.Stdin)
}

// child is a process of the benchmark; closing its standard input ends it.
type child struct {
	cmd   *exec.Cmd
	stdin io.Closer
}

func spawn(ctx context.Context, name string, args ...string) (*child, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, self, args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	return &child{cmd: cmd, stdin: stdin}, nil
}

// stop ends the child gracefully, or kills it after 30 s.
func (c *child) stop() {
	c.stdin.Close()
	done := make(chan struct{})
	go func() { c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		c.cmd.Process.Kill()
		<-done
	}
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func waitFor(d time.Duration, cond func() bool) error {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("not within %s", d)
}
