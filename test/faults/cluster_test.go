// Package faults is kapi's fault-injection suite: a three-member etcd
// cluster and two kapi replicas as separate processes (each replica
// reaching etcd through a TCP proxy of the test's), 12 clients creating,
// updating and deleting ConfigMaps and 4 updating a register by
// compare-and-swap, every write recorded, and a watcher on every replica,
// while a fault is injected: kill -9 of a replica, of the etcd leader, of
// every member; SIGSTOP of a follower, of the leader; latency, dropped
// connections, a blackhole between kapi and etcd; a compaction. Then every
// object is checked against the possible outcomes of its writes (0 lost,
// no refused write present), the register's history for linearizability
// (porcupine), and every list and watch of the watchers against etcd's own
// events (no gap, no duplicate, in order). TestEtcdOutage checks the
// answers while etcd cannot serve, TestEtcdSpaceQuota the answers when
// its space quota is exhausted and the way out.
//
// `go test ./test/faults` (CI) runs the short form: each fault for a few
// seconds. KAPI_FAULTS_LONG=1 runs the long form: each fault five times as
// long, under load five times as long.
package faults

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"kapi/test/ports"
)

var bins struct{ kapi, etcd string }

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "kapi-faults-bin")
	if err != nil {
		panic(err)
	}
	bins.kapi, bins.etcd = filepath.Join(dir, "kapi"), filepath.Join(dir, "etcd")
	for pkg, out := range map[string]string{"kapi/cmd/kapi": bins.kapi, "kapi/test/etcd": bins.etcd} {
		cmd := exec.Command("go", "build", "-o", out, pkg)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "building", pkg, err)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// scale is 1 in the short form, 5 in the long one.
func scale() time.Duration {
	if os.Getenv("KAPI_FAULTS_LONG") != "" {
		return 5
	}
	return 1
}

// proc is a process of the cluster, in a process group of its own.
type proc struct {
	name string
	args []string
	cmd  *exec.Cmd
	log  *os.File
}

func (p *proc) start(t *testing.T) {
	t.Helper()
	p.cmd = exec.Command(p.args[0], p.args[1:]...)
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("%s: %v", p.name, err)
	}
}

// logTail is the end of the process's log, for a failure's message.
func (p *proc) logTail() string {
	b, err := os.ReadFile(p.log.Name())
	if err != nil {
		return err.Error()
	}
	if len(b) > 2048 {
		b = b[len(b)-2048:]
	}
	return string(b)
}

// kill9 is kill -9 of the process, waited for.
func (p *proc) kill9() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	p.cmd.Wait()
	p.cmd = nil
}

func (p *proc) signal(s syscall.Signal) { syscall.Kill(-p.cmd.Process.Pid, s) }

// cluster is three etcd members and two kapi replicas joined with a token.
type cluster struct {
	etcd       []*proc
	etcdURLs   []string
	etcdIDs    []uint64
	kapi       []*proc
	kapiURLs   []string
	rest       *rest.Config
	dir        string
	etcdClient *clientv3.Client
	started    [2]int      // the start lines seen in each replica's log
	proxies    []*tcpProxy // between the replicas and each etcd member
}

