package networking

// An Ingress's status, as kube-apiserver 1.37 validates a write of it
// through the status subresource: the status strategy's ValidateUpdate,
// ValidateIngressStatusUpdate, which checks the load balancer's ingress
// entries (ValidateIngressLoadBalancerStatus): each entry's ip parses (an
// ip the stored status already held passes as it is) and a hostname is a
// DNS name. kube checks nothing else of the status: not the entries'
// ports, their protocols or errors. A status write keeps the stored spec,
// so the spec is not checked again; the metadata is checked as for every
// write, elsewhere.

import (
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/registry"
	"kapi/internal/registry/core"
)

// ingressStatus is the ingresses' status subresource, with kube's checks
// and warnings of the status written in place of the spec's.
var ingressStatus = func() *registry.Subresource {
	s := registry.ValidatedStatus(func(obj, old runtime.Object) field.ErrorList {
		return validateIngressLoadBalancer(&obj.(*networkingv1.Ingress).Status.LoadBalancer,
			&old.(*networkingv1.Ingress).Status.LoadBalancer, field.NewPath("status", "loadBalancer"))
	})
	// kube's status strategy warns of an ip written in a form that is
	// valid but not canonical.
	s.Warnings = func(obj, _ runtime.Object) []string {
		var ips []string
		for _, in := range obj.(*networkingv1.Ingress).Status.LoadBalancer.Ingress {
			ips = append(ips, in.IP)
		}
		return core.LoadBalancerIPWarnings(ips)
	}
	return s
}()

// validateIngressLoadBalancer is kube's ValidateIngressLoadBalancerStatus:
// the checks of a load balancer's entries that a Service's status shares
// (core.ValidateLoadBalancerIP, core.ValidateLoadBalancerHostname),
// without the Service's ipMode, which an Ingress's entries do not have.
func validateIngressLoadBalancer(lb, old *networkingv1.IngressLoadBalancerStatus, path *field.Path) field.ErrorList {
	stored := make([]string, 0, len(old.Ingress))
	for _, in := range old.Ingress {
		if in.IP != "" {
			stored = append(stored, in.IP)
		}
	}
	var errs field.ErrorList
	for i, in := range lb.Ingress {
		p := path.Child("ingress").Index(i)
		if in.IP != "" {
			errs = append(errs, core.ValidateLoadBalancerIP(in.IP, stored, p.Child("ip"))...)
		}
		errs = append(errs, core.ValidateLoadBalancerHostname(in.Hostname, p.Child("hostname"))...)
	}
	return errs
}
