package discovery

import (
	"net/netip"

	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/registry"
	"kapi/internal/registry/core"
)

// kube-apiserver's limits of an EndpointSlice.
const (
	maxEndpoints = 1000
	maxAddresses = 100
	maxPorts     = 20000
)

// Hooks validate EndpointSlices as kube-apiserver does: the address type,
// each endpoint's addresses of that type (never loopback or link-local
// unless allowLoopback, --proxy-allow-loopback), unique port names and
// known protocols; and warn about them as kube does.
func Hooks(allowLoopback bool) *registry.Hooks {
	return &registry.Hooks{Warnings: endpointSliceWarnings, Validate: func(obj, _ runtime.Object) field.ErrorList {
		return validate(obj.(*discoveryv1.EndpointSlice), allowLoopback)
	}}
}

func validate(s *discoveryv1.EndpointSlice, allowLoopback bool) field.ErrorList {
	var errs field.ErrorList
	types := []string{string(discoveryv1.AddressTypeIPv4), string(discoveryv1.AddressTypeIPv6), string(discoveryv1.AddressTypeFQDN)}
	switch s.AddressType {
	case discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6, discoveryv1.AddressTypeFQDN:
	case "":
		errs = append(errs, field.Required(field.NewPath("addressType"), ""))
	default:
		errs = append(errs, field.NotSupported(field.NewPath("addressType"), s.AddressType, types))
	}
	ep := field.NewPath("endpoints")
	if len(s.Endpoints) > maxEndpoints {
		errs = append(errs, field.TooMany(ep, len(s.Endpoints), maxEndpoints))
	}
	for i, e := range s.Endpoints {
		ap := ep.Index(i).Child("addresses")
		switch {
		case len(e.Addresses) == 0:
			errs = append(errs, field.Required(ap, "must contain at least 1 address"))
		case len(e.Addresses) > maxAddresses:
			errs = append(errs, field.TooMany(ap, len(e.Addresses), maxAddresses))
		}
		for j, a := range e.Addresses {
			errs = append(errs, address(s.AddressType, a, ap.Index(j), allowLoopback)...)
		}
		if e.NodeName != nil {
			for _, msg := range validation.IsDNS1123Subdomain(*e.NodeName) {
				errs = append(errs, field.Invalid(ep.Index(i).Child("nodeName"), *e.NodeName, msg))
			}
		}
	}
	pp := field.NewPath("ports")
	if len(s.Ports) > maxPorts {
		errs = append(errs, field.TooMany(pp, len(s.Ports), maxPorts))
	}
	names := sets.New[string]()
	for i, p := range s.Ports {
		name := ""
		if p.Name != nil {
			name = *p.Name
		}
		if name != "" {
			for _, msg := range validation.IsDNS1123Label(name) {
				errs = append(errs, field.Invalid(pp.Index(i).Child("name"), name, msg))
			}
		}
		if names.Has(name) {
			errs = append(errs, field.Duplicate(pp.Index(i).Child("name"), name))
		}
		names.Insert(name)
		if p.Protocol != nil && *p.Protocol != "TCP" && *p.Protocol != "UDP" && *p.Protocol != "SCTP" {
			errs = append(errs, field.NotSupported(pp.Index(i).Child("protocol"), *p.Protocol, []string{"SCTP", "TCP", "UDP"}))
		}
		if p.Port != nil && (*p.Port < 0 || *p.Port > 65535) {
			errs = append(errs, field.Invalid(pp.Index(i).Child("port"), *p.Port, "must be between 0 and 65535, inclusive"))
		}
	}
	return errs
}

func address(t discoveryv1.AddressType, a string, p *field.Path, allowLoopback bool) field.ErrorList {
	switch t {
	case discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6:
		ip, err := netip.ParseAddr(a)
		if err != nil || ip.Is4() != (t == discoveryv1.AddressTypeIPv4) || ip.Zone() != "" {
			return field.ErrorList{field.Invalid(p, a, "must be a valid "+string(t)+" address")}
		}
		return core.EndpointIP(a, p, allowLoopback)
	case discoveryv1.AddressTypeFQDN:
		return validation.IsFullyQualifiedDomainName(p, a)
	}
	return nil
}
