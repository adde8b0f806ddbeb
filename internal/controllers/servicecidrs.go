package controllers

import (
	"context"
	"encoding/json"
	"net/netip"
	"slices"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	metav1apply "k8s.io/client-go/applyconfigurations/meta/v1"
	networkingv1apply "k8s.io/client-go/applyconfigurations/networking/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"

	"kapi/internal/registry/core/allocation"
)

// ServiceCIDRs is kube-controller-manager's service-cidr-controller
// (pkg/controller/servicecidrs): a ServiceCIDR gets the finalizer
// networking.k8s.io/service-cidr-finalizer and the condition Ready=True,
// after which the cluster IP allocator hands out its addresses. One being
// deleted keeps its finalizer, with Ready=False (reason Terminating),
// while an IPAddress of the allocator lies in it and in no other
// ServiceCIDR (canDeleteCIDR); once none does, and DeletionGracePeriod
// has passed since its deletion (for every allocator to have seen it and
// stopped handing out its addresses), the finalizer comes off.
type ServiceCIDRs struct {
	env    *Env
	client kubernetes.Interface
	// DeletionGracePeriod is kube's deletionGracePeriod.
	DeletionGracePeriod time.Duration
	now                 func() time.Time
}

const (
	// serviceCIDRFinalizer is kube's ServiceCIDRProtectionFinalizer.
	serviceCIDRFinalizer = "networking.k8s.io/service-cidr-finalizer"
	// serviceCIDRController is the loop's name and field manager.
	serviceCIDRController = "service-cidr-controller"
)

// NewServiceCIDRs returns the loop; it acts as
// kube-system/service-cidrs-controller, as kube-controller-manager's.
func NewServiceCIDRs(env *Env) *ServiceCIDRs {
	return &ServiceCIDRs{env: env, client: kubernetes.NewForConfigOrDie(env.ClientFor("service-cidrs-controller")),
		DeletionGracePeriod: 10 * time.Second, now: time.Now}
}

// Run works until ctx ends.
func (c *ServiceCIDRs) Run(ctx context.Context) {
	queue := NewQueue[string]("servicecidrs")
	cidrs, ips := c.env.Informers.For(serviceCIDRsGVR), c.env.Informers.For(ipAddressesGVR)
	cidrs.Handle(ctx, func(ev Event) {
		sc := ev.Object.(*networkingv1.ServiceCIDR)
		queue.Add(sc.Name)
		// A new ServiceCIDR may take over the addresses that held up the
		// deletion of one it overlaps (kube's addServiceCIDR).
		if ev.Type == watch.Added {
			for _, name := range overlapping(cidrs, sc) {
				queue.Add(name)
			}
		}
	})
	// An address made may hold up a deletion, one released may let it go
	// (kube's addIPAddress, deleteIPAddress).
	ips.Handle(ctx, func(ev Event) {
		if ev.Type == watch.Added || ev.Type == watch.Deleted {
			for _, name := range containing(cidrs, ev.Object.(*networkingv1.IPAddress)) {
				queue.Add(name)
			}
		}
	})
	work(ctx, queue, serviceCIDRController, func(name string) error {
		obj, ok := cidrs.Get("", name)
		if !ok {
			return nil
		}
		sc := obj.(*networkingv1.ServiceCIDR)
		if sc.DeletionTimestamp != nil {
			return c.syncDeleting(ctx, queue, cidrs, ips, sc)
		}
		if err := c.addFinalizer(ctx, sc); err != nil {
			return err
		}
		return c.setReady(ctx, sc, metav1.Condition{Type: networkingv1.ServiceCIDRConditionReady, Status: metav1.ConditionTrue,
			Message: "Kubernetes Service CIDR is ready"})
	}, cidrs, ips)
}

// syncDeleting is kube's sync of a ServiceCIDR being deleted: Ready=False
// while addresses hold it up, else the finalizer off after the grace
// period.
func (c *ServiceCIDRs) syncDeleting(ctx context.Context, queue workqueueOf[string], cidrs, ips *Informer, sc *networkingv1.ServiceCIDR) error {
	if !canDeleteCIDR(cidrs, ips, sc) {
		return c.setReady(ctx, sc, metav1.Condition{Type: networkingv1.ServiceCIDRConditionReady, Status: metav1.ConditionFalse,
			Reason:  networkingv1.ServiceCIDRReasonTerminating,
			Message: "There are still IPAddresses referencing the ServiceCIDR, please remove them or create a new ServiceCIDR"})
	}
	if wait := c.DeletionGracePeriod - c.now().Sub(sc.DeletionTimestamp.Time); wait > 0 {
		queue.AddAfter(sc.Name, wait)
		return nil
	}
	return c.removeFinalizer(ctx, sc)
}

// canDeleteCIDR is kube's: a ServiceCIDR whose every CIDR another
// ServiceCIDR holds too may go; otherwise only when no IPAddress of the
// allocator lies in it and in no other ServiceCIDR.
func canDeleteCIDR(cidrs, ips *Informer, sc *networkingv1.ServiceCIDR) bool {
	hasParent := true
	for _, cidr := range sc.Spec.CIDRs {
		if p, err := netip.ParsePrefix(cidr); err == nil {
			if holders := containingPrefix(cidrs, p); len(holders) == 0 || len(holders) == 1 && holders[0] == sc.Name {
				hasParent = false
			}
		}
	}
	if hasParent {
		return true
	}
	for _, obj := range ips.List("") {
		addr := obj.(*networkingv1.IPAddress)
		if addr.Labels[networkingv1.LabelManagedBy] != ipAllocatorName {
			continue
		}
		ip, err := netip.ParseAddr(addr.Name)
		if err != nil || !familyOfAny(sc, ip) {
			continue
		}
		if holders := containingAddress(cidrs, ip); len(holders) == 1 && holders[0] == sc.Name {
			klog.V(2).InfoS("Deleting ServiceCIDR blocked by IP address", "serviceCIDR", sc.Name, "ipAddress", addr.Name)
			return false
		}
	}
	return true
}

