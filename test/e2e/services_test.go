package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"kapi/internal/server"
)

func clusterIPService(name string) *corev1.Service {
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": name}, Ports: []corev1.ServicePort{{Port: 80}}}}
}

// createServices creates n services named prefix-i concurrently and
// returns their cluster IPs by name.
func createServices(t *testing.T, c kubernetes.Interface, prefix string, n int) map[string]string {
	t.Helper()
	var mu sync.Mutex
	ips := map[string]string{}
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			name := fmt.Sprintf("%s-%d", prefix, i)
			svc, err := c.CoreV1().Services("default").Create(context.Background(), clusterIPService(name), metav1.CreateOptions{})
			if err != nil {
				t.Errorf("creating %s: %v", name, err)
				return
			}
			mu.Lock()
			ips[name] = svc.Spec.ClusterIP
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	return ips
}

// checkDistinct fails on an IP outside cidr or handed out twice.
func checkDistinct(t *testing.T, cidr string, ips map[string]string) {
	t.Helper()
	p := netip.MustParsePrefix(cidr)
	seen := map[string]string{}
	for name, ip := range ips {
		addr, err := netip.ParseAddr(ip)
		if err != nil || !p.Contains(addr) {
			t.Errorf("%s got %q, not in %s", name, ip, cidr)
		}
		if other, ok := seen[ip]; ok {
			t.Errorf("%s and %s both got %s", name, other, ip)
		}
		seen[ip] = name
	}
}

// TestServiceClusterIPs: 200 concurrent creates in a range with 254
// addresses get distinct IPs from it; deleting them frees the range for
// 200 more; requested, headless and ExternalName services; the
// kubernetes Service.
func TestServiceClusterIPs(t *testing.T) {
	const cidr = "10.100.0.0/24"
	k := startKapi(t, func(c *server.Config) { c.ServiceClusterIPRange = cidr })
	ctx := context.Background()
	svcs := k.client.CoreV1().Services("default")

	kube, err := svcs.Get(ctx, "kubernetes", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if kube.Spec.ClusterIP != "10.100.0.1" || kube.Spec.Ports[0].Port != 443 || kube.Spec.Ports[0].TargetPort.IntValue() != portOf(t, k.srv.URL) {
		t.Fatalf("kubernetes Service: %+v", kube.Spec)
	}
	if _, err := k.client.CoreV1().Endpoints("default").Get(ctx, "kubernetes", metav1.GetOptions{}); err != nil {
		t.Fatalf("kubernetes Endpoints: %v", err)
	}

	ips := createServices(t, k.client, "many", 200)
	if len(ips) != 200 {
		t.Fatalf("%d of 200 services created", len(ips))
	}
	checkDistinct(t, cidr, ips)
	for _, ip := range ips {
		if ip == "10.100.0.1" {
			t.Fatal("a service got the kubernetes Service's address")
		}
	}
	addrs, err := k.client.NetworkingV1().IPAddresses().List(ctx, metav1.ListOptions{})
	if err != nil || len(addrs.Items) != 201 {
		t.Fatalf("IPAddress objects: %d, %v (want 201)", len(addrs.Items), err)
	}

	// A requested address: honoured when free, 422 when taken. The 200
	// services hold 200 of the range's 253 other addresses at random, so
	// the test looks for one they left free.
	taken := map[string]bool{"10.100.0.1": true}
	for _, ip := range ips {
		taken[ip] = true
	}
	want := ""
	for a := netip.MustParseAddr("10.100.0.254"); want == ""; a = a.Prev() {
		if !taken[a.String()] {
			want = a.String()
		}
	}
	req := clusterIPService("requested")
	req.Spec.ClusterIP = want
	got, err := svcs.Create(ctx, req, metav1.CreateOptions{})
	if err != nil || got.Spec.ClusterIP != want || len(got.Spec.ClusterIPs) != 1 || got.Spec.ClusterIPs[0] != want {
		t.Fatalf("requested %s: %v %+v", want, err, got)
	}
	again := clusterIPService("again")
	again.Spec.ClusterIP = want
	_, err = svcs.Create(ctx, again, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.clusterIPs") || !strings.Contains(err.Error(), "provided IP is already allocated") {
		t.Fatalf("a taken address: %v", err)
	}
	out := clusterIPService("outside")
	out.Spec.ClusterIP = "10.200.0.5"
	if _, err := svcs.Create(ctx, out, metav1.CreateOptions{}); !apierrors.IsInvalid(err) {
		t.Fatalf("an address out of range: %v", err)
	}
	// clusterIP is immutable.
	got.Spec.ClusterIP, got.Spec.ClusterIPs = "10.100.0.3", nil
	if _, err := svcs.Update(ctx, got, metav1.UpdateOptions{}); !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.clusterIPs[0]") {
		t.Fatalf("changing clusterIP: %v", err)
	}

	headless := clusterIPService("headless")
	headless.Spec.ClusterIP = corev1.ClusterIPNone
	headless.Spec.Ports = nil
	if h, err := svcs.Create(ctx, headless, metav1.CreateOptions{}); err != nil || h.Spec.ClusterIP != "None" {
		t.Fatalf("headless: %v %+v", err, h)
	}
	ext := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "ext"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "example.com"}}
	if e, err := svcs.Create(ctx, ext, metav1.CreateOptions{}); err != nil || e.Spec.ClusterIP != "" {
		t.Fatalf("ExternalName: %v %+v", err, e)
	}

	// Validation as kube-apiserver's.
	for name, bad := range map[string]struct {
		svc  *corev1.Service
		path string
	}{
		"no ports":   {&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "noports"}}, "spec.ports"},
		"bad port":   {&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "badport"}, Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 70000}}}}, "spec.ports[0].port"},
		"no names":   {&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "nonames"}, Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}, {Port: 81}}}}, "spec.ports[0].name"},
		"bad type":   {&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "badtype"}, Spec: corev1.ServiceSpec{Type: "Nope", Ports: []corev1.ServicePort{{Port: 80}}}}, "spec.type"},
		"bad proto":  {&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "badproto"}, Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80, Protocol: "ICMP"}}}}, "spec.ports[0].protocol"},
		"bad labels": {&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "badsel"}, Spec: corev1.ServiceSpec{Selector: map[string]string{"a b": "c"}, Ports: []corev1.ServicePort{{Port: 80}}}}, "spec.selector"},
	} {
		_, err := svcs.Create(ctx, bad.svc, metav1.CreateOptions{})
		if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), bad.path) {
			t.Errorf("%s: %v, want 422 on %s", name, err, bad.path)
		}
	}

	// Deleting frees the addresses: 200 more fit into the range again.
	for name := range ips {
		if err := svcs.Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	addrs, err = k.client.NetworkingV1().IPAddresses().List(ctx, metav1.ListOptions{})
	if err != nil || len(addrs.Items) != 2 {
		t.Fatalf("IPAddress objects after the deletes: %d, %v (want 2)", len(addrs.Items), err)
	}
	ips = createServices(t, k.client, "more", 200)
	if len(ips) != 200 {
		t.Fatalf("%d of 200 services created after the deletes", len(ips))
	}
	checkDistinct(t, cidr, ips)
}

