package controllers

import (
	"context"
	"net/netip"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"

	"kapi/internal/registry"
	"kapi/internal/registry/core/allocation"
)

// fixedSource is a store whose objects never change.
type fixedSource struct {
	list runtime.Object
	objs []runtime.Object
}

func (f fixedSource) ListShared(context.Context, string, *metav1.ListOptions) (*registry.SharedList, error) {
	return &registry.SharedList{List: f.list, Items: f.objs}, nil
}

func (f fixedSource) WatchShared(context.Context, string, *metav1.ListOptions) (watch.Interface, error) {
	return watch.NewFake(), nil
}

// fixedInformer is a synced informer of objs.
func fixedInformer(t *testing.T, list runtime.Object, objs ...runtime.Object) *Informer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	inf := NewInformer(fixedSource{list: list, objs: objs})
	go inf.Run(ctx)
	<-inf.Synced()
	return inf
}

func allocated(ip string) *networkingv1.IPAddress {
	return &networkingv1.IPAddress{ObjectMeta: metav1.ObjectMeta{Name: ip, Labels: map[string]string{
		networkingv1.LabelManagedBy: ipAllocatorName}}}
}

func cidrObject(name string, cidrs ...string) *networkingv1.ServiceCIDR {
	return &networkingv1.ServiceCIDR{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: networkingv1.ServiceCIDRSpec{CIDRs: cidrs}}
}

// TestCanDeleteCIDR: as kube's canDeleteCIDR, a ServiceCIDR may go when
// another holds its whole range, or when no address of the allocator
// lies in it alone; the network and broadcast addresses, and addresses
// another component made, do not hold it.
func TestCanDeleteCIDR(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cidrs []runtime.Object
		ips   []runtime.Object
		want  bool
	}{
		{name: "no addresses", cidrs: []runtime.Object{cidrObject("x", "203.0.113.0/28")}, want: true},
		{name: "an address in it alone", cidrs: []runtime.Object{cidrObject("x", "203.0.113.0/28"), cidrObject("kubernetes", "10.96.0.0/12")},
			ips: []runtime.Object{allocated("203.0.113.14"), allocated("10.96.0.1")}},
		{name: "an address also in an overlapping one", cidrs: []runtime.Object{cidrObject("x", "203.0.113.0/28"), cidrObject("y", "203.0.113.8/29")},
			ips: []runtime.Object{allocated("203.0.113.9")}, want: true},
		{name: "held by a larger one", cidrs: []runtime.Object{cidrObject("x", "203.0.113.0/28"), cidrObject("big", "203.0.113.0/24")},
			ips: []runtime.Object{allocated("203.0.113.14")}, want: true},
		{name: "held by one of the same range", cidrs: []runtime.Object{cidrObject("x", "203.0.113.0/28"), cidrObject("twin", "203.0.113.0/28")},
			ips: []runtime.Object{allocated("203.0.113.14")}, want: true},
		{name: "only addresses of others", cidrs: []runtime.Object{cidrObject("x", "203.0.113.0/28")},
			ips: []runtime.Object{&networkingv1.IPAddress{ObjectMeta: metav1.ObjectMeta{Name: "203.0.113.3"}}, allocated("203.0.113.15")}, want: true},
		{name: "dual-stack, an IPv6 address", cidrs: []runtime.Object{cidrObject("x", "203.0.113.0/28", "2001:db8::/64")},
			ips: []runtime.Object{allocated("2001:db8::a")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cidrs := fixedInformer(t, &networkingv1.ServiceCIDRList{}, tc.cidrs...)
			ips := fixedInformer(t, &networkingv1.IPAddressList{}, tc.ips...)
			if got := canDeleteCIDR(cidrs, ips, tc.cidrs[0].(*networkingv1.ServiceCIDR)); got != tc.want {
				t.Errorf("can delete: %v, want %v", got, tc.want)
			}
		})
	}
}

func TestPrefixContainsIP(t *testing.T) {
	p := netip.MustParsePrefix("203.0.113.0/28")
	for ip, want := range map[string]bool{"203.0.113.0": false, "203.0.113.1": true, "203.0.113.14": true, "203.0.113.15": false, "203.0.113.16": false} {
		if got := allocation.PrefixContainsIP(p, netip.MustParseAddr(ip)); got != want {
			t.Errorf("%s: %v, want %v", ip, got, want)
		}
	}
	v6 := netip.MustParsePrefix("2001:db8::/120")
	for ip, want := range map[string]bool{"2001:db8::": false, "2001:db8::ff": true, "2001:db8::100": false} {
		if got := allocation.PrefixContainsIP(v6, netip.MustParseAddr(ip)); got != want {
			t.Errorf("%s: %v, want %v", ip, got, want)
		}
	}
}

// TestRepairInServiceCIDR: the cluster IP repair counts as in range only
// an address a ServiceCIDR could hand out, as kube's isIPOutOfRange: the
// network address and an IPv4 broadcast address are out of range (an IPv6
// range's last address is not a broadcast address).
func TestRepairInServiceCIDR(t *testing.T) {
	cidrs := fixedInformer(t, &networkingv1.ServiceCIDRList{}, cidrObject("kubernetes", "10.96.0.0/24", "fd00::/120"))
	r := &ipRepairPass{cidrs: cidrs}
	for ip, want := range map[string]bool{
		"10.96.0.1": true, "10.96.0.254": true, "10.96.0.0": false, "10.96.0.255": false, "10.97.0.1": false,
		"fd00::1": true, "fd00::ff": true, "fd00::": false, "fd00::100": false,
	} {
		if got := r.inServiceCIDR(netip.MustParseAddr(ip)); got != want {
			t.Errorf("%s: in range %v, want %v", ip, got, want)
		}
	}
}
