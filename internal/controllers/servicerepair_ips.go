package controllers

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
)

// ClusterIPRepair is kube-apiserver's IPAddress repair loop
// (ipallocator/controller/repairip.go): each Service's cluster IPs must
// have their IPAddress objects naming it, and each IPAddress the
// allocator made must name a Service that holds it. A Service whose
// IPAddress is missing gets it back (event ClusterIPNotAllocated); one
// whose IPAddress names another Service that also holds the address is
// reported (ClusterIPAlreadyAllocated); an address outside every
// ServiceCIDR is reported (ClusterIPOutOfRange). An IPAddress whose
// Service does not exist a minute after it was made (a crash between the
// allocation and the Service's write) is deleted (IPAddressNotAllocated);
// one whose Service does not hold it, too (IPAddressWrongReference).
//
// It works from the informers' events and goes over everything every
// Interval; kapi also re-checks a Service when its IPAddress is deleted
// (kube waits for the next pass).
type ClusterIPRepair struct {
	env      *Env
	client   kubernetes.Interface
	Interval time.Duration
	services workqueueOf[string] // namespace/name
	ips      workqueueOf[string] // name
	now      func() time.Time
}

// ipAllocatorName is the managed-by label of the IPAddress objects the
// Service allocator makes.
const ipAllocatorName = "ipallocator.k8s.io"

// leakGracePeriod is how long an IPAddress may exist without its Service
// (kube-apiserver's request timeout).
const leakGracePeriod = 60 * time.Second

var (
	ipAddressesGVR  = schema.GroupVersionResource{Group: "networking.k8s.io", Version: "v1", Resource: "ipaddresses"}
	serviceCIDRsGVR = schema.GroupVersionResource{Group: "networking.k8s.io", Version: "v1", Resource: "servicecidrs"}
)

// NewClusterIPRepair returns the loop; it acts as system:apiserver, as
// the loop runs inside kube-apiserver.
func NewClusterIPRepair(env *Env, interval time.Duration) *ClusterIPRepair {
	if interval <= 0 {
		interval = RepairInterval
	}
	return &ClusterIPRepair{env: env, Interval: interval, now: time.Now,
		client:   kubernetes.NewForConfigOrDie(env.ClientForUser("system:apiserver")),
		services: NewQueue[string]("services"), ips: NewQueue[string]("ipaddresses")}
}

// Run repairs until ctx ends.
func (c *ClusterIPRepair) Run(ctx context.Context) {
	services := c.env.Informers.For(servicesGVR)
	ips := c.env.Informers.For(ipAddressesGVR)
	cidrs := c.env.Informers.For(serviceCIDRsGVR)
	services.Handle(ctx, func(ev Event) {
		svc := ev.Object.(*corev1.Service)
		c.services.Add(svc.Namespace + "/" + svc.Name)
	})
	ips.Handle(ctx, func(ev Event) {
		ip := ev.Object.(*networkingv1.IPAddress)
		c.ips.Add(ip.Name)
		if ref := ip.Spec.ParentRef; ev.Type == watch.Deleted && ref != nil && ref.Group == "" && ref.Resource == "services" {
			c.services.Add(ref.Namespace + "/" + ref.Name)
		}
	})
	go func() {
		<-ctx.Done()
		c.services.ShutDown()
		c.ips.ShutDown()
	}()
	if !waitSynced(ctx, services, ips, cidrs) {
		return
	}
	broadcaster := events.NewBroadcaster(&events.EventSinkImpl{Interface: c.client.EventsV1()})
	broadcaster.StartRecordingToSink(ctx.Done())
	defer broadcaster.Shutdown()
	recorder := broadcaster.NewRecorder(scheme.Scheme, "ipallocator-repair-controller")
	r := &ipRepairPass{c: c, services: services, ips: ips, cidrs: cidrs, recorder: recorder}

	var wg sync.WaitGroup
	wg.Add(3)
	go func() {
		defer wg.Done()
		drain(ctx, "ipallocator-repair-controller", c.services, func(key string) (bool, error) { return true, r.syncService(ctx, key) })
	}()
	go func() {
		defer wg.Done()
		drain(ctx, "ipallocator-repair-controller", c.ips, func(name string) (bool, error) { return true, r.syncIPAddress(ctx, name) })
	}()
	go func() {
		// The pass over everything.
		defer wg.Done()
		t := time.NewTicker(c.Interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			for _, obj := range services.List("") {
				svc := obj.(*corev1.Service)
				c.services.Add(svc.Namespace + "/" + svc.Name)
			}
			for _, obj := range ips.List("") {
				c.ips.Add(obj.(*networkingv1.IPAddress).Name)
			}
		}
	}()
	wg.Wait()
}

