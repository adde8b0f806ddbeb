// Package allocation hands out what a Service holds outside its own
// object: cluster IPs from the ServiceCIDRs (the first of them made from
// --service-cluster-ip-range) and node ports from
// --service-node-port-range. Both keep their state in etcd, so that two
// kapi replicas on one etcd never hand out the same value: the write that
// reserves a value is a transaction only one writer can win.
package allocation

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"net/netip"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"kapi/internal/registry"
	"kapi/internal/storage"
)

// The errors of an allocation, worded as kube-apiserver's allocators.
var (
	ErrAllocated = errors.New("provided IP is already allocated")
	ErrFull      = errors.New("range is full")
	// ErrMismatchedNetwork: the IP is in no usable ServiceCIDR, kube's
	// MetaAllocator.getAllocator error.
	ErrMismatchedNetwork = errors.New("the provided network does not match the current range")
)

// ErrNotInRange is a requested value outside the range.
type ErrNotInRange struct{ Value, Range string }

func (e *ErrNotInRange) Error() string {
	return fmt.Sprintf("the provided IP (%s) is not in the valid range. The range of valid IPs is %s", e.Value, e.Range)
}

// Objects is where the IPAddress objects live: the ipaddresses store of
// the registry (a *registry.Store). GetShared with resourceVersion "0"
// reads its watch cache.
type Objects interface {
	Create(ctx context.Context, ns string, obj runtime.Object, adm registry.Admission, dryRun bool) (runtime.Object, error)
	Get(ctx context.Context, ns, name string, opts *metav1.GetOptions) (runtime.Object, error)
	GetShared(ctx context.Context, ns, name string, opts *metav1.GetOptions) (runtime.Object, error)
	Delete(ctx context.Context, ns, name string, opts *metav1.DeleteOptions, adm registry.Admission, dryRun bool) (runtime.Object, bool, error)
	ListShared(ctx context.Context, ns string, opts *metav1.ListOptions) (*registry.SharedList, error)
}

// CIDRs is where the ServiceCIDR objects live: the servicecidrs store of
// the registry (a *registry.Store), read from its watch cache.
type CIDRs interface {
	ListShared(ctx context.Context, ns string, opts *metav1.ListOptions) (*registry.SharedList, error)
}

// Owner is the Service an IP is allocated to.
type Owner struct{ Namespace, Name string }

// ClusterIPs hands out cluster IPs, each recorded as a networking.k8s.io/v1
// IPAddress object named by the address, as kube-apiserver does since
// 1.33 (MultiCIDRServiceAllocator): creating the object is the
// reservation (etcd lets exactly one create of a key succeed, whichever
// replica sends it) and deleting it frees the address. No bitmap is
// shared, so concurrent allocations do not contend.
//
// The addresses come from every usable ServiceCIDR of the family of
// --service-cluster-ip-range (WithServiceCIDRs), as kube's MetaAllocator
// hands them out; without ServiceCIDRs, from that range alone.
type ClusterIPs struct {
	ipRange // --service-cluster-ip-range, the ServiceCIDR "kubernetes"
	objects Objects
	cidrs   CIDRs // nil: the range alone
}

// ipRange is the usable addresses of one CIDR, kube's ipallocator.Allocator.
type ipRange struct {
	cidr  netip.Prefix
	first netip.Addr // the first usable address, network+1
	size  uint64     // usable addresses from first
}

// maxSize bounds the addresses considered in a large (IPv6) range.
const maxSize = 1<<32 - 1

// NewClusterIPs returns the allocator of cidr ("10.96.0.0/12").
func NewClusterIPs(cidr string, objects Objects) (*ClusterIPs, error) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return nil, fmt.Errorf("service cluster IP range %q: %w", cidr, err)
	}
	r, err := newRange(p)
	if err != nil {
		return nil, fmt.Errorf("service cluster IP range %q has no usable address", cidr)
	}
	return &ClusterIPs{ipRange: r, objects: objects}, nil
}

// WithServiceCIDRs makes a hand out addresses from the ServiceCIDRs in
// cidrs rather than from its range alone, and returns a.
func (a *ClusterIPs) WithServiceCIDRs(cidrs CIDRs) *ClusterIPs {
	a.cidrs = cidrs
	return a
}

// newRange is the range of p: neither the network address nor, for
// IPv4, the broadcast address is usable.
func newRange(p netip.Prefix) (ipRange, error) {
	p = p.Masked()
	size := min(hostsPerNetwork(p), maxSize)
	if size < 1 {
		return ipRange{}, fmt.Errorf("%s has no usable address", p)
	}
	return ipRange{cidr: p, first: p.Addr().Next(), size: size}, nil
}

