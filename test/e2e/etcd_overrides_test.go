package e2e

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"kapi/internal/server"
)

// TestEtcdServersOverrides: --etcd-servers-overrides=/events#<etcd B>
// keeps Events (both groups' views of them) in etcd B and everything else
// in the main etcd; Events are served, listed and watched from there;
// kube's health checks name the override; a bad override stops the start
// with kube's message.
func TestEtcdServersOverrides(t *testing.T) {
	ctx := context.Background()
	mainURL, eventsURL := startEtcd(t), startEtcd(t)
	k := startKapi(t, func(c *server.Config) {
		c.EtcdServers = []string{mainURL}
		c.EtcdServersOverrides = []string{"/events#" + eventsURL}
	})
	w, err := k.client.CoreV1().Events("default").Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=e1"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	now := metav1.Now()
	if _, err := k.client.CoreV1().Events("default").Create(ctx, &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "e1"},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "p"}, Reason: "Tested", Message: "in etcd B",
		FirstTimestamp: now, LastTimestamp: now, Count: 1, Type: "Normal", Source: corev1.EventSource{Component: "test"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := k.client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c1"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-w.ResultChan():
		if ev.Type != watch.Added {
			t.Fatalf("watch of the overridden Events: %v", ev)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the watch of the overridden Events saw nothing")
	}
	if e, err := k.client.EventsV1().Events("default").Get(ctx, "e1", metav1.GetOptions{}); err != nil || e.Note != "in etcd B" {
		t.Fatalf("the Event through events.k8s.io: %v %v", e, err)
	}
	if _, err := k.client.EventsV1().Events("default").Create(ctx, &eventsv1.Event{ObjectMeta: metav1.ObjectMeta{Name: "e2"},
		EventTime: metav1.NowMicro(), ReportingController: "kapi.test/c", ReportingInstance: "i", Action: "Test", Reason: "Tested",
		Regarding: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "p"}, Type: "Normal"}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	keys := func(url, prefix string) []string {
		t.Helper()
		c, err := clientv3.New(clientv3.Config{Endpoints: []string{url}, DialTimeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		resp, err := c.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithKeysOnly())
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, kv := range resp.Kvs {
			out = append(out, string(kv.Key))
		}
		return out
	}
	if got := strings.Join(keys(eventsURL, "/registry/"), ","); got != "/registry/events/default/e1,/registry/events/default/e2" {
		t.Errorf("etcd B holds %s, want the two Events only", got)
	}
	if got := keys(mainURL, "/registry/events/"); len(got) != 0 {
		t.Errorf("the main etcd holds Events: %v", got)
	}
	if got := keys(mainURL, "/registry/configmaps/default/c1"); len(got) != 1 {
		t.Errorf("the ConfigMap is not in the main etcd: %v", got)
	}
	raw, err := k.client.CoreV1().RESTClient().Get().AbsPath("/readyz").Param("verbose", "").DoRaw(ctx)
	if err != nil || !strings.Contains(string(raw), "[+]etcd-override-0 ok") || !strings.Contains(string(raw), "[+]etcd-override-readiness-0 ok") {
		t.Errorf("/readyz?verbose: %s %v", raw, err)
	}

	for _, bad := range []string{"events#" + eventsURL, "/events", "/events#" + eventsURL + ";"} {
		cfg := server.Defaults()
		cfg.DataDir, cfg.SecurePort, cfg.Out = t.TempDir(), 0, io.Discard
		cfg.EtcdServers, cfg.EtcdServersOverrides = []string{mainURL}, []string{bad}
		if srv, err := server.Start(ctx, cfg); err == nil {
			srv.Stop()
			t.Fatalf("--etcd-servers-overrides=%s: started", bad)
		} else if !strings.Contains(err.Error(), "--etcd-servers-overrides invalid, must be of format: group/resource#servers, where servers are URLs, semicolon separated") {
			t.Errorf("--etcd-servers-overrides=%s: %v", bad, err)
		}
	}
}