func freePort(t *testing.T) int {
	t.Helper()
	p, err := ports.Free()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// clusterArgs are flags added to every etcd member's and every replica's.
type clusterArgs struct{ etcd, kapi []string }

// startCluster starts the cluster.
func startCluster(t *testing.T, extra clusterArgs) *cluster {
	t.Helper()
	c := &cluster{dir: t.TempDir()}
	var initial []string
	var peers []string
	for i := range 3 {
		c.etcdURLs = append(c.etcdURLs, fmt.Sprintf("http://127.0.0.1:%d", freePort(t)))
		peers = append(peers, fmt.Sprintf("http://127.0.0.1:%d", freePort(t)))
		initial = append(initial, fmt.Sprintf("e%d=%s", i, peers[i]))
	}
	for i := range 3 {
		log, _ := os.Create(filepath.Join(c.dir, fmt.Sprintf("etcd%d.log", i)))
		p := &proc{name: fmt.Sprintf("etcd%d", i), log: log, args: []string{bins.etcd, "--name", fmt.Sprintf("e%d", i),
			"--data-dir", filepath.Join(c.dir, fmt.Sprintf("etcd%d", i)),
			"--listen-client-urls", c.etcdURLs[i], "--advertise-client-urls", c.etcdURLs[i],
			"--listen-peer-urls", peers[i], "--initial-advertise-peer-urls", peers[i],
			"--initial-cluster", strings.Join(initial, ","), "--initial-cluster-state", "new",
			"--heartbeat-interval", "50", "--election-timeout", "500", "--log-level", "error"}}
		p.args = append(p.args, extra.etcd...)
		p.start(t)
		c.etcd = append(c.etcd, p)
	}
	t.Cleanup(func() {
		for _, p := range append(c.kapi, c.etcd...) {
			if p.cmd != nil {
				p.signal(syscall.SIGCONT)
			}
			p.kill9()
			p.log.Close()
		}
	})
	var err error
	c.etcdClient, err = clientv3.New(clientv3.Config{Endpoints: c.etcdURLs, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.etcdClient.Close() })
	deadline := time.Now().Add(60 * time.Second)
	for i, u := range c.etcdURLs {
		for {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			st, err := c.etcdClient.Status(ctx, u)
			cancel()
			if err == nil {
				c.etcdIDs = append(c.etcdIDs, st.Header.MemberId)
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("etcd%d did not come up: %v; the end of its log:\n%s", i, err, c.etcd[i].logTail())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	var through []string
	for _, u := range c.etcdURLs {
		p := newTCPProxy(t, strings.TrimPrefix(u, "http://"))
		c.proxies = append(c.proxies, p)
		through = append(through, "http://"+p.addr())
	}
	for i := range 2 {
		port := freePort(t)
		c.kapiURLs = append(c.kapiURLs, fmt.Sprintf("https://127.0.0.1:%d", port))
		log, _ := os.Create(filepath.Join(c.dir, fmt.Sprintf("kapi%d.log", i)))
		p := &proc{name: fmt.Sprintf("kapi%d", i), log: log, args: []string{bins.kapi, "--data-dir", filepath.Join(c.dir, fmt.Sprintf("kapi%d", i)),
			"--secure-port", fmt.Sprint(port), "--etcd-servers", strings.Join(through, ","), "--token", "faults-token"}}
		p.args = append(p.args, extra.kapi...)
		c.kapi = append(c.kapi, p)
		c.startKapi(t, i)
	}
	rc, err := clientcmd.BuildConfigFromFlags("", filepath.Join(c.dir, "kapi0", "admin.kubeconfig"))
	if err != nil {
		t.Fatal(err)
	}
	rc.QPS, rc.Burst = -1, 0
	c.rest = rc
	return c
}

// startKapi starts replica i and waits until it serves.
func (c *cluster) startKapi(t *testing.T, i int) {
	t.Helper()
	p := c.kapi[i]
	p.start(t)
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(p.log.Name()); err == nil && strings.Count(string(b), "kapi is serving") > c.started[i] {
			c.started[i]++
			return
		}
		if p.cmd.ProcessState != nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	b, _ := os.ReadFile(p.log.Name())
	t.Fatalf("%s did not start:\n%s", p.name, lastLines(string(b), 20))
}

func lastLines(s string, n int) string {
	sc := bufio.NewScanner(strings.NewReader(s))
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// clientFor is a client of replica i on a connection of its own.
func (c *cluster) clientFor(i int) kubernetes.Interface {
	rc := rest.CopyConfig(c.rest)
	rc.Host = c.kapiURLs[i]
	rc.Proxy = func(*http.Request) (*url.URL, error) { return nil, nil } // a transport of its own
	return kubernetes.NewForConfigOrDie(rc)
}

// etcdLeader is the index of etcd's leader.
func (c *cluster) etcdLeader(t *testing.T) int {
	t.Helper()
	for range 100 {
		for i, u := range c.etcdURLs {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			st, err := c.etcdClient.Status(ctx, u)
			cancel()
			if err == nil && st.Leader == c.etcdIDs[i] {
				return i
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("etcd has no leader")
	return -1
}