// familyOfAny: sc has a CIDR of ip's family (kube lists the addresses by
// the family label of each of its CIDRs).
func familyOfAny(sc *networkingv1.ServiceCIDR, ip netip.Addr) bool {
	for _, cidr := range sc.Spec.CIDRs {
		if p, err := netip.ParsePrefix(cidr); err == nil && p.Addr().Is4() == ip.Is4() {
			return true
		}
	}
	return false
}

// addFinalizer is kube's addServiceCIDRFinalizerIfNeeded: a strategic
// merge patch adds the finalizer to those there are.
func (c *ServiceCIDRs) addFinalizer(ctx context.Context, sc *networkingv1.ServiceCIDR) error {
	if slices.Contains(sc.Finalizers, serviceCIDRFinalizer) {
		return nil
	}
	return c.patch(ctx, sc.Name, map[string]any{"metadata": map[string]any{"finalizers": []string{serviceCIDRFinalizer}}})
}

// removeFinalizer is kube's removeServiceCIDRFinalizerIfNeeded.
func (c *ServiceCIDRs) removeFinalizer(ctx context.Context, sc *networkingv1.ServiceCIDR) error {
	if !slices.Contains(sc.Finalizers, serviceCIDRFinalizer) {
		return nil
	}
	return c.patch(ctx, sc.Name, map[string]any{"metadata": map[string]any{"$deleteFromPrimitiveList/finalizers": []string{serviceCIDRFinalizer}}})
}

func (c *ServiceCIDRs) patch(ctx context.Context, name string, patch map[string]any) error {
	body, err := json.Marshal(patch)
	if err != nil {
		return err
	}
	_, err = c.client.NetworkingV1().ServiceCIDRs().Patch(ctx, name, types.StrategicMergePatchType, body, metav1.PatchOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// setReady is kube's updateConditionIfNeeded: unless the Ready condition
// already has want's status, reason and message, it is applied to the
// status, forced, as the field manager service-cidr-controller.
func (c *ServiceCIDRs) setReady(ctx context.Context, sc *networkingv1.ServiceCIDR, want metav1.Condition) error {
	if cur := meta.FindStatusCondition(sc.Status.Conditions, want.Type); cur != nil &&
		cur.Status == want.Status && cur.Reason == want.Reason && cur.Message == want.Message {
		return nil
	}
	apply := networkingv1apply.ServiceCIDR(sc.Name).WithStatus(networkingv1apply.ServiceCIDRStatus().WithConditions(
		metav1apply.Condition().WithType(want.Type).WithStatus(want.Status).WithReason(want.Reason).
			WithMessage(want.Message).WithLastTransitionTime(metav1.NewTime(c.now()))))
	_, err := c.client.NetworkingV1().ServiceCIDRs().ApplyStatus(ctx, apply, metav1.ApplyOptions{FieldManager: serviceCIDRController, Force: true})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// overlapping names the ServiceCIDRs with a CIDR that overlaps one of
// sc's (kube's servicecidr.OverlapsPrefix).
func overlapping(cidrs *Informer, sc *networkingv1.ServiceCIDR) []string {
	var out []string
	for _, cidr := range sc.Spec.CIDRs {
		if p, err := netip.ParsePrefix(cidr); err == nil {
			out = append(out, serviceCIDRsWhere(cidrs, func(q netip.Prefix) bool { return q.Overlaps(p) })...)
		}
	}
	return out
}

// containing names the ServiceCIDRs that hold an IPAddress the allocator
// made (kube's containingServiceCIDRs).
func containing(cidrs *Informer, addr *networkingv1.IPAddress) []string {
	if addr.Labels[networkingv1.LabelManagedBy] != ipAllocatorName {
		return nil
	}
	ip, err := netip.ParseAddr(addr.Name)
	if err != nil {
		return nil
	}
	return containingAddress(cidrs, ip)
}

// containingPrefix names the ServiceCIDRs with a CIDR that holds p
// (kube's servicecidr.ContainsPrefix).
func containingPrefix(cidrs *Informer, p netip.Prefix) []string {
	return serviceCIDRsWhere(cidrs, func(q netip.Prefix) bool { return q.Bits() <= p.Bits() && q.Contains(p.Addr()) })
}

// containingAddress names the ServiceCIDRs with a CIDR that holds ip as
// an address it could hand out (kube's servicecidr.ContainsAddress).
func containingAddress(cidrs *Informer, ip netip.Addr) []string {
	return serviceCIDRsWhere(cidrs, func(q netip.Prefix) bool { return allocation.PrefixContainsIP(q, ip) })
}

// serviceCIDRsWhere names the ServiceCIDRs with a CIDR that match
// accepts, each once.
func serviceCIDRsWhere(cidrs *Informer, match func(netip.Prefix) bool) []string {
	var out []string
	for _, obj := range cidrs.List("") {
		sc := obj.(*networkingv1.ServiceCIDR)
		for _, cidr := range sc.Spec.CIDRs {
			if p, err := netip.ParsePrefix(cidr); err == nil && match(p) {
				out = append(out, sc.Name)
				break
			}
		}
	}
	return out
}
