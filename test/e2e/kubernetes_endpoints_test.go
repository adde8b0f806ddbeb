package e2e

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"kapi/internal/server"
)

// kubernetesEndpoints reads the kubernetes Service's Endpoints and
// EndpointSlices as sorted "ip:port" lists.
func kubernetesEndpoints(ctx context.Context, c kubernetes.Interface) (eps, slices_ []string, err error) {
	ep, err := c.CoreV1().Endpoints("default").Get(ctx, "kubernetes", metav1.GetOptions{})
	if err != nil {
		return nil, nil, err
	}
	for _, s := range ep.Subsets {
		for _, a := range s.Addresses {
			for _, p := range s.Ports {
				eps = append(eps, net.JoinHostPort(a.IP, strconv.Itoa(int(p.Port))))
			}
		}
	}
	list, err := c.DiscoveryV1().EndpointSlices("default").List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=kubernetes"})
	if err != nil {
		return nil, nil, err
	}
	for _, s := range list.Items {
		for _, e := range s.Endpoints {
			for _, a := range e.Addresses {
				for _, p := range s.Ports {
					slices_ = append(slices_, net.JoinHostPort(a, strconv.Itoa(int(*p.Port))))
				}
			}
		}
	}
	slices.Sort(eps)
	slices.Sort(slices_)
	return eps, slices_, nil
}

// waitKubernetesEndpoints waits until both the Endpoints and the
// EndpointSlices list exactly want.
func waitKubernetesEndpoints(t *testing.T, c kubernetes.Interface, want []string, within time.Duration) {
	t.Helper()
	slices.Sort(want)
	var eps, sl []string
	var err error
	if waitUntil(within, func() bool {
		eps, sl, err = kubernetesEndpoints(context.Background(), c)
		return err == nil && slices.Equal(eps, want) && slices.Equal(sl, want)
	}) != nil {
		t.Fatalf("kubernetes endpoints: Endpoints %v, EndpointSlices %v (err %v); want %v", eps, sl, err, want)
	}
}

func replicaPort(r *replica) string {
	i := slices.Index(r.cmd.Args, "--secure-port")
	return r.cmd.Args[i+1]
}

// TestKubernetesEndpointsReplicas: three replicas on one etcd each keep a
// lease; the kubernetes Service's Endpoints and EndpointSlices list the
// three (127.0.0.1 and each one's port); a replica killed with -9 leaves
// once its lease expires (15 s, then a reconcile within 10 s), one
// stopped gracefully leaves at once.
func TestKubernetesEndpointsReplicas(t *testing.T) {
	etcd := startEtcd(t)
	var rs []*replica
	var want []string
	for i := 0; i < 3; i++ {
		r := startReplica(t, fmt.Sprint("r", i), etcd)
		rs = append(rs, r)
		want = append(want, "127.0.0.1:"+replicaPort(r))
	}
	for _, r := range rs {
		waitKubernetesEndpoints(t, r.client, slices.Clone(want), 60*time.Second)
	}

	start := time.Now()
	rs[2].cmd.Process.Kill()
	rs[2].cmd.Wait()
	waitKubernetesEndpoints(t, rs[0].client, slices.Clone(want[:2]), 90*time.Second)
	t.Logf("the killed replica left the endpoints after %s", time.Since(start).Round(100*time.Millisecond))

	rs[1].cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- rs[1].cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(90 * time.Second):
		t.Fatal("the replica did not stop on SIGTERM")
	}
	// Its lease went on its way out, before it exited.
	c := etcdClient(t, etcd)
	leases, err := c.Get(context.Background(), "/registry/masterleases/", clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, kv := range leases.Kvs {
		keys = append(keys, string(kv.Key))
	}
	if !slices.Equal(keys, []string{"/registry/masterleases/" + want[0]}) {
		t.Errorf("master leases after a graceful stop: %v, want only %s's", keys, want[0])
	}
	waitKubernetesEndpoints(t, rs[0].client, slices.Clone(want[:1]), 60*time.Second)
}

// TestKubernetesEndpointsRestart: a kapi restarted on a new port is in
// the endpoints on its new port only.
func TestKubernetesEndpointsRestart(t *testing.T) {
	k := startKapi(t)
	waitKubernetesEndpoints(t, k.client, []string{fmt.Sprintf("127.0.0.1:%d", portOf(t, k.srv.URL))}, 30*time.Second)
	k.restart()
	waitKubernetesEndpoints(t, k.client, []string{fmt.Sprintf("127.0.0.1:%d", portOf(t, k.srv.URL))}, 30*time.Second)
}

// TestKubernetesServiceFlags: --kubernetes-service-node-port makes the
// kubernetes Service a NodePort one on that port (allocated: no other
// Service gets it), and --endpoint-reconciler-type=none leaves its
// Endpoints and EndpointSlices to someone else, as in kube; a restart
// without the node port makes it a ClusterIP Service again.
func TestKubernetesServiceFlags(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	k := startKapi(t, func(c *server.Config) {
		c.DataDir, c.KubernetesServiceNodePort, c.EndpointReconcilerType = dir, 30443, "none"
	})
	ctx := context.Background()
	svc, err := k.client.CoreV1().Services("default").Get(ctx, "kubernetes", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if svc.Spec.Type != corev1.ServiceTypeNodePort || len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].NodePort != 30443 || svc.Spec.Ports[0].Port != 443 {
		t.Fatalf("the kubernetes Service: %+v", svc.Spec)
	}
	_, err = k.client.CoreV1().Services("default").Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "taker"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Ports: []corev1.ServicePort{{Port: 80, NodePort: 30443}}}}, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "provided port is already allocated") {
		t.Errorf("another Service on the kubernetes Service's node port: %v", err)
	}
	if _, err := k.client.CoreV1().Endpoints("default").Get(ctx, "kubernetes", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the kubernetes Endpoints with the reconciler none: %v", err)
	}
	if err := k.srv.Stop(); err != nil {
		t.Fatal(err)
	}
	k = startKapi(t, func(c *server.Config) { c.DataDir = dir })
	svc, err = k.client.CoreV1().Services("default").Get(ctx, "kubernetes", metav1.GetOptions{})
	if err != nil || svc.Spec.Type != corev1.ServiceTypeClusterIP || svc.Spec.Ports[0].NodePort != 0 {
		t.Fatalf("after a restart without the node port: %+v %v", svc.Spec, err)
	}
	if _, _, err := kubernetesEndpoints(ctx, k.client); err != nil {
		t.Errorf("the kubernetes endpoints with the lease reconciler: %v", err)
	}
}
