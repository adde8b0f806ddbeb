package e2e

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"kapi/internal/server"
)

// serviceCIDRReady is the e2e spec's isReady: the Ready condition is True.
func serviceCIDRReady(sc *networkingv1.ServiceCIDR) bool {
	return meta.IsStatusConditionTrue(sc.Status.Conditions, networkingv1.ServiceCIDRConditionReady)
}

// TestServiceCIDRs is what kube's "[sig-network] Service CIDRs should
// create Services and serve on different Service CIDRs" shows of the API
// server, and more: the default ServiceCIDR "kubernetes" made from
// --service-cluster-ip-range is Ready; a new ServiceCIDR becomes Ready
// with the finalizer of kube's service-cidr-controller; a Service takes
// a static cluster IP in it (its IPAddress object made), while one in no
// ServiceCIDR is refused with kube's error; with the default range full,
// cluster IPs come from the new ServiceCIDR; deleting the ServiceCIDR
// while Services hold its addresses leaves it terminating (Ready=False,
// reason Terminating, its addresses no longer handed out) until they go.
func TestServiceCIDRs(t *testing.T) {
	const defaultRange = "10.96.0.0/29" // .1 for the kubernetes Service, .2 to .6 free
	k := startKapi(t, func(c *server.Config) { c.ServiceClusterIPRange = defaultRange })
	ctx := context.Background()
	cidrs := k.client.NetworkingV1().ServiceCIDRs()
	svcs := k.client.CoreV1().Services("default")

	waitServiceCIDR := func(name, what string, cond func(*networkingv1.ServiceCIDR) bool) *networkingv1.ServiceCIDR {
		t.Helper()
		var sc *networkingv1.ServiceCIDR
		if err := waitUntil(30*time.Second, func() bool {
			var err error
			sc, err = cidrs.Get(ctx, name, metav1.GetOptions{})
			return err == nil && cond(sc)
		}); err != nil {
			t.Fatalf("ServiceCIDR %s not %s: %+v", name, what, sc)
		}
		return sc
	}
	def := waitServiceCIDR("kubernetes", "Ready", serviceCIDRReady)
	if !slices.Equal(def.Spec.CIDRs, []string{defaultRange}) {
		t.Fatalf("default ServiceCIDR: %v", def.Spec.CIDRs)
	}

	// The spec's ServiceCIDR, made after the default one.
	const second = "203.0.113.0/28"
	sc := &networkingv1.ServiceCIDR{ObjectMeta: metav1.ObjectMeta{Name: "test-svc-cidr"},
		Spec: networkingv1.ServiceCIDRSpec{CIDRs: []string{second}}}
	if _, err := cidrs.Create(ctx, sc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	sc = waitServiceCIDR(sc.Name, "Ready with its finalizer", func(sc *networkingv1.ServiceCIDR) bool {
		return serviceCIDRReady(sc) && slices.Contains(sc.Finalizers, "networking.k8s.io/service-cidr-finalizer")
	})

	// The spec's Service: NodePort, its cluster IP in the new range.
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "cidr1-test"}, Spec: corev1.ServiceSpec{
		Type: corev1.ServiceTypeNodePort, ClusterIP: "203.0.113.14", Selector: map[string]string{"app": "cidr1-test"},
		Ports: []corev1.ServicePort{{Port: 80, Name: "http", Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(9376)}}}}
	got, err := svcs.Create(ctx, svc, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("a Service on the new ServiceCIDR: %v", err)
	}
	if !slices.Equal(got.Spec.ClusterIPs, []string{"203.0.113.14"}) {
		t.Fatalf("clusterIPs %v", got.Spec.ClusterIPs)
	}
	addr, err := k.client.NetworkingV1().IPAddresses().Get(ctx, "203.0.113.14", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ref := addr.Spec.ParentRef; ref == nil || ref.Resource != "services" || ref.Namespace != "default" || ref.Name != "cidr1-test" {
		t.Fatalf("IPAddress 203.0.113.14 names %+v", addr.Spec.ParentRef)
	}

	// An address in no ServiceCIDR (the broadcast address of one is not
	// in it either): kube's MetaAllocator error.
	for _, ip := range []string{"192.0.2.10", "203.0.113.15"} {
		out := clusterIPService("outside")
		out.Spec.ClusterIP = ip
		_, err := svcs.Create(ctx, out, metav1.CreateOptions{})
		want := fmt.Sprintf("failed to allocate IP %s: the provided network does not match the current range", ip)
		if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.clusterIPs") || !strings.Contains(err.Error(), want) {
			t.Fatalf("cluster IP %s: %v", ip, err)
		}
	}

	// The default range full (static addresses), dynamic ones come from
	// the new ServiceCIDR.
	for i := 2; i <= 6; i++ {
		s := clusterIPService(fmt.Sprintf("static-%d", i))
		s.Spec.ClusterIP = fmt.Sprintf("10.96.0.%d", i)
		if _, err := svcs.Create(ctx, s, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	ips := createServices(t, k.client, "dynamic", 3)
	if len(ips) != 3 {
		t.Fatalf("%d of 3 services created with the default range full", len(ips))
	}
	checkDistinct(t, second, ips)

	// Deleting the ServiceCIDR while Services hold its addresses: it stays,
	// Ready=False (Terminating), and gives no more addresses.
	if err := cidrs.Delete(ctx, sc.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitServiceCIDR(sc.Name, "terminating", func(sc *networkingv1.ServiceCIDR) bool {
		c := meta.FindStatusCondition(sc.Status.Conditions, networkingv1.ServiceCIDRConditionReady)
		return sc.DeletionTimestamp != nil && c != nil && c.Status == metav1.ConditionFalse && c.Reason == networkingv1.ServiceCIDRReasonTerminating
	})
	late := clusterIPService("late")
	late.Spec.ClusterIP = "203.0.113.3"
	if _, err := svcs.Create(ctx, late, metav1.CreateOptions{}); !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "does not match the current range") {
		t.Fatalf("an address of a ServiceCIDR being deleted: %v", err)
	}
	if _, err := svcs.Create(ctx, clusterIPService("none-left"), metav1.CreateOptions{}); !apierrors.IsInternalError(err) || !strings.Contains(err.Error(), "range is full") {
		t.Fatalf("a dynamic address with only a ServiceCIDR being deleted to give it: %v", err)
	}
	time.Sleep(time.Second)
	if _, err := cidrs.Get(ctx, sc.Name, metav1.GetOptions{}); err != nil {
		t.Fatalf("the ServiceCIDR went while Services hold its addresses: %v", err)
	}

	// The Services gone, so is the ServiceCIDR (after kube's grace period
	// of ten seconds from its deletion).
	for _, name := range append([]string{"cidr1-test"}, slices.Collect(maps.Keys(ips))...) {
		if err := svcs.Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := waitUntil(60*time.Second, func() bool {
		_, err := cidrs.Get(ctx, sc.Name, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	}); err != nil {
		t.Fatal("the ServiceCIDR stayed after its Services went")
	}
	// The default one stays Ready and holds the kubernetes Service.
	waitServiceCIDR("kubernetes", "Ready", serviceCIDRReady)
	kube, err := svcs.Get(ctx, "kubernetes", metav1.GetOptions{})
	if err != nil || !netip.MustParsePrefix(defaultRange).Contains(netip.MustParseAddr(kube.Spec.ClusterIP)) {
		t.Fatalf("kubernetes Service: %v %+v", err, kube)
	}
}
