package core

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	netutils "k8s.io/utils/net"

	"kapi/internal/registry"
)

// EndpointIP is kube-apiserver's ValidateEndpointIP, for the addresses
// of Endpoints and EndpointSlices: an IP that reaches a cluster endpoint,
// not the API server's own machine (unspecified, loopback, link-local).
// allowLoopback (--proxy-allow-loopback) accepts those, for local
// development where kapi's services are processes on the same machine.
func EndpointIP(ip string, p *field.Path, allowLoopback bool) field.ErrorList {
	addr := netutils.ParseIPSloppy(ip)
	if addr == nil {
		return field.ErrorList{field.Invalid(p, ip, "must be a valid IP address")}
	}
	if allowLoopback {
		return nil
	}
	var errs field.ErrorList
	if addr.IsUnspecified() {
		errs = append(errs, field.Invalid(p, ip, fmt.Sprintf("may not be unspecified (%v)", ip)))
	}
	if addr.IsLoopback() {
		errs = append(errs, field.Invalid(p, ip, "may not be in the loopback range (127.0.0.0/8, ::1/128)"))
	}
	if addr.IsLinkLocalUnicast() {
		errs = append(errs, field.Invalid(p, ip, "may not be in the link-local range (169.254.0.0/16, fe80::/10)"))
	}
	if addr.IsLinkLocalMulticast() {
		errs = append(errs, field.Invalid(p, ip, "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"))
	}
	return errs
}

// LegacyIP is kube's IsValidIPForLegacyField as kube 1.36 and later call
// it (StrictIPCIDRValidation on): any IP form but leading zeros and
// IPv4-mapped IPv6.
func LegacyIP(p *field.Path, ip string) field.ErrorList {
	return validation.IsValidIPForLegacyField(p, ip, true, nil)
}

// EndpointsHooks are kube's Endpoints strategy: ports' protocol TCP by
// default; kube's ValidateEndpoints (every subset has an address; each
// address a valid IP that reaches an endpoint, a hostname and node name
// as names; each port named when there are several, in range, of a known
// protocol), whose errors an update that leaves the subsets as they were
// does not get; and kube's warnings.
func EndpointsHooks(allowLoopback bool) *registry.Hooks {
	return &registry.Hooks{
		Default:  func(obj runtime.Object) { defaultEndpoints(obj.(*corev1.Endpoints)) },
		Warnings: endpointsWarnings,
		Validate: func(obj, old runtime.Object) field.ErrorList {
			ep := obj.(*corev1.Endpoints)
			errs := validateEndpointSubsets(ep.Subsets, allowLoopback)
			if len(errs) > 0 && old != nil && apiequality.Semantic.DeepEqual(old.(*corev1.Endpoints).Subsets, ep.Subsets) {
				return nil
			}
			return errs
		},
	}
}

func defaultEndpoints(ep *corev1.Endpoints) {
	for i := range ep.Subsets {
		for j := range ep.Subsets[i].Ports {
			if p := &ep.Subsets[i].Ports[j]; p.Protocol == "" {
				p.Protocol = corev1.ProtocolTCP
			}
		}
	}
}

func validateEndpointSubsets(subsets []corev1.EndpointSubset, allowLoopback bool) field.ErrorList {
	var errs field.ErrorList
	for i := range subsets {
		ss := &subsets[i]
		p := field.NewPath("subsets").Index(i)
		if len(ss.Addresses) == 0 && len(ss.NotReadyAddresses) == 0 {
			errs = append(errs, field.Required(p, "must specify `addresses` or `notReadyAddresses`"))
		}
		for j := range ss.Addresses {
			errs = append(errs, validateEndpointAddress(&ss.Addresses[j], p.Child("addresses").Index(j), allowLoopback)...)
		}
		for j := range ss.NotReadyAddresses {
			errs = append(errs, validateEndpointAddress(&ss.NotReadyAddresses[j], p.Child("notReadyAddresses").Index(j), allowLoopback)...)
		}
		for j := range ss.Ports {
			errs = append(errs, validateEndpointPort(&ss.Ports[j], len(ss.Ports) > 1, p.Child("ports").Index(j))...)
		}
	}
	return errs
}

func validateEndpointAddress(a *corev1.EndpointAddress, p *field.Path, allowLoopback bool) field.ErrorList {
	errs := LegacyIP(p.Child("ip"), a.IP)
	if a.Hostname != "" {
		errs = append(errs, dns1123Label(a.Hostname, p.Child("hostname"))...)
	}
	if a.NodeName != nil {
		for _, msg := range validation.IsDNS1123Subdomain(*a.NodeName) {
			errs = append(errs, field.Invalid(p.Child("nodeName"), *a.NodeName, msg))
		}
	}
	return append(errs, EndpointIP(a.IP, p.Child("ip"), allowLoopback)...)
}

func validateEndpointPort(port *corev1.EndpointPort, requireName bool, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if requireName && port.Name == "" {
		errs = append(errs, field.Required(p.Child("name"), ""))
	} else if port.Name != "" {
		errs = append(errs, dns1123Label(port.Name, p.Child("name"))...)
	}
	for _, msg := range validation.IsValidPortNum(int(port.Port)) {
		errs = append(errs, field.Invalid(p.Child("port"), port.Port, msg))
	}
	errs = append(errs, enum(string(port.Protocol), portProtocols, p.Child("protocol"))...)
	if port.AppProtocol != nil {
		for _, msg := range validation.IsQualifiedName(*port.AppProtocol) {
			errs = append(errs, field.Invalid(p.Child("appProtocol"), *port.AppProtocol, msg))
		}
	}
	return errs
}

// dns1123Label is kube's ValidateDNS1123Label.
func dns1123Label(value string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsDNS1123Label(value) {
		errs = append(errs, field.Invalid(p, value, msg))
	}
	return errs
}
