package allocation

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"kapi/internal/registry"
)

// fakeCIDRs is an in-memory servicecidrs store; cached, when set, is what
// its watch cache shows (resourceVersion "0"), which may lag behind.
type fakeCIDRs struct {
	mu     sync.Mutex
	all    []*networkingv1.ServiceCIDR
	cached []*networkingv1.ServiceCIDR
	lagged bool
	reads  map[string]int // by resourceVersion
}

func (f *fakeCIDRs) ListShared(_ context.Context, _ string, opts *metav1.ListOptions) (*registry.SharedList, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.reads == nil {
		f.reads = map[string]int{}
	}
	f.reads[opts.ResourceVersion]++
	from := f.all
	if f.lagged && opts.ResourceVersion == "0" {
		from = f.cached
	}
	l := &registry.SharedList{List: &networkingv1.ServiceCIDRList{}}
	for _, sc := range from {
		l.Items = append(l.Items, sc)
	}
	return l, nil
}

func (f *fakeCIDRs) add(sc *networkingv1.ServiceCIDR) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.all = append(f.all, sc)
}

func serviceCIDR(name string, cidrs ...string) *networkingv1.ServiceCIDR {
	return &networkingv1.ServiceCIDR{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: networkingv1.ServiceCIDRSpec{CIDRs: cidrs}}
}

func withReady(sc *networkingv1.ServiceCIDR, status metav1.ConditionStatus) *networkingv1.ServiceCIDR {
	sc.Status.Conditions = []metav1.Condition{{Type: networkingv1.ServiceCIDRConditionReady, Status: status}}
	return sc
}

func newMultiCIDR(t *testing.T, cidrs *fakeCIDRs) (*ClusterIPs, *fakeObjects) {
	t.Helper()
	objs := &fakeObjects{objs: map[string]*networkingv1.IPAddress{}}
	a, err := NewClusterIPs("10.0.0.0/29", objs) // 6 usable addresses, .1 to .6
	if err != nil {
		t.Fatal(err)
	}
	return a.WithServiceCIDRs(cidrs), objs
}

// TestClusterIPsStaticInAnyServiceCIDR: a static cluster IP is taken in
// whichever ServiceCIDR holds it, as kube's MetaAllocator.AllocateService;
// one in none of them (the network and broadcast addresses of a
// ServiceCIDR included, as servicecidr.PrefixContainsIP) is refused with
// kube's ErrMismatchedNetwork.
func TestClusterIPsStaticInAnyServiceCIDR(t *testing.T) {
	ctx := context.Background()
	cidrs := &fakeCIDRs{all: []*networkingv1.ServiceCIDR{
		withReady(serviceCIDR("kubernetes", "10.0.0.0/29"), metav1.ConditionTrue),
		serviceCIDR("second", "203.0.113.0/28", "2001:db8::/64"),
	}}
	a, objs := newMultiCIDR(t, cidrs)
	owner := Owner{Namespace: "default", Name: "a"}
	for _, ok := range []string{"10.0.0.1", "203.0.113.14", "203.0.113.1"} {
		if err := a.Allocate(ctx, netip.MustParseAddr(ok), owner, false); err != nil {
			t.Fatalf("%s: %v", ok, err)
		}
		got, err := objs.Get(ctx, "", ok, nil)
		if err != nil {
			t.Fatalf("no IPAddress %s: %v", ok, err)
		}
		if ref := got.(*networkingv1.IPAddress).Spec.ParentRef; ref == nil || ref.Resource != "services" || ref.Name != "a" {
			t.Fatalf("IPAddress %s names %+v", ok, ref)
		}
	}
	if err := a.Allocate(ctx, netip.MustParseAddr("203.0.113.14"), owner, false); err != ErrAllocated {
		t.Fatalf("second allocation of 203.0.113.14: %v", err)
	}
	// Outside every ServiceCIDR, or the network or broadcast address of
	// one, or of the other family (kapi's allocator is single-stack).
	for _, bad := range []string{"192.0.2.1", "203.0.113.0", "203.0.113.15", "10.0.0.7", "2001:db8::1"} {
		err := a.Allocate(ctx, netip.MustParseAddr(bad), owner, false)
		if !errors.Is(err, ErrMismatchedNetwork) {
			t.Fatalf("%s: %v, want ErrMismatchedNetwork", bad, err)
		}
		if err.Error() != "the provided network does not match the current range" {
			t.Fatalf("%s: %q, not kube's wording", bad, err)
		}
	}
	// A dry run checks alike and writes nothing.
	if err := a.Allocate(ctx, netip.MustParseAddr("203.0.113.2"), owner, true); err != nil {
		t.Fatal(err)
	}
	if err := a.Allocate(ctx, netip.MustParseAddr("192.0.2.1"), owner, true); !errors.Is(err, ErrMismatchedNetwork) {
		t.Fatalf("dry run outside every ServiceCIDR: %v", err)
	}
	if _, err := objs.Get(ctx, "", "203.0.113.2", nil); err == nil {
		t.Fatal("a dry run wrote an IPAddress")
	}
}

