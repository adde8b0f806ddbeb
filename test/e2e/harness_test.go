package e2e

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"kapi/internal/controllers"
	"kapi/internal/server"
)

// bins holds the binaries TestMain builds: a real kubectl from
// k8s.io/kubectl, an etcd server from go.etcd.io/etcd/server/v3 and kapi;
// and where helmBinary builds helm, in the same folder.
var bins struct{ kubectl, etcd, kapi, helm string }

// logs is where the log lines of the kapis the tests start in this
// process go, and the stderr of the commands they run. Without -v it is a
// file, kept only if a test failed and named at the end, so that go
// test's output ends with the failures rather than with the interleaved
// log lines of every parallel test (CI shows only the end).
var logs io.Writer = os.Stderr

// logToFile sends klog's lines (and logs) to a new temporary file until
// the returned end, which removes the file unless keep, and else names it.
func logToFile() (end func(keep bool), err error) {
	f, err := os.CreateTemp("", "kapi-e2e-*.log")
	if err != nil {
		return nil, err
	}
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	for name, v := range map[string]string{"logtostderr": "false", "alsologtostderr": "false", "stderrthreshold": "FATAL", "one_output": "true"} {
		if err := fs.Set(name, v); err != nil {
			f.Close()
			os.Remove(f.Name())
			return nil, err
		}
	}
	klog.SetOutput(f)
	logs = f
	return func(keep bool) {
		klog.Flush()
		f.Close()
		if keep {
			fmt.Fprintf(os.Stderr, "the log lines of the kapis these tests started are in %s\n", f.Name())
		} else {
			os.Remove(f.Name())
		}
	}, nil
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "kapi-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bins.kubectl = filepath.Join(dir, "kubectl")
	bins.etcd = filepath.Join(dir, "etcd")
	bins.kapi = filepath.Join(dir, "kapi")
	bins.helm = filepath.Join(dir, "helm")
	for pkg, out := range map[string]string{"kapi/test/kubectl": bins.kubectl, "kapi/test/etcd": bins.etcd, "kapi/cmd/kapi": bins.kapi} {
		if err := goBuild(pkg, out); err != nil {
			fmt.Fprintln(os.Stderr, "building", pkg, err)
			os.RemoveAll(dir)
			os.Exit(1)
		}
	}
	flag.Parse()
	// controller-runtime's lines (of the tests' managers and webhook
	// servers) go where klog's go; unset, it prints a warning with a stack.
	ctrllog.SetLogger(klog.NewKlogr())
	endLog := func(bool) {}
	if !testing.Verbose() {
		if endLog, err = logToFile(); err != nil {
			fmt.Fprintln(os.Stderr, "logging to a file:", err)
			os.RemoveAll(dir)
			os.Exit(1)
		}
	}
	code := m.Run()
	endLog(code != 0)
	os.RemoveAll(dir)
	os.Exit(code)
}

// goBuild builds the package pkg into the binary out.
func goBuild(pkg, out string) error {
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return cmd.Run()
}

// kapi is a kapi started in-process for one test, on a free loopback port,
// with its data (embedded etcd included) in a temporary folder.
type kapi struct {
	t       testing.TB
	cfg     server.Config
	srv     *server.Server
	rest    *rest.Config
	client  kubernetes.Interface
	dynamic dynamic.Interface
}

// startKapi starts kapi with the options applied to its configuration and
// stops it when the test ends.
func startKapi(t testing.TB, opts ...func(*server.Config)) *kapi {
	t.Helper()
	cfg := server.Defaults()
	cfg.DataDir = t.TempDir()
	cfg.SecurePort = 0
	cfg.Out = io.Discard
	for _, o := range opts {
		o(&cfg)
	}
	k := &kapi{t: t, cfg: cfg}
	k.start()
	t.Cleanup(k.stop)
	return k
}

// startRefused starts kapi with the defaults changed by set (a fresh data
// folder, a free port) and checks that it refuses to start with an error
// holding want; one that starts is stopped.
func startRefused(t testing.TB, want string, set func(*server.Config)) {
	t.Helper()
	cfg := server.Defaults()
	cfg.DataDir, cfg.SecurePort, cfg.Out = t.TempDir(), 0, io.Discard
	set(&cfg)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := server.Start(ctx, cfg)
	switch {
	case err == nil:
		s.Stop()
		t.Errorf("kapi started; want it refused with %q", want)
	case !strings.Contains(err.Error(), want):
		t.Errorf("kapi refused to start with %v\nwant %s", err, want)
	}
}

