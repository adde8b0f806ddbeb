package allocation

import (
	"context"
	"net/netip"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/client-go/kubernetes/scheme"

	"kapi/internal/registry"
	"kapi/internal/storage/embedded"
	"kapi/internal/storage/etcd"
)

// fakeObjects is an in-memory ipaddresses store: a create of a taken name
// fails, as etcd's create transaction does.
type fakeObjects struct {
	mu   sync.Mutex
	objs map[string]*networkingv1.IPAddress
}

var gr = schema.GroupResource{Group: "networking.k8s.io", Resource: "ipaddresses"}

func (f *fakeObjects) Create(_ context.Context, _ string, obj runtime.Object, _ registry.Admission, _ bool) (runtime.Object, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ip := obj.(*networkingv1.IPAddress)
	if _, ok := f.objs[ip.Name]; ok {
		return nil, apierrors.NewAlreadyExists(gr, ip.Name)
	}
	ip.UID = "uid-" + "x"
	f.objs[ip.Name] = ip
	return ip, nil
}

func (f *fakeObjects) Get(_ context.Context, _, name string, _ *metav1.GetOptions) (runtime.Object, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if o, ok := f.objs[name]; ok {
		return o, nil
	}
	return nil, apierrors.NewNotFound(gr, name)
}

func (f *fakeObjects) GetShared(ctx context.Context, ns, name string, opts *metav1.GetOptions) (runtime.Object, error) {
	return f.Get(ctx, ns, name, opts)
}

func (f *fakeObjects) Delete(_ context.Context, _, name string, _ *metav1.DeleteOptions, _ registry.Admission, _ bool) (runtime.Object, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o, ok := f.objs[name]
	if !ok {
		return nil, false, apierrors.NewNotFound(gr, name)
	}
	delete(f.objs, name)
	return o, true, nil
}

func (f *fakeObjects) List(context.Context, string, *metav1.ListOptions) (runtime.Object, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	l := &networkingv1.IPAddressList{}
	for _, o := range f.objs {
		l.Items = append(l.Items, *o)
	}
	return l, nil
}

func (f *fakeObjects) ListShared(ctx context.Context, ns string, opts *metav1.ListOptions) (*registry.SharedList, error) {
	l, _ := f.List(ctx, ns, opts)
	out := &registry.SharedList{List: l}
	for i := range l.(*networkingv1.IPAddressList).Items {
		out.Items = append(out.Items, &l.(*networkingv1.IPAddressList).Items[i])
	}
	return out, nil
}

func TestClusterIPsRange(t *testing.T) {
	for _, c := range []struct {
		cidr, first string
		size        uint64
	}{
		{"10.96.0.0/12", "10.96.0.1", 1<<20 - 2},
		{"10.0.0.0/30", "10.0.0.1", 2},
		{"fd00::/120", "fd00::1", 255},
	} {
		a, err := NewClusterIPs(c.cidr, nil)
		if err != nil {
			t.Fatal(err)
		}
		if a.First().String() != c.first || a.Size() != c.size {
			t.Errorf("%s: first %s size %d, want %s %d", c.cidr, a.First(), a.Size(), c.first, c.size)
		}
		// The last usable address is the range's, the one after it not.
		last, after := a.at(a.Size()-1), a.at(a.Size())
		if !PrefixContainsIP(a.CIDR(), last) || PrefixContainsIP(a.CIDR(), after) {
			t.Errorf("%s: the last usable address %s, the one after it %s", c.cidr, last, after)
		}
	}
	if _, err := NewClusterIPs("10.0.0.0/31", nil); err == nil {
		t.Error("a /31 has no usable address and was accepted")
	}
}

func TestClusterIPsAllocate(t *testing.T) {
	ctx := context.Background()
	objs := &fakeObjects{objs: map[string]*networkingv1.IPAddress{}}
	a, err := NewClusterIPs("10.0.0.0/27", objs) // 30 usable addresses
	if err != nil {
		t.Fatal(err)
	}
	owner := Owner{Namespace: "default", Name: "a"}
	if err := a.Allocate(ctx, netip.MustParseAddr("10.0.0.1"), owner, false); err != nil {
		t.Fatal(err)
	}
	if err := a.Allocate(ctx, netip.MustParseAddr("10.0.0.1"), owner, false); err != ErrAllocated {
		t.Fatalf("second allocation of 10.0.0.1: %v", err)
	}
	for _, bad := range []string{"10.0.0.0", "10.0.0.31", "10.0.1.1"} {
		if err := a.Allocate(ctx, netip.MustParseAddr(bad), owner, false); err == nil {
			t.Errorf("%s is not a usable address of the range and was allocated", bad)
		}
	}
	// The rest of the range goes to concurrent callers, each address once.
	var mu sync.Mutex
	got := map[netip.Addr]bool{}
	var wg sync.WaitGroup
	for i := 0; i < 29; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ip, err := a.AllocateNext(ctx, owner, false)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if got[ip] {
				t.Errorf("%s handed out twice", ip)
			}
			got[ip] = true
		}()
	}
	wg.Wait()
	if _, err := a.AllocateNext(ctx, owner, false); err != ErrFull {
		t.Fatalf("allocation from a full range: %v", err)
	}
	// Another owner cannot free it; the owner can.
	ip := netip.MustParseAddr("10.0.0.1")
	if err := a.Release(ctx, ip, Owner{Namespace: "default", Name: "b"}); err != nil {
		t.Fatal(err)
	}
	if _, err := objs.Get(ctx, "", "10.0.0.1", nil); err != nil {
		t.Fatal("another owner's release freed the address")
	}
	if err := a.Release(ctx, ip, owner); err != nil {
		t.Fatal(err)
	}
	if got, err := a.AllocateNext(ctx, owner, false); err != nil || got != ip {
		t.Fatalf("after release: %s %v, want %s", got, err, ip)
	}
}

