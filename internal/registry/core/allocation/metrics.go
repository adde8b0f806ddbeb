package allocation

import (
	"context"
	"math"
	"math/big"
	"math/bits"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"kapi/internal/metrics"
	"kapi/internal/storage"
)

// kube-apiserver's metrics of its allocators (pkg/registry/core/service's
// ipallocator and portallocator): what each range holds and has left, and
// the allocations, static (an address or port asked for) or dynamic, that
// this server made or failed, counted where kube's allocators count them.
// A dry run counts nothing. As in kube, the gauges are set by this
// server's allocations and releases, so they read 0 until the first.
var (
	ipAllocated = metrics.Gauge("kube_apiserver_clusterip_allocator_allocated_ips",
		"[ALPHA] Gauge measuring the number of allocated IPs for Services", "cidr")
	ipAvailable = metrics.Gauge("kube_apiserver_clusterip_allocator_available_ips",
		"[ALPHA] Gauge measuring the number of available IPs for Services", "cidr")
	ipAllocations = metrics.Counter("kube_apiserver_clusterip_allocator_allocation_total",
		"[ALPHA] Number of Cluster IPs allocations", "cidr", "scope")
	ipAllocationErrors = metrics.Counter("kube_apiserver_clusterip_allocator_allocation_errors_total",
		"[ALPHA] Number of errors trying to allocate Cluster IPs", "cidr", "scope")
	ipAllocationDuration = metrics.Histogram("kube_apiserver_clusterip_allocator_allocation_duration_seconds",
		"[ALPHA] Duration in seconds to allocate a Cluster IP by ServiceCIDR", prometheus.DefBuckets, "cidr")

	portAllocated = metrics.Gauge("kube_apiserver_nodeport_allocator_allocated_ports",
		"[ALPHA] Gauge measuring the number of allocated NodePorts for Services").WithLabelValues()
	portAvailable = metrics.Gauge("kube_apiserver_nodeport_allocator_available_ports",
		"[ALPHA] Gauge measuring the number of available NodePorts for Services").WithLabelValues()
	portAllocations = metrics.Counter("kube_apiserver_nodeport_allocator_allocation_total",
		"[ALPHA] Number of NodePort allocations", "scope")
	portAllocationErrors = metrics.Counter("kube_apiserver_nodeport_allocator_allocation_errors_total",
		"[ALPHA] Number of errors trying to allocate NodePort", "scope")
)

// The scopes of an allocation.
const (
	static  = "static"
	dynamic = "dynamic"
)

// createIn writes ip's object (see create) as an allocation of r, counted.
func (a *ClusterIPs) createIn(ctx context.Context, r ipRange, ip netip.Addr, owner Owner, dryRun bool, scope string, start time.Time) error {
	err := a.create(ctx, ip, owner, dryRun)
	if dryRun {
		return err
	}
	label := r.cidr.String()
	if err != nil {
		ipAllocationErrors.WithLabelValues(label, scope).Inc()
		return err
	}
	ipAllocations.WithLabelValues(label, scope).Inc()
	a.recordUse(ctx, r)
	ipAllocationDuration.WithLabelValues(label).Observe(time.Since(start).Seconds())
	return nil
}

// recordUse sets r's gauges: the IPAddress objects of the allocator in r
// (kube's Allocator.Used), and the addresses left (its Free).
func (a *ClusterIPs) recordUse(ctx context.Context, r ipRange) {
	family := "IPv4"
	if r.cidr.Addr().Is6() {
		family = "IPv6"
	}
	sel := labels.Set{networkingv1.LabelIPAddressFamily: family, networkingv1.LabelManagedBy: "ipallocator.k8s.io"}.String()
	list, err := a.objects.ListShared(ctx, "", &metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return
	}
	used := 0
	for _, it := range list.Items {
		if o, ok := storage.Unwrap(it).(*networkingv1.IPAddress); ok {
			if ip, err := netip.ParseAddr(o.Name); err == nil && r.cidr.Contains(ip) {
				used++
			}
		}
	}
	label := r.cidr.String()
	ipAllocated.WithLabelValues(label).Set(float64(used))
	ipAvailable.WithLabelValues(label).Set(float64(free(hostsPerNetwork(r.cidr), used)))
}

// free is kube's Allocator.Free: the size less the used, within an int.
func free(size uint64, used int) int {
	if size > math.MaxInt {
		return math.MaxInt - used
	}
	return max(int(size)-used, 0)
}

// recordPorts sets the node ports' gauges from the bitmap.
func (p *NodePorts) recordPorts(b *big.Int) {
	used := 0
	for _, w := range b.Bits() {
		used += bits.OnesCount(uint(w))
	}
	portAllocated.Set(float64(used))
	portAvailable.Set(float64(p.size - used))
}