// TestClusterIPsNextAfterFullServiceCIDR: dynamic allocation moves on to
// another ServiceCIDR when one is full (kube's AllocateNextService goes
// on past ErrFull), hands out every usable address once, then is full.
func TestClusterIPsNextAfterFullServiceCIDR(t *testing.T) {
	ctx := context.Background()
	cidrs := &fakeCIDRs{all: []*networkingv1.ServiceCIDR{serviceCIDR("kubernetes", "10.0.0.0/29")}}
	a, _ := newMultiCIDR(t, cidrs)
	owner := Owner{Namespace: "default", Name: "a"}
	got := map[netip.Addr]bool{}
	for range 6 {
		ip, err := a.AllocateNext(ctx, owner, false)
		if err != nil {
			t.Fatal(err)
		}
		got[ip] = true
	}
	if _, err := a.AllocateNext(ctx, owner, false); err != ErrFull {
		t.Fatalf("allocation from the full default range: %v", err)
	}
	cidrs.add(serviceCIDR("second", "203.0.113.0/29"))
	second := netip.MustParsePrefix("203.0.113.0/29")
	for range 6 {
		ip, err := a.AllocateNext(ctx, owner, false)
		if err != nil {
			t.Fatal(err)
		}
		if !second.Contains(ip) || got[ip] || ip == second.Addr() || ip.String() == "203.0.113.7" {
			t.Fatalf("%s handed out from the second ServiceCIDR", ip)
		}
		got[ip] = true
	}
	if _, err := a.AllocateNext(ctx, owner, false); err != ErrFull {
		t.Fatalf("allocation with every ServiceCIDR full: %v", err)
	}
}

// TestClusterIPsSpreadOverServiceCIDRs: with room in several ServiceCIDRs
// dynamic allocation draws from each of them, as kube ranges over its
// allocators in no set order.
func TestClusterIPsSpreadOverServiceCIDRs(t *testing.T) {
	ctx := context.Background()
	cidrs := &fakeCIDRs{all: []*networkingv1.ServiceCIDR{
		serviceCIDR("kubernetes", "10.0.0.0/24"), serviceCIDR("second", "203.0.113.0/24")}}
	objs := &fakeObjects{objs: map[string]*networkingv1.IPAddress{}}
	a, err := NewClusterIPs("10.0.0.0/24", objs)
	if err != nil {
		t.Fatal(err)
	}
	a.WithServiceCIDRs(cidrs)
	seen := map[bool]int{}
	for range 40 {
		ip, err := a.AllocateNext(ctx, Owner{Namespace: "default", Name: "a"}, false)
		if err != nil {
			t.Fatal(err)
		}
		seen[strings.HasPrefix(ip.String(), "10.")]++
	}
	if seen[true] == 0 || seen[false] == 0 {
		t.Fatalf("40 allocations all from one ServiceCIDR: %v", seen)
	}
}