// ipRepairPass is what the syncs read and report through.
type ipRepairPass struct {
	c                    *ClusterIPRepair
	services, ips, cidrs *Informer
	recorder             events.EventRecorder
}

func (r *ipRepairPass) syncService(ctx context.Context, key string) error {
	ns, name, _ := strings.Cut(key, "/")
	obj, ok := r.services.Get(ns, name)
	if !ok {
		return nil
	}
	svc := obj.(*corev1.Service)
	if svc.Spec.ClusterIP == "" || svc.Spec.ClusterIP == corev1.ClusterIPNone {
		return nil
	}
	for _, clusterIP := range svc.Spec.ClusterIPs {
		ip, err := netip.ParseAddr(clusterIP)
		if err != nil {
			r.recorder.Eventf(svc, nil, corev1.EventTypeWarning, "ClusterIPNotValid", "ClusterIPValidation", "Cluster IP %s is not a valid IP; please recreate Service", clusterIP)
			continue
		}
		family := corev1.IPv4Protocol
		if ip.Is6() {
			family = corev1.IPv6Protocol
		}
		if !r.inServiceCIDR(ip) {
			r.recorder.Eventf(svc, nil, corev1.EventTypeWarning, "ClusterIPOutOfRange", "ClusterIPAllocation", "Cluster IP [%v]: %s is not within any configured Service CIDR; please recreate service", family, ip)
			continue
		}
		obj, ok := r.ips.Get("", ip.String())
		if !ok {
			// The Service may be gone already: its IPAddress is deleted
			// after it, and the two watches need not report in that
			// order, so the cache can still show a Service whose address
			// was just released.
			if held, err := r.holds(ctx, svc, clusterIP); err != nil || !held {
				return err
			}
			r.recorder.Eventf(svc, nil, corev1.EventTypeWarning, "ClusterIPNotAllocated", "ClusterIPAllocation", "Cluster IP [%v]: %s is not allocated; repairing", family, ip)
			klog.Warningf("the ClusterIP [%v]: %s for Service %s/%s is not allocated; repairing", family, ip, svc.Namespace, svc.Name)
			_, err := r.c.client.NetworkingV1().IPAddresses().Create(ctx, newIPAddress(ip, svc), metav1.CreateOptions{})
			if err != nil && !apierrors.IsAlreadyExists(err) {
				return err
			}
			continue
		}
		addr := obj.(*networkingv1.IPAddress)
		ref := addr.Spec.ParentRef
		if ref == nil || ref.Group != "" || ref.Resource != "services" {
			r.recorder.Eventf(svc, nil, corev1.EventTypeWarning, "ClusterIPNotAllocated", "ClusterIPAllocation", "the ClusterIP [%v]: %s for Service %s/%s has a wrong reference; repairing", family, ip, svc.Namespace, svc.Name)
			if err := r.recreate(ctx, ip, svc); err != nil {
				return err
			}
			continue
		}
		if ref.Namespace != svc.Namespace || ref.Name != svc.Name {
			other, ok := r.services.Get(ref.Namespace, ref.Name)
			if !ok {
				r.recorder.Eventf(svc, nil, corev1.EventTypeWarning, "ClusterIPNotAllocated", "ClusterIPAllocation", "the ClusterIP [%v]: %s for Service %s/%s has a wrong reference; repairing", family, ip, svc.Namespace, svc.Name)
				if err := r.recreate(ctx, ip, svc); err != nil {
					return err
				}
				continue
			}
			for _, held := range other.(*corev1.Service).Spec.ClusterIPs {
				if held == addr.Name {
					r.recorder.Eventf(svc, nil, corev1.EventTypeWarning, "ClusterIPAlreadyAllocated", "ClusterIPAllocation", "Cluster IP [%v]:%s was assigned to multiple services; please recreate service", family, ip)
					klog.Warningf("the cluster IP [%v]:%s for service %s/%s was assigned to other services %s/%s; please recreate", family, ip, svc.Namespace, svc.Name, ref.Namespace, ref.Name)
					break
				}
			}
		}
		if !allocatorLabels(addr) {
			if err := r.recreate(ctx, ip, svc); err != nil {
				return err
			}
		}
	}
	return nil
}

