package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// TestBinarySIGTERM: the kapi binary prints how to use it, serves, and on
// SIGTERM ends open watches cleanly and exits 0; a restart on the same
// data folder keeps the objects.
func TestBinarySIGTERM(t *testing.T) {
	dir := t.TempDir()
	port := portOf(t, "https://"+freeAddr(t))
	run := func() (*exec.Cmd, kubernetes.Interface) {
		cmd, first, client := runKapiBinary(t, dir, "--secure-port", fmt.Sprint(port))
		want := fmt.Sprintf("kubectl --kubeconfig %s/admin.kubeconfig get namespaces", dir)
		if !strings.Contains(first, want) {
			t.Fatalf("start line %q lacks %q", first, want)
		}
		return cmd, client
	}
	cmd, c := run()
	ctx := context.Background()
	if _, err := c.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "kept"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	w, err := c.CoreV1().ConfigMaps("default").Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	<-w.ResultChan() // the ADDED event of "kept": the watch is open
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case _, ok := <-w.ResultChan():
		for ok {
			_, ok = <-w.ResultChan()
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the watch stayed open after SIGTERM")
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("kapi exited with %v after SIGTERM", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("kapi did not exit after SIGTERM")
	}

	_, c = run()
	if _, err := c.CoreV1().ConfigMaps("default").Get(ctx, "kept", metav1.GetOptions{}); err != nil {
		t.Fatalf("after restart: %v", err)
	}
}
