package e2e

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"kapi/internal/server"
)

// TestWatchCacheSizes: --watch-cache-sizes=secrets#0,deployments.apps#0
// serves those two resources from etcd, without a watch cache, and every
// other from its cache (a size other than 0 means nothing, as in kube);
// reads and watches work either way. A bad value stops the start with
// kube's message.
func TestWatchCacheSizes(t *testing.T) {
	// A process of its own: the watch cache metrics are the process's,
	// and the tests' process runs many kapis.
	port := portOf(t, "https://"+freeAddr(t))
	_, _, client := runKapiBinary(t, t.TempDir(), "--secure-port", fmt.Sprint(port),
		"--watch-cache-sizes", "secrets#0,deployments.apps#0,configmaps#100")
	ctx := context.Background()
	for _, c := range []struct {
		labels string
		cached bool
	}{
		{`group="",resource="secrets"`, false}, {`group="apps",resource="deployments"`, false},
		{`group="",resource="configmaps"`, true}, {`group="apps",resource="replicasets"`, true},
	} {
		v, err := metric(ctx, client, "apiserver_watch_cache_initializations_total", c.labels)
		if err != nil {
			t.Fatal(err)
		}
		if cached := v > 0; cached != c.cached { // -1: no such series
			t.Errorf("%s: cached %v (%v), want %v", c.labels, cached, v, c.cached)
		}
	}
	secrets := client.CoreV1().Secrets("default")
	w, err := secrets.Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if _, err := secrets.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s1"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-w.ResultChan():
		if ev.Type != watch.Added {
			t.Fatalf("watch of an uncached resource: %v", ev)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the watch of an uncached resource saw nothing")
	}
	if l, err := secrets.List(ctx, metav1.ListOptions{ResourceVersion: "0"}); err != nil || len(l.Items) != 1 {
		t.Fatalf("list of an uncached resource: %v, %v", l, err)
	}

	for _, c := range []struct{ value, want string }{
		{"secrets", "invalid value of watch cache size: secrets"},
		{"secrets#none", "invalid size of watch cache size: secrets#none"},
		{"secrets#-1", "watch cache size cannot be negative: secrets#-1"},
	} {
		cfg := server.Defaults()
		cfg.DataDir, cfg.SecurePort, cfg.Out, cfg.WatchCacheSizes = t.TempDir(), 0, io.Discard, []string{c.value}
		srv, err := server.Start(ctx, cfg)
		if err == nil {
			srv.Stop()
			t.Fatalf("--watch-cache-sizes=%s: started", c.value)
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("--watch-cache-sizes=%s: %v, want %q", c.value, err, c.want)
		}
	}
}
