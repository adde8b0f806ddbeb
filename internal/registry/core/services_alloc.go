package core

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/klog/v2"

	"kapi/internal/registry"
	"kapi/internal/registry/core/allocation"
)

// ServiceAllocators reserve what Services hold outside their objects:
// cluster IPs (recorded as IPAddress objects) and node ports (a bitmap in
// etcd). Both live in etcd, so replicas sharing it never collide.
type ServiceAllocators struct {
	IPs   *allocation.ClusterIPs
	Ports *allocation.NodePorts
}

// ServiceHooks are the Service hooks with allocation: on create (and on
// an update that needs more, such as a change of type to NodePort) a
// Service gets a cluster IP, the requested one if it is free and in
// range, unless it is headless or ExternalName, and NodePort and
// LoadBalancer services get node ports; what a Service stops holding, or
// held when deleted, is given back.
func ServiceHooks(a *ServiceAllocators) *registry.Hooks {
	h := *serviceHooks
	h.Allocate = a.allocate
	h.Release = a.release
	return &h
}

var serviceKind = corev1.SchemeGroupVersion.WithKind("Service").GroupKind()

// allocate reserves for svc what old (nil on create) does not hold
// already; on an error it gives back what it took.
func (a *ServiceAllocators) allocate(ctx context.Context, obj, oldObj runtime.Object, dryRun bool) (func(), error) {
	svc := obj.(*corev1.Service)
	var old *corev1.Service
	if oldObj != nil {
		old = oldObj.(*corev1.Service)
	}
	owner := allocation.Owner{Namespace: svc.Namespace, Name: svc.Name}
	var undos []func()
	undo := func() {
		for i := len(undos) - 1; i >= 0; i-- {
			undos[i]()
		}
	}
	fail := func(err error) (func(), error) {
		undo()
		return nil, err
	}
	// Undos run after the request may have ended: detach them.
	bg := context.WithoutCancel(ctx)

	if needsClusterIP(svc) && (old == nil || !needsClusterIP(old) || old.Spec.ClusterIP != svc.Spec.ClusterIP) {
		ip, err := a.clusterIP(ctx, svc, owner, dryRun)
		if err != nil {
			return fail(err)
		}
		if ip.IsValid() && !dryRun {
			undos = append(undos, func() { logRelease(a.IPs.Release(bg, ip, owner)) })
		}
	}
	// Node ports: the entries' and the health check's. Requested ports are
	// taken first, so a port drawn for one entry never takes a port
	// another entry names.
	type want struct {
		port    *int32
		path    *field.Path
		service int32 // the entry's port number; 0 for the health check
	}
	var wants []want
	held := map[int32]bool{} // the old service's, and those taken here
	if needsNodePorts(svc) {
		if old != nil && needsNodePorts(old) {
			for _, p := range old.Spec.Ports {
				held[p.NodePort] = true
			}
		}
		for i := range svc.Spec.Ports {
			wants = append(wants, want{&svc.Spec.Ports[i].NodePort, field.NewPath("spec", "ports").Index(i).Child("nodePort"), svc.Spec.Ports[i].Port})
		}
	}
	if needsHealthCheckPort(svc) && (old == nil || old.Spec.HealthCheckNodePort != svc.Spec.HealthCheckNodePort || svc.Spec.HealthCheckNodePort == 0) {
		wants = append(wants, want{&svc.Spec.HealthCheckNodePort, field.NewPath("spec", "healthCheckNodePort"), 0})
	}
	take := func(w want) error {
		port, err := a.nodePort(ctx, svc.Name, int(*w.port), w.path, dryRun)
		if err != nil {
			return err
		}
		*w.port = int32(port)
		held[int32(port)] = true
		if port != 0 && !dryRun {
			undos = append(undos, func() { logRelease(a.Ports.Release(bg, port)) })
		}
		return nil
	}
	for _, w := range wants {
		// An entry may name a port the old service held, or one taken here
		// for the same port number's other protocol.
		if *w.port != 0 && (w.service == 0 || !held[*w.port]) {
			if err := take(w); err != nil {
				return fail(err)
			}
		}
	}
	for _, w := range wants {
		// An entry shares the node port of the entry with its port number
		// (another protocol), as in kube-apiserver.
		for _, q := range wants {
			if *w.port == 0 && w.service != 0 && q.service == w.service {
				*w.port = *q.port
			}
		}
		if *w.port != 0 {
			continue
		}
		if err := take(w); err != nil {
			return fail(err)
		}
	}
	return undo, nil
}

