// Package allocation hands out what a Service holds outside its own
// object: cluster IPs from --service-cluster-ip-range and node ports from
// --service-node-port-range. Both keep their state in etcd, so that two
// kapi replicas on one etcd never hand out the same value: the write that
// reserves a value is a transaction only one writer can win.
package allocation

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"net/netip"

	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"kapi/internal/registry"
)

// The errors of an allocation, worded as kube-apiserver's allocators.
var (
	ErrAllocated = errors.New("provided IP is already allocated")
	ErrFull      = errors.New("range is full")
)

// ErrNotInRange is a requested value outside the range.
type ErrNotInRange struct{ Value, Range string }

func (e *ErrNotInRange) Error() string {
	return fmt.Sprintf("the provided IP (%s) is not in the valid range. The range of valid IPs is %s", e.Value, e.Range)
}

// Objects is where the IPAddress objects live: the ipaddresses store of
// the registry (a *registry.Store).
type Objects interface {
	Create(ctx context.Context, ns string, obj runtime.Object, adm registry.Admission, dryRun bool) (runtime.Object, error)
	Get(ctx context.Context, ns, name string, opts *metav1.GetOptions) (runtime.Object, error)
	Delete(ctx context.Context, ns, name string, opts *metav1.DeleteOptions, adm registry.Admission, dryRun bool) (runtime.Object, bool, error)
	List(ctx context.Context, ns string, opts *metav1.ListOptions) (runtime.Object, error)
}

// Owner is the Service an IP is allocated to.
type Owner struct{ Namespace, Name string }

// ClusterIPs hands out the cluster IPs of one range, each recorded as a
// networking.k8s.io/v1 IPAddress object named by the address, as
// kube-apiserver does since 1.33 (MultiCIDRServiceAllocator): creating
// the object is the reservation (etcd lets exactly one create of a key
// succeed, whichever replica sends it) and deleting it frees the address.
// No bitmap is shared, so concurrent allocations do not contend.
type ClusterIPs struct {
	cidr    netip.Prefix
	first   netip.Addr // the first usable address, network+1
	size    uint64     // usable addresses from first
	objects Objects
}

// maxSize bounds the addresses considered in a large (IPv6) range.
const maxSize = 1 << 32

// NewClusterIPs returns the allocator of cidr ("10.96.0.0/12").
func NewClusterIPs(cidr string, objects Objects) (*ClusterIPs, error) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return nil, fmt.Errorf("service cluster IP range %q: %w", cidr, err)
	}
	p = p.Masked()
	hostBits := p.Addr().BitLen() - p.Bits()
	var size uint64 = maxSize
	if hostBits < 32 {
		size = uint64(1) << hostBits
	}
	// Neither the network address nor, for IPv4, the broadcast address.
	size--
	if p.Addr().Is4() && size > 0 {
		size--
	}
	if size < 1 {
		return nil, fmt.Errorf("service cluster IP range %q has no usable address", cidr)
	}
	return &ClusterIPs{cidr: p, first: p.Addr().Next(), size: size, objects: objects}, nil
}

// CIDR is the range.
func (a *ClusterIPs) CIDR() netip.Prefix { return a.cidr }

// First is the first usable address, the one the kubernetes Service gets.
func (a *ClusterIPs) First() netip.Addr { return a.first }

// Size is the number of usable addresses.
func (a *ClusterIPs) Size() uint64 { return a.size }

// offset is the index of ip in the usable addresses, or false.
func (a *ClusterIPs) offset(ip netip.Addr) (uint64, bool) {
	if !a.cidr.Contains(ip) {
		return 0, false
	}
	d := new(big.Int).Sub(new(big.Int).SetBytes(ip.AsSlice()), new(big.Int).SetBytes(a.first.AsSlice()))
	if d.Sign() < 0 || !d.IsUint64() || d.Uint64() >= a.size {
		return 0, false
	}
	return d.Uint64(), true
}

// at is the usable address at offset n.
func (a *ClusterIPs) at(n uint64) netip.Addr {
	v := new(big.Int).Add(new(big.Int).SetBytes(a.first.AsSlice()), new(big.Int).SetUint64(n))
	b := v.FillBytes(make([]byte, a.first.BitLen()/8))
	ip, _ := netip.AddrFromSlice(b)
	return ip
}

// Allocate reserves ip for owner; ErrAllocated if it is taken,
// *ErrNotInRange if it is not a usable address of the range. With dryRun
// it only checks.
func (a *ClusterIPs) Allocate(ctx context.Context, ip netip.Addr, owner Owner, dryRun bool) error {
	if _, ok := a.offset(ip.Unmap()); !ok {
		return &ErrNotInRange{Value: ip.String(), Range: a.cidr.String()}
	}
	return a.create(ctx, ip.Unmap(), owner, dryRun)
}

