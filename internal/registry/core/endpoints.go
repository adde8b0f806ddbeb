package core

import (
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/registry"
)

// EndpointIP checks an endpoint's address as kube-apiserver does: an IP
// that reaches a cluster endpoint, not the API server's own machine
// (unspecified, loopback, link-local). allowLoopback
// (--proxy-allow-loopback) accepts those, for local development where
// kapi's services are processes on the same machine.
func EndpointIP(ip string, p *field.Path, allowLoopback bool) field.ErrorList {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return field.ErrorList{field.Invalid(p, ip, "must be a valid IP address")}
	}
	if allowLoopback {
		return nil
	}
	var msg string
	switch {
	case addr.IsUnspecified():
		msg = "may not be unspecified (0.0.0.0, ::)"
	case addr.IsLoopback():
		msg = "may not be in the loopback range (127.0.0.0/8, ::1/128)"
	case addr.IsLinkLocalUnicast():
		msg = "may not be in the link-local range (169.254.0.0/16, fe80::/10)"
	case addr.IsLinkLocalMulticast():
		msg = "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"
	default:
		return nil
	}
	return field.ErrorList{field.Invalid(p, ip, msg)}
}

// EndpointsHooks validate the addresses of core/v1 Endpoints, and warn
// about them as kube does.
func EndpointsHooks(allowLoopback bool) *registry.Hooks {
	return &registry.Hooks{Warnings: endpointsWarnings, Validate: func(obj, _ runtime.Object) field.ErrorList {
		var errs field.ErrorList
		for i, s := range obj.(*corev1.Endpoints).Subsets {
			sp := field.NewPath("subsets").Index(i)
			for name, addrs := range map[string][]corev1.EndpointAddress{"addresses": s.Addresses, "notReadyAddresses": s.NotReadyAddresses} {
				for j, a := range addrs {
					errs = append(errs, EndpointIP(a.IP, sp.Child(name).Index(j).Child("ip"), allowLoopback)...)
				}
			}
		}
		return errs
	}}
}