func TestStaticBand(t *testing.T) {
	for size, want := range map[uint64]uint64{8: 0, 30: 16, 254: 16, 4094: 255, 1 << 20: 256} {
		if got := staticBand(size); got != want {
			t.Errorf("staticBand(%d) = %d, want %d", size, got, want)
		}
	}
}

func TestParsePortRange(t *testing.T) {
	if b, n, err := ParsePortRange("30000-32767"); err != nil || b != 30000 || n != 2768 {
		t.Errorf("30000-32767: %d %d %v", b, n, err)
	}
	for _, bad := range []string{"", "x", "3-1", "0-10", "1-70000"} {
		if _, _, err := ParsePortRange(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestNodePortsOnEtcd: two allocators on one etcd key (two replicas)
// hand out every port of a small range exactly once, concurrently.
func TestNodePortsOnEtcd(t *testing.T) {
	ctx := context.Background()
	e, err := embedded.Start(ctx, t.TempDir()+"/etcd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	newStore := func() *NodePorts {
		s := etcd.New(e.Client, "/registry/ranges/", etcd.Codec{
			Serializer: protobuf.NewSerializer(scheme.Scheme, scheme.Scheme),
			GVK:        corev1.SchemeGroupVersion.WithKind("RangeAllocation"),
			New:        func() runtime.Object { return &corev1.RangeAllocation{} },
		})
		p, err := NewNodePorts("30000-30039", s, "servicenodeports")
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	one, two := newStore(), newStore()
	counts := func() [4]float64 {
		return [4]float64{testutil.ToFloat64(portAllocations.WithLabelValues(static)), testutil.ToFloat64(portAllocations.WithLabelValues(dynamic)),
			testutil.ToFloat64(portAllocationErrors.WithLabelValues(static)), testutil.ToFloat64(portAllocationErrors.WithLabelValues(dynamic))}
	}
	before := counts()
	if _, err := one.AllocateNext(ctx, true); err != nil {
		t.Fatal(err)
	}
	if err := one.Allocate(ctx, 30005, false); err != nil {
		t.Fatal(err)
	}
	if err := two.Allocate(ctx, 30005, false); err != ErrPortAllocated {
		t.Fatalf("the other replica allocated 30005 again: %v", err)
	}
	if err := one.Allocate(ctx, 29999, false); err == nil {
		t.Fatal("a port out of range was allocated")
	}
	var mu sync.Mutex
	got := map[int]bool{30005: true}
	var wg sync.WaitGroup
	for i := 0; i < 39; i++ {
		p := one
		if i%2 == 1 {
			p = two
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			port, err := p.AllocateNext(ctx, false)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if got[port] {
				t.Errorf("port %d handed out twice", port)
			}
			got[port] = true
		}()
	}
	wg.Wait()
	if _, err := one.AllocateNext(ctx, false); err != ErrFull {
		t.Fatalf("allocation from a full range: %v", err)
	}
	if err := two.Release(ctx, 30005, 30006); err != nil {
		t.Fatal(err)
	}
	if ok, _ := one.Allocated(ctx, 30006); ok {
		t.Fatal("30006 still allocated after its release")
	}
	if err := one.Allocate(ctx, 30006, false); err != nil {
		t.Fatal(err)
	}
	raw, err := e.Client.Get(ctx, "/registry/ranges/servicenodeports")
	if err != nil || len(raw.Kvs) != 1 {
		t.Fatalf("no RangeAllocation at /registry/ranges/servicenodeports: %v", err)
	}
	// kube's metrics: allocations by scope (30005, 30006; the 39 others),
	// errors (30005 again, 29999; the full range), none for the dry run;
	// the gauges as the last allocation left the bitmap.
	after := counts()
	if d := [4]float64{after[0] - before[0], after[1] - before[1], after[2] - before[2], after[3] - before[3]}; d != [4]float64{2, 39, 2, 1} {
		t.Errorf("allocations static, dynamic, errors static, dynamic: %v more, want [2 39 2 1]", d)
	}
	if used, left := testutil.ToFloat64(portAllocated), testutil.ToFloat64(portAvailable); used != 39 || left != 1 {
		t.Errorf("allocated_ports %v, available_ports %v; want 39, 1", used, left)
	}
}