// TestClusterIPsUnusableServiceCIDRs: a ServiceCIDR being deleted, or
// whose Ready condition is not True, gives no address (kube's
// syncAllocators: ready only when isReady and not being deleted); one
// with no Ready condition yet does (isReady assumes it).
func TestClusterIPsUnusableServiceCIDRs(t *testing.T) {
	ctx := context.Background()
	deleting := serviceCIDR("deleting", "203.0.113.0/28")
	deleting.DeletionTimestamp = &metav1.Time{}
	deleting.Finalizers = []string{"networking.k8s.io/service-cidr-finalizer"}
	cidrs := &fakeCIDRs{all: []*networkingv1.ServiceCIDR{
		serviceCIDR("kubernetes", "10.0.0.0/29"),
		deleting,
		withReady(serviceCIDR("notready", "198.51.100.0/28"), metav1.ConditionFalse),
		withReady(serviceCIDR("unknown", "192.0.2.0/28"), metav1.ConditionUnknown),
		withReady(serviceCIDR("ready", "100.64.0.0/30"), metav1.ConditionTrue),
		serviceCIDR("nocondition", "100.64.1.0/30"),
	}}
	a, _ := newMultiCIDR(t, cidrs)
	owner := Owner{Namespace: "default", Name: "a"}
	for _, bad := range []string{"203.0.113.1", "198.51.100.1", "192.0.2.1"} {
		if err := a.Allocate(ctx, netip.MustParseAddr(bad), owner, false); !errors.Is(err, ErrMismatchedNetwork) {
			t.Errorf("%s in an unusable ServiceCIDR: %v", bad, err)
		}
	}
	for _, ok := range []string{"100.64.0.1", "100.64.1.1"} {
		if err := a.Allocate(ctx, netip.MustParseAddr(ok), owner, false); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	// What is left: 10.0.0.1-6, 100.64.0.2, 100.64.1.2; never the others.
	usable := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/29"), netip.MustParsePrefix("100.64.0.0/30"), netip.MustParsePrefix("100.64.1.0/30")}
	for range 8 {
		ip, err := a.AllocateNext(ctx, owner, false)
		if err != nil {
			t.Fatal(err)
		}
		if !usable[0].Contains(ip) && !usable[1].Contains(ip) && !usable[2].Contains(ip) {
			t.Fatalf("%s handed out from an unusable ServiceCIDR", ip)
		}
	}
	if ip, err := a.AllocateNext(ctx, owner, false); err != ErrFull {
		t.Fatalf("allocation with only unusable room left: %s %v", ip, err)
	}
}

// TestClusterIPsServiceCIDRNotCachedYet: a ServiceCIDR the watch cache
// does not show yet is found in etcd before an allocation is refused or
// declared full; while the cache answers, etcd is not asked.
func TestClusterIPsServiceCIDRNotCachedYet(t *testing.T) {
	ctx := context.Background()
	def := serviceCIDR("kubernetes", "10.0.0.0/29")
	cidrs := &fakeCIDRs{lagged: true, cached: []*networkingv1.ServiceCIDR{def},
		all: []*networkingv1.ServiceCIDR{def, serviceCIDR("new", "203.0.113.0/28")}}
	a, _ := newMultiCIDR(t, cidrs)
	owner := Owner{Namespace: "default", Name: "a"}
	if err := a.Allocate(ctx, netip.MustParseAddr("10.0.0.1"), owner, false); err != nil {
		t.Fatal(err)
	}
	if n := cidrs.reads[""]; n != 0 {
		t.Fatalf("%d reads from etcd for an address the cache holds", n)
	}
	if err := a.Allocate(ctx, netip.MustParseAddr("203.0.113.5"), owner, false); err != nil {
		t.Fatalf("an address of a ServiceCIDR not cached yet: %v", err)
	}
	for range 5 {
		if _, err := a.AllocateNext(ctx, owner, false); err != nil {
			t.Fatal(err)
		}
	}
	ip, err := a.AllocateNext(ctx, owner, false)
	if err != nil || !netip.MustParsePrefix("203.0.113.0/28").Contains(ip) {
		t.Fatalf("with the cached ServiceCIDR full: %s %v", ip, err)
	}
}