// TestServiceNodePorts: NodePort services get node ports from the range,
// a requested one when free, and give them back when deleted or turned
// into ClusterIP services.
func TestServiceNodePorts(t *testing.T) {
	k := startKapi(t, func(c *server.Config) { c.ServiceNodePortRange = "31000-31009" })
	ctx := context.Background()
	svcs := k.client.CoreV1().Services("default")
	np := func(name string, ports ...int32) *corev1.Service {
		s := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort}}
		for i, p := range ports {
			s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: fmt.Sprint("p", i), Port: 80 + int32(i), NodePort: p})
		}
		return s
	}
	a, err := svcs.Create(ctx, np("a", 0, 31005), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p := a.Spec.Ports[0].NodePort; p < 31000 || p > 31009 || p == 31005 || a.Spec.Ports[1].NodePort != 31005 {
		t.Fatalf("node ports %d %d", p, a.Spec.Ports[1].NodePort)
	}
	if a.Spec.ClusterIP == "" || a.Spec.ExternalTrafficPolicy != corev1.ServiceExternalTrafficPolicyCluster {
		t.Fatalf("NodePort service spec: %+v", a.Spec)
	}
	_, err = svcs.Create(ctx, np("b", 31005), metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), `Service "b" is invalid`) || !strings.Contains(err.Error(), "spec.ports[0].nodePort") || !strings.Contains(err.Error(), "provided port is already allocated") {
		t.Fatalf("a taken node port: %v", err)
	}
	_, err = svcs.Create(ctx, np("c", 32000), metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "31000-31009") {
		t.Fatalf("a node port out of range: %v", err)
	}
	// The failed creates took nothing: eight ports are left.
	for i := 0; i < 8; i++ {
		if _, err := svcs.Create(ctx, np(fmt.Sprint("fill-", i), 0), metav1.CreateOptions{}); err != nil {
			t.Fatalf("port %d of 8: %v", i, err)
		}
	}
	if _, err := svcs.Create(ctx, np("full", 0), metav1.CreateOptions{}); err == nil {
		t.Fatal("a service got a node port from a full range")
	}
	// Turning a into a ClusterIP service frees its ports.
	a, _ = svcs.Get(ctx, "a", metav1.GetOptions{})
	a.Spec.Type = corev1.ServiceTypeClusterIP
	if _, err := svcs.Update(ctx, a, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if s, err := svcs.Create(ctx, np("b", 31005), metav1.CreateOptions{}); err != nil || s.Spec.Ports[0].NodePort != 31005 {
		t.Fatalf("31005 after its release: %v", err)
	}
	if err := svcs.Delete(ctx, "fill-0", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := svcs.Create(ctx, np("after-delete", 0), metav1.CreateOptions{}); err != nil {
		t.Fatalf("a node port after a delete: %v", err)
	}
}

// TestServiceNodePortsRequestedFirst: in a range of two ports, a service
// that names one port and draws another always draws the port it did not
// name (the named one is taken first), whichever entry or the health
// check names it; and a port number's TCP and UDP entries share one node
// port, as in kube-apiserver.
func TestServiceNodePortsRequestedFirst(t *testing.T) {
	k := startKapi(t, func(c *server.Config) { c.ServiceNodePortRange = "31000-31001" })
	ctx := context.Background()
	svcs := k.client.CoreV1().Services("default")
	for i := 0; i < 20; i++ {
		s := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "two"}, Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Ports: []corev1.ServicePort{
			{Name: "drawn", Port: 80}, {Name: "named", Port: 81, NodePort: 31001}}}}
		if i%2 == 1 {
			s.Spec.Type = corev1.ServiceTypeLoadBalancer
			s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
			s.Spec.Ports = s.Spec.Ports[:1]
			s.Spec.HealthCheckNodePort = 31001
		}
		got, err := svcs.Create(ctx, s, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("create %d: %v", i, err)
		}
		if p := got.Spec.Ports[0].NodePort; p != 31000 {
			t.Fatalf("create %d: the drawn node port is %d, want 31000 (31001 is named): %+v", i, p, got.Spec)
		}
		if err := svcs.Delete(ctx, "two", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	dns := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "dns"}, Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Ports: []corev1.ServicePort{
		{Name: "tcp", Port: 53, Protocol: corev1.ProtocolTCP}, {Name: "udp", Port: 53, Protocol: corev1.ProtocolUDP}}}}
	got, err := svcs.Create(ctx, dns, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if a, b := got.Spec.Ports[0].NodePort, got.Spec.Ports[1].NodePort; a == 0 || a != b {
		t.Fatalf("TCP and UDP 53 got node ports %d and %d, want one shared", a, b)
	}
	// One port of two is taken: another service still gets the other.
	if _, err := svcs.Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "other"}, Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort,
		Ports: []corev1.ServicePort{{Port: 80}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("the second port after a shared one: %v", err)
	}
}

// TestServiceIPsAcrossReplicas: two kapi replicas on one etcd allocate
// concurrently and never hand out the same address.
func TestServiceIPsAcrossReplicas(t *testing.T) {
	url := startEtcd(t)
	const cidr = "10.101.0.0/24"
	opts := func(c *server.Config) { c.EtcdServers = []string{url}; c.ServiceClusterIPRange = cidr }
	k1 := startKapi(t, opts)
	k2 := startKapi(t, opts)
	all := map[string]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, k := range []*kapi{k1, k2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got := createServices(t, k.client, fmt.Sprint("r", i), 100)
			mu.Lock()
			defer mu.Unlock()
			for n, ip := range got {
				all[n] = ip
			}
		}()
	}
	wg.Wait()
	if len(all) != 200 {
		t.Fatalf("%d of 200 services created", len(all))
	}
	all["kubernetes"] = "10.101.0.1"
	checkDistinct(t, cidr, all)
}