// hostsPerNetwork is the usable addresses of p as kube counts them (its
// ipallocator's: not the network address, nor IPv4's broadcast), not
// bounded as a range is (newRange): the maximum for 64 host bits or more.
func hostsPerNetwork(p netip.Prefix) uint64 {
	hostBits := p.Addr().BitLen() - p.Bits()
	if hostBits >= 64 {
		return math.MaxUint64
	}
	n := uint64(1)<<hostBits - 1
	if p.Addr().Is4() && n > 0 {
		n--
	}
	return n
}

// CIDR is --service-cluster-ip-range.
func (a *ClusterIPs) CIDR() netip.Prefix { return a.cidr }

// First is the first usable address of --service-cluster-ip-range, the
// one the kubernetes Service gets.
func (a *ClusterIPs) First() netip.Addr { return a.first }

// Size is the number of usable addresses of --service-cluster-ip-range.
func (a *ClusterIPs) Size() uint64 { return a.size }

// PrefixContainsIP is kube's servicecidr.PrefixContainsIP (and its
// allocator's range check): ip is in p and is neither its network address
// nor, for IPv4, its broadcast address.
func PrefixContainsIP(p netip.Prefix, ip netip.Addr) bool {
	p = p.Masked()
	if !p.Contains(ip) || ip == p.Addr() {
		return false
	}
	return !ip.Is4() || ip != broadcast(p)
}

// broadcast is the last address of p.
func broadcast(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 1 << (7 - i%8)
	}
	ip, _ := netip.AddrFromSlice(b)
	return ip
}

// at is the usable address at offset n.
func (r ipRange) at(n uint64) netip.Addr {
	v := new(big.Int).Add(new(big.Int).SetBytes(r.first.AsSlice()), new(big.Int).SetUint64(n))
	b := v.FillBytes(make([]byte, r.first.BitLen()/8))
	ip, _ := netip.AddrFromSlice(b)
	return ip
}

// usable: kube's MetaAllocator.syncAllocators allocates from a
// ServiceCIDR that is not being deleted and is ready (isReady: its Ready
// condition is True, or it has none yet, as when no
// kube-controller-manager runs).
func usable(sc *networkingv1.ServiceCIDR) bool {
	if sc.DeletionTimestamp != nil {
		return false
	}
	for _, c := range sc.Status.Conditions {
		if c.Type == networkingv1.ServiceCIDRConditionReady {
			return c.Status == metav1.ConditionTrue
		}
	}
	return true
}

// ranges are the usable ServiceCIDRs' ranges of the family of
// --service-cluster-ip-range, each prefix once (kube keeps one allocator
// per prefix, ready when one of its ServiceCIDRs is), read from the watch
// cache or, with fresh, from etcd. Without ServiceCIDRs, the range alone.
func (a *ClusterIPs) ranges(ctx context.Context, fresh bool) ([]ipRange, error) {
	if a.cidrs == nil {
		return []ipRange{a.ipRange}, nil
	}
	opts := &metav1.ListOptions{ResourceVersion: "0"}
	if fresh {
		opts = &metav1.ListOptions{}
	}
	list, err := a.cidrs.ListShared(ctx, "", opts)
	if err != nil {
		return nil, err
	}
	var out []ipRange
	seen := map[netip.Prefix]bool{}
	for _, it := range list.Items {
		sc, ok := storage.Unwrap(it).(*networkingv1.ServiceCIDR)
		if !ok || !usable(sc) {
			continue
		}
		for _, c := range sc.Spec.CIDRs {
			p, err := netip.ParsePrefix(c)
			if err != nil || p.Addr().Is4() != a.cidr.Addr().Is4() || seen[p.Masked()] {
				continue
			}
			seen[p.Masked()] = true
			if r, err := newRange(p); err == nil {
				out = append(out, r)
			}
		}
	}
	return out, nil
}