// clusterIP reserves svc's requested cluster IP, or the next free one,
// and sets it; with dryRun a requested IP is checked and none is drawn.
func (a *ServiceAllocators) clusterIP(ctx context.Context, svc *corev1.Service, owner allocation.Owner, dryRun bool) (netip.Addr, error) {
	s := &svc.Spec
	if s.ClusterIP == "" {
		if dryRun {
			return netip.Addr{}, nil
		}
		ip, err := a.IPs.AllocateNext(ctx, owner, false)
		if err != nil {
			if errors.Is(err, allocation.ErrFull) {
				return ip, apierrors.NewInternalError(fmt.Errorf("failed to allocate a serviceIP: %v", err))
			}
			return ip, err
		}
		s.ClusterIP, s.ClusterIPs = ip.String(), []string{ip.String()}
		defaultClusterIPs(svc)
		return ip, nil
	}
	ip, err := netip.ParseAddr(s.ClusterIP)
	if err != nil {
		return ip, nil // validation has said so
	}
	if err := a.IPs.Allocate(ctx, ip, owner, dryRun); err != nil {
		var nr *allocation.ErrNotInRange
		if errors.Is(err, allocation.ErrAllocated) || errors.Is(err, allocation.ErrMismatchedNetwork) || errors.As(err, &nr) {
			return netip.Addr{}, apierrors.NewInvalid(serviceKind, svc.Name, field.ErrorList{field.Invalid(field.NewPath("spec", "clusterIPs"),
				s.ClusterIPs, fmt.Sprintf("failed to allocate IP %v: %v", ip, err))})
		}
		return netip.Addr{}, err
	}
	return ip, nil
}

// nodePort reserves port, or the next free one when it is 0, and
// returns it; errors name path. With dryRun a requested port is checked
// and none is drawn.
func (a *ServiceAllocators) nodePort(ctx context.Context, name string, port int, path *field.Path, dryRun bool) (int, error) {
	if port == 0 {
		if dryRun {
			return 0, nil
		}
		got, err := a.Ports.AllocateNext(ctx, false)
		if errors.Is(err, allocation.ErrFull) {
			return 0, apierrors.NewInternalError(fmt.Errorf("failed to allocate a nodePort: %v", err))
		}
		return got, err
	}
	err := a.Ports.Allocate(ctx, port, dryRun)
	var nr *allocation.ErrPortNotInRange
	if errors.Is(err, allocation.ErrPortAllocated) || errors.As(err, &nr) {
		return 0, apierrors.NewInvalid(serviceKind, name, field.ErrorList{field.Invalid(path, port, err.Error())})
	}
	return port, err
}

// release gives back what old held and svc (nil: deleted) does not.
func (a *ServiceAllocators) release(ctx context.Context, obj, oldObj runtime.Object) {
	old := oldObj.(*corev1.Service)
	var svc *corev1.Service
	if obj != nil {
		svc = obj.(*corev1.Service)
	}
	owner := allocation.Owner{Namespace: old.Namespace, Name: old.Name}
	if needsClusterIP(old) && old.Spec.ClusterIP != "" && (svc == nil || !needsClusterIP(svc) || svc.Spec.ClusterIP != old.Spec.ClusterIP) {
		if ip, err := netip.ParseAddr(old.Spec.ClusterIP); err == nil {
			logRelease(a.IPs.Release(ctx, ip, owner))
		}
	}
	kept := map[int32]bool{}
	if svc != nil {
		for _, p := range svc.Spec.Ports {
			kept[p.NodePort] = true
		}
		kept[svc.Spec.HealthCheckNodePort] = true
	}
	var free []int
	for _, p := range old.Spec.Ports {
		if p.NodePort != 0 && !kept[p.NodePort] {
			free = append(free, int(p.NodePort))
		}
	}
	if hc := old.Spec.HealthCheckNodePort; hc != 0 && !kept[hc] {
		free = append(free, int(hc))
	}
	if len(free) > 0 {
		logRelease(a.Ports.Release(ctx, free...))
	}
}

// logRelease logs a release that failed: the value stays taken until the
// repair loops (controllers.ClusterIPRepair, NodePortRepair) free it.
func logRelease(err error) {
	if err != nil {
		klog.ErrorS(err, "releasing a service allocation")
	}
}
