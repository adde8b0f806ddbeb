package e2e

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"kapi/internal/server"
	"kapi/test/ports"
)

// startEtcd runs the test's etcd binary as a separate process on free
// loopback ports and stops it when the test ends.
func startEtcd(t *testing.T) string { return startEtcdWith(t, nil) }

// startEtcdWith is startEtcd serving clients over TLS when files is set
// (its certificate, key and the CA of the client certificates it asks
// for), as kubeadm's etcd does.
func startEtcdWith(t *testing.T, files *etcdTLSFiles) string {
	t.Helper()
	client, peer := freeAddr(t), freeAddr(t)
	scheme := "http://"
	var extra []string
	var tc *tls.Config
	if files != nil {
		scheme = "https://"
		extra = []string{"--cert-file", files.serverCert, "--key-file", files.serverKey,
			"--trusted-ca-file", files.ca, "--client-cert-auth"}
		tc = files.clientTLS(t)
	}
	cmd := exec.Command(bins.etcd, append([]string{
		"--name", "e2e", "--data-dir", t.TempDir(),
		"--listen-client-urls", scheme + client, "--advertise-client-urls", scheme + client,
		"--listen-peer-urls", "http://" + peer, "--initial-advertise-peer-urls", "http://" + peer,
		"--initial-cluster", "e2e=http://" + peer, "--log-level", "error"}, extra...)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	url := scheme + client
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{url}, DialTimeout: 5 * time.Second, Logger: zap.NewNop(), TLS: tc})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := waitUntil(30*time.Second, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := c.Get(ctx, "ping")
		return err == nil
	}); err != nil {
		t.Fatalf("etcd at %s did not come up", url)
	}
	return url
}

// etcdClient is a client of the etcd at url, closed when the test ends.
func etcdClient(t *testing.T, url string) *clientv3.Client {
	t.Helper()
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{url}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// freeAddr is a free loopback address for a process the test starts,
// below the ephemeral range (ports.Free).
func freeAddr(t *testing.T) string {
	t.Helper()
	p, err := ports.Free()
	if err != nil {
		t.Fatal(err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
}

// TestExternalEtcd: kapi on a separate etcd process keeps the key layout
// and the semantics, and two kapi replicas on one etcd see each other's
// writes.
func TestExternalEtcd(t *testing.T) {
	url := startEtcd(t)
	external := func(c *server.Config) { c.EtcdServers = []string{url} }
	k := startKapi(t, external, withoutLoops(rootCAPublisher), func(c *server.Config) { c.EtcdPrefix = "/kapi-test" })
	configMapLifecycle(t, k)

	ctx := context.Background()
	if _, err := k.client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "layout"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	resp, err := k.srv.Etcd().Get(ctx, "/kapi-test/configmaps/default/layout")
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("key /kapi-test/configmaps/default/layout: %v %v", err, resp)
	}
	if v := resp.Kvs[0].Value; !strings.HasPrefix(string(v), "k8s\x00") {
		t.Fatalf("stored value is not kube's protobuf envelope: %q", v[:10])
	}
	if fmt.Sprint(resp.Kvs[0].ModRevision) == "" {
		t.Fatal("no revision")
	}
	// kube's metrics of its etcd client's gRPC calls (the process's: more
	// than this kapi's).
	for _, series := range []string{
		`grpc_client_handled_total{grpc_code="OK",grpc_method="Range",grpc_service="etcdserverpb.KV",grpc_type="unary"}`,
		`grpc_client_started_total{grpc_method="Txn",grpc_service="etcdserverpb.KV",grpc_type="unary"}`,
		`grpc_client_msg_received_total{grpc_method="Watch",grpc_service="etcdserverpb.Watch",grpc_type="bidi_stream"}`,
	} {
		if v, err := metricSeries(ctx, k.client, series); err != nil || v < 1 {
			t.Errorf("%s = %v (%v)", series, v, err)
		}
	}

	// A second replica on the same etcd sees the same objects and watches
	// the first one's writes.
	k2 := startKapi(t, external, withoutLoops(rootCAPublisher), func(c *server.Config) { c.EtcdPrefix = "/kapi-test" })
	if _, err := k2.client.CoreV1().ConfigMaps("default").Get(ctx, "layout", metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}
	// The watch starts from a list of replica two, as a client's would:
	// the object's own resourceVersion may be older than replica two's
	// watch cache, which started after the loops of both replicas had
	// written (410 Expired, as kube-apiserver answers then).
	list, err := k2.client.CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := k2.client.CoreV1().ConfigMaps("default").Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if _, err := k.client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "from-one"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-w.ResultChan():
		if cm, ok := ev.Object.(*corev1.ConfigMap); !ok || cm.Name != "from-one" {
			t.Fatalf("replica two saw %s %#v", ev.Type, ev.Object)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("replica two did not see replica one's write")
	}
}