func (k *kapi) start() {
	k.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	srv, err := server.Start(ctx, k.cfg)
	if err != nil {
		k.t.Fatalf("starting kapi: %v", err)
	}
	k.srv = srv
	rc, err := clientcmd.BuildConfigFromFlags("", srv.Kubeconfig)
	if err != nil {
		k.t.Fatalf("reading %s: %v", srv.Kubeconfig, err)
	}
	rc.QPS, rc.Burst = -1, 0
	k.rest = rc
	k.client = kubernetes.NewForConfigOrDie(rc)
	k.dynamic = dynamic.NewForConfigOrDie(rc)
}

func (k *kapi) stop() {
	if k.srv != nil {
		if err := k.srv.Stop(); err != nil {
			k.t.Errorf("stopping kapi: %v", err)
		}
		k.srv = nil
	}
}

// restart stops kapi and starts it again on the same data folder (and a
// new free port).
func (k *kapi) restart() {
	k.t.Helper()
	k.stop()
	k.start()
}

// kubectl runs the test's kubectl against kapi and returns its output;
// stdin feeds it.
func (k *kapi) kubectl(stdin string, args ...string) (string, error) {
	k.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := k.kubectlCommand(ctx, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// kubectlCommand is the test's kubectl with args on this kapi's
// kubeconfig, with a home and a discovery cache of its own.
func (k *kapi) kubectlCommand(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, bins.kubectl, append([]string{"--kubeconfig", k.srv.Kubeconfig}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+k.t.TempDir(), "KUBECACHEDIR="+k.t.TempDir())
	return cmd
}

// mustKubectl is kubectl that fails the test on a non-zero exit.
func (k *kapi) mustKubectl(stdin string, args ...string) string {
	k.t.Helper()
	out, err := k.kubectl(stdin, args...)
	if err != nil {
		k.t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// waitDefaultServiceAccount waits for ns's default ServiceAccount, which
// the serviceaccount loop makes a moment after kapi is ready (as
// kube-controller-manager does): a pod created before it is refused by
// the ServiceAccount admission plugin once its retries run out. kube's e2e
// framework waits for it the same way.
func (k *kapi) waitDefaultServiceAccount(t testing.TB, ns string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := k.client.CoreV1().ServiceAccounts(ns).Get(context.Background(), "default", metav1.GetOptions{})
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no default ServiceAccount in %s: %v", ns, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// withoutLoops turns off the named control loops: for tests of the API
// server's own behaviour that count every object in a namespace, where a
// loop's writes (kube-root-ca.crt in every namespace) would be counted.
func withoutLoops(names ...string) func(*server.Config) {
	return func(c *server.Config) {
		c.Controllers = []string{"*"}
		for _, n := range names {
			c.Controllers = append(c.Controllers, "-"+n)
		}
	}
}

// rootCAPublisher is the loop that puts kube-root-ca.crt in every
// namespace.
const rootCAPublisher = "root-ca-certificate-publisher-controller"

// runKapiBinary starts the kapi binary on data folder dir with args, kills
// it when the test ends, and waits for its first line of output, the
// start-up line printed once it serves; it returns the process, that
// line and a client of the admin kubeconfig it wrote.
func runKapiBinary(t *testing.T, dir string, args ...string) (*exec.Cmd, string, kubernetes.Interface) {
	t.Helper()
	cmd := exec.Command(bins.kapi, append([]string{"--data-dir", dir}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case line <- sc.Text():
			default:
			}
		}
	}()
	var first string
	select {
	case first = <-line:
	case <-time.After(60 * time.Second):
		t.Fatalf("kapi %v printed nothing", args)
	}
	rc, err := clientcmd.BuildConfigFromFlags("", filepath.Join(dir, "admin.kubeconfig"))
	if err != nil {
		t.Fatal(err)
	}
	rc.QPS, rc.Burst = -1, 0
	return cmd, first, kubernetes.NewForConfigOrDie(rc)
}

// waitRootCA waits until the root CA publisher, when it runs, has put
// kube-root-ca.crt in namespace ns, as a client waits for a new
// namespace's default service account before using it.
func waitRootCA(t testing.TB, k *kapi, ns string) {
	t.Helper()
	enabled := k.cfg.Controllers
	if enabled == nil {
		enabled = []string{"*"} // as the server reads it
	}
	if !(controllers.Loop{Name: rootCAPublisher}).Enabled(enabled) {
		return
	}
	if err := waitUntil(30*time.Second, func() bool {
		_, err := k.client.CoreV1().ConfigMaps(ns).Get(context.Background(), "kube-root-ca.crt", metav1.GetOptions{})
		return err == nil
	}); err != nil {
		t.Fatalf("no kube-root-ca.crt in namespace %s", ns)
	}
}