// AllocateNext reserves a free address for owner. Like kube-apiserver it
// draws at random from the upper part of the range first, leaving the
// lower part (where people pick static addresses) for last; after a few
// collisions it lists what is taken and walks the range.
func (a *ClusterIPs) AllocateNext(ctx context.Context, owner Owner, dryRun bool) (netip.Addr, error) {
	low := staticBand(a.size)
	for try := 0; try < 16; try++ {
		n := low + rand.Uint64N(a.size-low)
		if try >= 8 || low == a.size {
			n = rand.Uint64N(a.size)
		}
		ip := a.at(n)
		err := a.create(ctx, ip, owner, dryRun)
		if !errors.Is(err, ErrAllocated) {
			return ip, err
		}
	}
	taken, err := a.taken(ctx)
	if err != nil {
		return netip.Addr{}, err
	}
	start := rand.Uint64N(a.size)
	for i := uint64(0); i < a.size && i < maxSize; i++ {
		ip := a.at((start + i) % a.size)
		if taken[ip] {
			continue
		}
		err := a.create(ctx, ip, owner, dryRun)
		if !errors.Is(err, ErrAllocated) {
			return ip, err
		}
	}
	return netip.Addr{}, ErrFull
}

// staticBand is the size of the lower part of a range that dynamic
// allocation avoids while it can: size/16, at least 16 and at most 256
// addresses (kube-apiserver's calculateRangeOffset).
func staticBand(size uint64) uint64 {
	const lo, hi, step = 16, 256, 16
	if size < lo {
		return 0
	}
	return min(max(lo, size/step), hi)
}

// create writes the IPAddress object of ip, or with dryRun checks that
// there is none.
func (a *ClusterIPs) create(ctx context.Context, ip netip.Addr, owner Owner, dryRun bool) error {
	if dryRun {
		_, err := a.objects.Get(ctx, "", ip.String(), nil)
		switch {
		case err == nil:
			return ErrAllocated
		case apierrors.IsNotFound(err):
			return nil
		}
		return err
	}
	_, err := a.objects.Create(ctx, "", ipAddress(ip, owner), nil, false)
	if apierrors.IsAlreadyExists(err) {
		return ErrAllocated
	}
	return err
}

// ipAddress is the object that records ip as owner's, labelled as
// kube-apiserver's allocator labels them.
func ipAddress(ip netip.Addr, owner Owner) *networkingv1.IPAddress {
	family := "IPv4"
	if ip.Is6() {
		family = "IPv6"
	}
	return &networkingv1.IPAddress{
		ObjectMeta: metav1.ObjectMeta{Name: ip.String(), Labels: map[string]string{
			networkingv1.LabelIPAddressFamily: family,
			networkingv1.LabelManagedBy:       "ipallocator.k8s.io",
		}},
		Spec: networkingv1.IPAddressSpec{ParentRef: &networkingv1.ParentReference{
			Resource: "services", Namespace: owner.Namespace, Name: owner.Name}},
	}
}

// taken lists the allocated addresses.
func (a *ClusterIPs) taken(ctx context.Context) (map[netip.Addr]bool, error) {
	list, err := a.objects.List(ctx, "", &metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	items, err := meta.ExtractList(list)
	if err != nil {
		return nil, err
	}
	out := make(map[netip.Addr]bool, len(items))
	for _, it := range items {
		if m, err := meta.Accessor(it); err == nil {
			if ip, err := netip.ParseAddr(m.GetName()); err == nil {
				out[ip] = true
			}
		}
	}
	return out, nil
}

// Release frees ip if owner holds it: the IPAddress object is deleted
// only while it still names owner (and with its uid as a precondition),
// so a late release never frees an address someone else got since.
func (a *ClusterIPs) Release(ctx context.Context, ip netip.Addr, owner Owner) error {
	obj, err := a.objects.Get(ctx, "", ip.String(), nil)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	addr, ok := obj.(*networkingv1.IPAddress)
	if !ok || addr.Spec.ParentRef == nil || addr.Spec.ParentRef.Resource != "services" ||
		addr.Spec.ParentRef.Namespace != owner.Namespace || addr.Spec.ParentRef.Name != owner.Name {
		return nil
	}
	uid := addr.UID
	_, _, err = a.objects.Delete(ctx, "", ip.String(), &metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}}, nil, false)
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	return err
}