// Allocate reserves ip for owner; ErrAllocated if it is taken,
// ErrMismatchedNetwork if no usable ServiceCIDR holds it (kube's
// MetaAllocator.AllocateService), *ErrNotInRange if the allocator has no
// ServiceCIDRs and the range does not. A miss in the watch cache is checked
// against etcd: a ServiceCIDR made a moment ago may not be in the cache
// yet. With dryRun it only checks.
func (a *ClusterIPs) Allocate(ctx context.Context, ip netip.Addr, owner Owner, dryRun bool) error {
	start := time.Now()
	ip = ip.Unmap()
	for _, fresh := range []bool{false, true} {
		ranges, err := a.ranges(ctx, fresh)
		if err != nil {
			return err
		}
		for _, r := range ranges {
			if PrefixContainsIP(r.cidr, ip) {
				return a.createIn(ctx, r, ip, owner, dryRun, static, start)
			}
		}
		if a.cidrs == nil {
			if !dryRun {
				ipAllocationErrors.WithLabelValues(a.cidr.String(), static).Inc()
			}
			return &ErrNotInRange{Value: ip.String(), Range: a.cidr.String()}
		}
	}
	return ErrMismatchedNetwork
}

// AllocateNext reserves a free address for owner from one of the usable
// ServiceCIDRs. Like kube's MetaAllocator.AllocateNextService it tries
// them in no set order (kube ranges over a map) and moves on from a full
// one; ErrFull when all are full, after a look at etcd for ServiceCIDRs
// the watch cache does not show yet.
func (a *ClusterIPs) AllocateNext(ctx context.Context, owner Owner, dryRun bool) (netip.Addr, error) {
	tried := map[netip.Prefix]bool{}
	for _, fresh := range []bool{false, true} {
		ranges, err := a.ranges(ctx, fresh)
		if err != nil {
			return netip.Addr{}, err
		}
		rand.Shuffle(len(ranges), func(i, j int) { ranges[i], ranges[j] = ranges[j], ranges[i] })
		for _, r := range ranges {
			if tried[r.cidr] {
				continue
			}
			tried[r.cidr] = true
			ip, err := a.allocateNextIn(ctx, r, owner, dryRun)
			if !errors.Is(err, ErrFull) {
				return ip, err
			}
		}
		if a.cidrs == nil {
			break
		}
	}
	return netip.Addr{}, ErrFull
}

// allocateNextIn reserves a free address of r, as kube's
// Allocator.allocateNextService: from a random offset of the upper part
// of the range first, leaving the lower part (where people pick static
// addresses) for when the upper part is full.
func (a *ClusterIPs) allocateNextIn(ctx context.Context, r ipRange, owner Owner, dryRun bool) (netip.Addr, error) {
	start := time.Now()
	low := staticBand(r.size)
	ip, err := a.allocateFrom(ctx, r, low, r.size, owner, dryRun, start)
	if errors.Is(err, ErrFull) && low > 0 {
		ip, err = a.allocateFrom(ctx, r, 0, low, owner, dryRun, start)
	}
	if err != nil && !dryRun {
		ipAllocationErrors.WithLabelValues(r.cidr.String(), dynamic).Inc()
	}
	return ip, err
}

// allocateFrom walks the offsets [lo, hi) of r from a random one, as
// kube's allocateFromRange: an address the watch cache holds an IPAddress
// for is skipped; one it does not is created, and one another allocation
// took meanwhile (the create finds it) is skipped too.
func (a *ClusterIPs) allocateFrom(ctx context.Context, r ipRange, lo, hi uint64, owner Owner, dryRun bool, start time.Time) (netip.Addr, error) {
	n := hi - lo
	if n == 0 {
		return netip.Addr{}, ErrFull
	}
	from := rand.Uint64N(n)
	for i := uint64(0); i < n; i++ {
		ip := r.at(lo + (from+i)%n)
		known, err := a.known(ctx, ip)
		if err != nil {
			return netip.Addr{}, err
		}
		if known {
			continue
		}
		err = a.createIn(ctx, r, ip, owner, dryRun, dynamic, start)
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

// known: the watch cache of the ipaddresses holds ip's object (kube's
// allocator asks its IPAddress informer).
func (a *ClusterIPs) known(ctx context.Context, ip netip.Addr) (bool, error) {
	_, err := a.objects.GetShared(ctx, "", ip.String(), &metav1.GetOptions{ResourceVersion: "0"})
	switch {
	case err == nil:
		return true, nil
	case apierrors.IsNotFound(err):
		return false, nil
	}
	return false, err
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

// Release frees ip if owner holds it: the IPAddress object is deleted
// only while it still names owner (and with its uid as a precondition),
// so a late release never frees an address someone else got since. Like
// kube's MetaAllocator.Release it does not matter which ServiceCIDR, if
// any, holds ip now.
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
	if err == nil {
		// The gauges of the range that holds ip now, if any.
		if ranges, rerr := a.ranges(ctx, false); rerr == nil {
			for _, r := range ranges {
				if PrefixContainsIP(r.cidr, ip) {
					a.recordUse(ctx, r)
					break
				}
			}
		}
	}
	return err
}