func (r *ipRepairPass) syncIPAddress(ctx context.Context, name string) error {
	obj, ok := r.ips.Get("", name)
	if !ok {
		return nil
	}
	addr := obj.(*networkingv1.IPAddress)
	if addr.Labels[networkingv1.LabelManagedBy] != ipAllocatorName {
		return nil
	}
	ref := addr.Spec.ParentRef
	if ref == nil || ref.Group != "" || ref.Resource != "services" {
		r.recorder.Eventf(addr, nil, corev1.EventTypeWarning, "IPAddressNotAllocated", "IPAddressAllocation", "IPAddress %s appears to have been modified, not referencing a Service %v: cleaning up", addr.Name, ref)
		return r.delete(ctx, addr)
	}
	svcObj, ok := r.services.Get(ref.Namespace, ref.Name)
	if !ok {
		// Made by an allocation whose Service may not be written yet: only
		// after the grace period is it a leak.
		age := r.c.now().Sub(addr.CreationTimestamp.Time)
		if age > leakGracePeriod {
			klog.Warningf("IPAddress %s appears to have leaked: cleaning up", addr.Name)
			r.recorder.Eventf(addr, nil, corev1.EventTypeWarning, "IPAddressNotAllocated", "IPAddressAllocation", "IPAddress: %s for Service %s/%s appears to have leaked: cleaning up", addr.Name, ref.Namespace, ref.Name)
			return r.delete(ctx, addr)
		}
		r.c.ips.AddAfter(name, leakGracePeriod-age+time.Second)
		return nil
	}
	svc := svcObj.(*corev1.Service)
	for _, held := range svc.Spec.ClusterIPs {
		if held == addr.Name {
			return nil
		}
	}
	r.recorder.Eventf(addr, nil, corev1.EventTypeWarning, "IPAddressWrongReference", "IPAddressAllocation", "IPAddress: %s for Service %s/%s has a wrong reference; cleaning up", addr.Name, svc.Namespace, svc.Name)
	return r.delete(ctx, addr)
}

// delete deletes the IPAddress if it is still the one read.
func (r *ipRepairPass) delete(ctx context.Context, addr *networkingv1.IPAddress) error {
	uid := addr.UID
	err := r.c.client.NetworkingV1().IPAddresses().Delete(ctx, addr.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	return err
}

func (r *ipRepairPass) recreate(ctx context.Context, ip netip.Addr, svc *corev1.Service) error {
	if held, err := r.holds(ctx, svc, ip.String()); err != nil || !held {
		return err
	}
	err := r.c.client.NetworkingV1().IPAddresses().Delete(ctx, ip.String(), metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	_, err = r.c.client.NetworkingV1().IPAddresses().Create(ctx, newIPAddress(ip, svc), metav1.CreateOptions{})
	return err
}

// holds reports whether svc, read now (not from the cache), still exists
// and holds ip.
func (r *ipRepairPass) holds(ctx context.Context, svc *corev1.Service, ip string) (bool, error) {
	live, err := r.c.client.CoreV1().Services(svc.Namespace).Get(ctx, svc.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return live.UID == svc.UID && slices.Contains(live.Spec.ClusterIPs, ip), nil
}

// inServiceCIDR: ip is an address one of the ServiceCIDRs could hand
// out, neither a network address nor an IPv4 broadcast address (kube's
// isIPOutOfRange, servicecidr.ContainsIP).
func (r *ipRepairPass) inServiceCIDR(ip netip.Addr) bool {
	return len(containingAddress(r.cidrs, ip)) > 0
}

// newIPAddress is the IPAddress the allocator makes for svc's ip.
func newIPAddress(ip netip.Addr, svc *corev1.Service) *networkingv1.IPAddress {
	return &networkingv1.IPAddress{
		ObjectMeta: metav1.ObjectMeta{Name: ip.String(), Labels: map[string]string{
			networkingv1.LabelIPAddressFamily: string(ipFamily(ip)),
			networkingv1.LabelManagedBy:       ipAllocatorName,
		}},
		Spec: networkingv1.IPAddressSpec{ParentRef: &networkingv1.ParentReference{
			Resource: "services", Namespace: svc.Namespace, Name: svc.Name}},
	}
}

func ipFamily(ip netip.Addr) corev1.IPFamily {
	if ip.Is6() {
		return corev1.IPv6Protocol
	}
	return corev1.IPv4Protocol
}

// allocatorLabels: the family and managed-by labels the allocator sets.
func allocatorLabels(addr *networkingv1.IPAddress) bool {
	ip, err := netip.ParseAddr(addr.Name)
	return err == nil && addr.Labels[networkingv1.LabelIPAddressFamily] == string(ipFamily(ip)) &&
		addr.Labels[networkingv1.LabelManagedBy] == ipAllocatorName
}
