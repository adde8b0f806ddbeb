package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"kapi/test/ports"
)

// TestThreeReplicasScript: the README's hack/three-replicas.sh starts a
// three-member etcd cluster and three kapi replicas that joined with one
// token; an object written through one replica is read through the
// others, each replica's admin is an admin of the others, and SIGTERM to
// the script stops every process it started.
func TestThreeReplicasScript(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	dir := t.TempDir()
	base := freePortRange(t, 23)
	cmd := exec.Command("bash", "../../hack/three-replicas.sh")
	cmd.Env = append(os.Environ(), "DIR="+dir, fmt.Sprint("BASE_PORT=", base), "KAPI_BIN="+bins.kapi, "ETCD_BIN="+bins.etcd)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	})
	var seen []string
	deadline := time.After(2 * time.Minute)
wait:
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("the script ended before it was ready:\n%s", strings.Join(seen, "\n"))
			}
			seen = append(seen, l)
			if strings.HasPrefix(l, "ready;") {
				break wait
			}
		case <-deadline:
			t.Fatalf("the script was not ready in 2 minutes:\n%s", strings.Join(seen, "\n"))
		}
	}

	ctx := context.Background()
	var clients []kubernetes.Interface
	for i := range 3 {
		rc, err := clientcmd.BuildConfigFromFlags("", filepath.Join(dir, fmt.Sprintf("kapi%d", i), "admin.kubeconfig"))
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("https://127.0.0.1:%d", base+i); rc.Host != want {
			t.Errorf("replica %d's kubeconfig names %s, want %s", i, rc.Host, want)
		}
		clients = append(clients, kubernetes.NewForConfigOrDie(rc))
		// Replica i's admin certificate on replica (i+1)%3.
		rc.Host = fmt.Sprintf("https://127.0.0.1:%d", base+(i+1)%3)
		if u := whoami(t, kubernetes.NewForConfigOrDie(rc)); !strings.Contains(strings.Join(u.Groups, ","), "system:masters") {
			t.Errorf("replica %d's admin on replica %d: %+v", i, (i+1)%3, u)
		}
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "through-zero"}, Data: map[string]string{"k": "v"}}
	made, err := clients[0].CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < 3; i++ {
		got, err := clients[i].CoreV1().ConfigMaps("default").Get(ctx, "through-zero", metav1.GetOptions{})
		if err != nil || got.UID != made.UID {
			t.Errorf("replica %d: %v %v", i, got, err)
		}
	}

	// Each replica keeps an identity Lease of its own (the script names
	// them: one host).
	want := []string{"apiserver-kapi0", "apiserver-kapi1", "apiserver-kapi2"}
	var identities []string
	if err := waitUntil(30*time.Second, func() bool {
		list, err := clients[0].CoordinationV1().Leases("kube-system").List(ctx, metav1.ListOptions{LabelSelector: "apiserver.kubernetes.io/identity=kube-apiserver"})
		if err != nil {
			return false
		}
		identities = nil
		for _, l := range list.Items {
			identities = append(identities, l.Name)
		}
		slices.Sort(identities)
		return slices.Equal(identities, want)
	}); err != nil {
		t.Errorf("identity leases %v, want %v", identities, want)
	}

	syscall.Kill(cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(90 * time.Second):
		t.Fatal("the script did not stop on SIGTERM")
	}
	if err := waitUntil(10*time.Second, func() bool { return !anyProcessMentions(dir) }); err != nil {
		t.Errorf("a process of the cluster outlived the script")
	}
}

// freePortRange finds n consecutive free loopback ports, below the
// ephemeral range (ports.Range).
func freePortRange(t *testing.T, n int) int {
	t.Helper()
	base, err := ports.Range(n)
	if err != nil {
		t.Fatal(err)
	}
	return base
}

// anyProcessMentions reports whether a running process has s in its
// command line.
func anyProcessMentions(s string) bool {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(string(b), s) {
			return true
		}
	}
	return false
}
