package core

// A Service's status, as kube-apiserver 1.37 validates a write of it
// through the status subresource: the status strategy's ValidateUpdate,
// ValidateServiceStatusUpdate, which checks the load balancer's ingress
// entries (ValidateLoadBalancerStatus) against the stored spec. Only a
// LoadBalancer service has them; each entry's ip parses (an ip the stored
// status already held passes as it is), an ip has an ipMode (VIP or
// Proxy) and only an ip has one, and a hostname is a DNS name. kube
// checks nothing else of the status: not the entries' ports, nor the
// conditions. A status write keeps the stored spec, so the spec is not
// checked again; the metadata is checked as for every write, elsewhere.

import (
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	netutils "k8s.io/utils/net"

	"kapi/internal/registry"
)

// serviceStatus is the services' status subresource, with kube's checks
// of the status written in place of the spec's. Its PrepareForUpdate is
// kube's status strategy's, which only keeps the stored spec (Write does
// that): none of the row's update preparation, which clears the load
// balancer's status of a service that is not a LoadBalancer, where a
// status write is refused instead.
var serviceStatus = func() *registry.Subresource {
	s := registry.ValidatedStatus(func(obj, old runtime.Object) field.ErrorList {
		svc, was := obj.(*corev1.Service), old.(*corev1.Service)
		return validateLoadBalancerStatus(&svc.Status.LoadBalancer, &was.Status.LoadBalancer, &svc.Spec,
			field.NewPath("status", "loadBalancer"))
	})
	s.PrepareForUpdate = func(_, _ runtime.Object) {}
	s.Warnings = func(obj, _ runtime.Object) []string {
		var ips []string
		for _, in := range obj.(*corev1.Service).Status.LoadBalancer.Ingress {
			ips = append(ips, in.IP)
		}
		return LoadBalancerIPWarnings(ips)
	}
	return s
}()

// LoadBalancerIPWarnings are kube's status strategies' warnings (a
// Service's, an Ingress's) of the load balancer's ingress ips, in their
// order: GetWarningsForIP of each ip given, an ip valid but not in its
// canonical form.
func LoadBalancerIPWarnings(ips []string) []string {
	var w []string
	for i, ip := range ips {
		if ip != "" {
			w = append(w, validation.GetWarningsForIP(field.NewPath("status", "loadBalancer", "ingress").Index(i), ip)...)
		}
	}
	return w
}

// loadBalancerIPModes are kube's supportedLoadBalancerIPMode, sorted as
// its message lists them.
var loadBalancerIPModes = []corev1.LoadBalancerIPMode{corev1.LoadBalancerIPModeProxy, corev1.LoadBalancerIPModeVIP}

// validateLoadBalancerStatus is kube's ValidateLoadBalancerStatus: a
// service that is not a LoadBalancer has no ingress entries; a
// LoadBalancer's are checked one by one.
func validateLoadBalancerStatus(lb, old *corev1.LoadBalancerStatus, spec *corev1.ServiceSpec, path *field.Path) field.ErrorList {
	ingress := path.Child("ingress")
	if spec.Type != corev1.ServiceTypeLoadBalancer && len(lb.Ingress) != 0 {
		return field.ErrorList{field.Forbidden(ingress, "may only be used when `spec.type` is 'LoadBalancer'")}
	}
	stored := make([]string, 0, len(old.Ingress))
	for _, in := range old.Ingress {
		if in.IP != "" {
			stored = append(stored, in.IP)
		}
	}
	var errs field.ErrorList
	for i := range lb.Ingress {
		in, p := &lb.Ingress[i], ingress.Index(i)
		if in.IP != "" {
			errs = append(errs, ValidateLoadBalancerIP(in.IP, stored, p.Child("ip"))...)
		}
		errs = append(errs, validateIPMode(in, p.Child("ipMode"))...)
		errs = append(errs, ValidateLoadBalancerHostname(in.Hostname, p.Child("hostname"))...)
	}
	return errs
}

// validateIPMode: an entry with an ip says how the load balancer sends
// traffic to it (the defaults give a LoadBalancer's VIP), one without has
// no mode, and the mode is one kube knows.
func validateIPMode(in *corev1.LoadBalancerIngress, p *field.Path) field.ErrorList {
	switch {
	case in.IPMode == nil && in.IP != "":
		return field.ErrorList{field.Required(p, "must be specified when `ip` is set")}
	case in.IPMode != nil && in.IP == "":
		return field.ErrorList{field.Forbidden(p, "may not be specified when `ip` is not set")}
	case in.IPMode != nil && !slices.Contains(loadBalancerIPModes, *in.IPMode):
		return field.ErrorList{field.NotSupported(p, in.IPMode, loadBalancerIPModes)}
	}
	return nil
}

// ValidateLoadBalancerIP is the check of a load balancer ingress entry's
// ip that kube's ValidateLoadBalancerStatus (Services) and
// ValidateIngressLoadBalancerStatus (Ingresses) share:
// IsValidIPForLegacyField with StrictIPCIDRValidation (on since kube
// 1.36), so no leading zeros and no IPv4-mapped IPv6; an ip in stored
// (the stored status's ips) passes as it is, so that a status written
// before strict parsing can be written back.
func ValidateLoadBalancerIP(ip string, stored []string, p *field.Path) field.ErrorList {
	return validation.IsValidIPForLegacyField(p, ip, true, stored)
}

// ValidateLoadBalancerHostname is the check of a load balancer ingress
// entry's hostname, when given, that kube's ValidateLoadBalancerStatus
// and ValidateIngressLoadBalancerStatus share: a DNS subdomain, and not
// an IP address, which belongs in ip ("10.0.0.1" passes as a subdomain,
// so it gets the second error alone).
func ValidateLoadBalancerHostname(host string, p *field.Path) field.ErrorList {
	if host == "" {
		return nil
	}
	var errs field.ErrorList
	for _, msg := range validation.IsDNS1123Subdomain(host) {
		errs = append(errs, field.Invalid(p, host, msg))
	}
	if netutils.ParseIPSloppy(host) != nil {
		errs = append(errs, field.Invalid(p, host, "must be a DNS name, not an IP address"))
	}
	return errs
}
