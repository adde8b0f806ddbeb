package discovery

import (
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	netutils "k8s.io/utils/net"

	"kapi/internal/registry"
	"kapi/internal/registry/core"
)

// kube-apiserver's limits of an EndpointSlice.
const (
	maxEndpoints      = 1000
	maxAddresses      = 100
	maxPorts          = 20000
	maxTopologyLabels = 16
	maxZoneHints      = 8
	maxNodeHints      = 8
)

// Hooks are kube-apiserver's EndpointSlice strategy: ports named "" and
// of protocol TCP by default; kube's ValidateEndpointSlice (the address
// type, immutable; each endpoint's addresses of that type, never
// loopback or link-local unless allowLoopback, --proxy-allow-loopback;
// node names, hostnames, hints and topology; unique port names and
// known protocols), whose endpoints' errors an update that leaves the
// endpoints as they were does not get; and kube's warnings.
func Hooks(allowLoopback bool) *registry.Hooks {
	return &registry.Hooks{
		Default:          func(obj runtime.Object) { defaultPorts(obj.(*discoveryv1.EndpointSlice)) },
		PrepareForCreate: func(obj runtime.Object) { dropTopology(obj.(*discoveryv1.EndpointSlice), nil) },
		PrepareForUpdate: func(obj, old runtime.Object) {
			dropTopology(obj.(*discoveryv1.EndpointSlice), old.(*discoveryv1.EndpointSlice))
		},
		Warnings: endpointSliceWarnings,
		Validate: func(obj, old runtime.Object) field.ErrorList {
			var o *discoveryv1.EndpointSlice
			if old != nil {
				o = old.(*discoveryv1.EndpointSlice)
			}
			return validate(obj.(*discoveryv1.EndpointSlice), o, allowLoopback)
		},
	}
}

var defaultPortName, defaultProtocol = "", corev1.ProtocolTCP

// defaultPorts is kube's SetDefaults_EndpointPort.
func defaultPorts(s *discoveryv1.EndpointSlice) {
	for i := range s.Ports {
		p := &s.Ports[i]
		if p.Name == nil {
			p.Name = &defaultPortName
		}
		if p.Protocol == nil {
			p.Protocol = &defaultProtocol
		}
	}
}

// dropTopology is kube's dropTopologyOnV1: a write through v1 (the only
// version kapi serves) does not set deprecatedTopology. When the
// endpoints change, each loses it, and one without a node name takes the
// hostname label it had as its node name, if the stored slice named that
// node.
func dropTopology(s, old *discoveryv1.EndpointSlice) {
	if old != nil && apiequality.Semantic.DeepEqual(old.Endpoints, s.Endpoints) {
		return
	}
	var prev sets.Set[string]
	if old != nil {
		prev = sets.New[string]()
		for _, e := range old.Endpoints {
			if n := e.DeprecatedTopology[corev1.LabelHostname]; n != "" {
				prev.Insert(n)
			}
		}
	}
	for i := range s.Endpoints {
		e := &s.Endpoints[i]
		if n, ok := e.DeprecatedTopology[corev1.LabelHostname]; e.NodeName == nil && ok && prev.Has(n) && len(validation.IsDNS1123Subdomain(n)) == 0 {
			e.NodeName = &n
		}
		e.DeprecatedTopology = nil
	}
}

func validate(s, old *discoveryv1.EndpointSlice, allowLoopback bool) field.ErrorList {
	var errs field.ErrorList
	switch s.AddressType {
	case discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6, discoveryv1.AddressTypeFQDN:
	case "":
		errs = append(errs, field.Required(field.NewPath("addressType"), ""))
	default:
		errs = append(errs, field.NotSupported(field.NewPath("addressType"), s.AddressType,
			[]string{string(discoveryv1.AddressTypeFQDN), string(discoveryv1.AddressTypeIPv4), string(discoveryv1.AddressTypeIPv6)}))
	}
	errs = append(errs, validatePorts(s.Ports)...)
	if epErrs := validateEndpoints(s.Endpoints, s.AddressType, allowLoopback); len(epErrs) > 0 &&
		(old == nil || !apiequality.Semantic.DeepEqual(old.Endpoints, s.Endpoints)) {
		errs = append(errs, epErrs...)
	}
	if old != nil && s.AddressType != old.AddressType {
		errs = append(errs, field.Invalid(field.NewPath("addressType"), s.AddressType, "field is immutable"))
	}
	return errs
}

func validateEndpoints(endpoints []discoveryv1.Endpoint, t discoveryv1.AddressType, allowLoopback bool) field.ErrorList {
	ep := field.NewPath("endpoints")
	if len(endpoints) > maxEndpoints {
		return field.ErrorList{field.TooMany(ep, len(endpoints), maxEndpoints)}
	}
	var errs field.ErrorList
	for i, e := range endpoints {
		p := ep.Index(i)
		ap := p.Child("addresses")
		switch {
		case len(e.Addresses) == 0:
			errs = append(errs, field.Required(ap, "must contain at least 1 address"))
		case len(e.Addresses) > maxAddresses:
			errs = append(errs, field.TooMany(ap, len(e.Addresses), maxAddresses))
		}
		for j, a := range e.Addresses {
			errs = append(errs, address(t, a, ap, j, allowLoopback)...)
		}
		if e.NodeName != nil {
			for _, msg := range validation.IsDNS1123Subdomain(*e.NodeName) {
				errs = append(errs, field.Invalid(p.Child("nodeName"), *e.NodeName, msg))
			}
		}
		tp := p.Child("deprecatedTopology")
		if len(e.DeprecatedTopology) > maxTopologyLabels {
			errs = append(errs, field.TooMany(tp, len(e.DeprecatedTopology), maxTopologyLabels))
		}
		errs = append(errs, metav1validation.ValidateLabels(e.DeprecatedTopology, tp)...)
		if e.Hostname != nil {
			for _, msg := range validation.IsDNS1123Label(*e.Hostname) {
				errs = append(errs, field.Invalid(p.Child("hostname"), *e.Hostname, msg))
			}
		}
		if e.Hints != nil {
			errs = append(errs, validateHints(e.Hints, p.Child("hints"))...)
		}
	}
	return errs
}

// address checks the j-th address a of an endpoint, ap the addresses'
// path: kube names the list, not the item, when an IP is of the other
// family.
func address(t discoveryv1.AddressType, a string, ap *field.Path, j int, allowLoopback bool) field.ErrorList {
	p := ap.Index(j)
	switch t {
	case discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6:
		// IPv4 as a legacy field, IPv6 strictly (canonical), as kube.
		parse, is := core.LegacyIP, netutils.IsIPv4String
		if t == discoveryv1.AddressTypeIPv6 {
			parse, is = validation.IsValidIP, netutils.IsIPv6String
		}
		if errs := parse(p, a); len(errs) > 0 {
			return errs
		}
		var errs field.ErrorList
		if !is(a) {
			errs = append(errs, field.Invalid(ap, a, "must be an "+string(t)+" address"))
		}
		return append(errs, core.EndpointIP(a, p, allowLoopback)...)
	case discoveryv1.AddressTypeFQDN:
		return validation.IsFullyQualifiedDomainName(p, a)
	}
	return nil
}

func validatePorts(ports []discoveryv1.EndpointPort) field.ErrorList {
	pp := field.NewPath("ports")
	if len(ports) > maxPorts {
		return field.ErrorList{field.TooMany(pp, len(ports), maxPorts)}
	}
	var errs field.ErrorList
	names := sets.New[string]()
	for i, p := range ports {
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
			errs = append(errs, field.Duplicate(pp.Index(i).Child("name"), p.Name))
		}
		names.Insert(name)
		switch {
		case p.Protocol == nil:
			errs = append(errs, field.Required(pp.Index(i).Child("protocol"), ""))
		case *p.Protocol != corev1.ProtocolTCP && *p.Protocol != corev1.ProtocolUDP && *p.Protocol != corev1.ProtocolSCTP:
			errs = append(errs, field.NotSupported(pp.Index(i).Child("protocol"), *p.Protocol, []string{"SCTP", "TCP", "UDP"}))
		}
		if p.AppProtocol != nil {
			for _, msg := range validation.IsQualifiedName(*p.AppProtocol) {
				errs = append(errs, field.Invalid(pp.Index(i).Child("appProtocol"), *p.AppProtocol, msg))
			}
		}
	}
	return errs
}

// validateHints: at most 8 zones, each a label value, and 8 nodes, each a
// node's name, none twice.
func validateHints(h *discoveryv1.EndpointHints, p *field.Path) field.ErrorList {
	zp := p.Child("forZones")
	if len(h.ForZones) > maxZoneHints {
		return field.ErrorList{field.TooMany(zp, len(h.ForZones), maxZoneHints)}
	}
	var errs field.ErrorList
	zones := sets.New[string]()
	for i, z := range h.ForZones {
		np := zp.Index(i).Child("name")
		if zones.Has(z.Name) {
			errs = append(errs, field.Duplicate(np, z.Name))
		}
		zones.Insert(z.Name)
		for _, msg := range validation.IsValidLabelValue(z.Name) {
			errs = append(errs, field.Invalid(np, z.Name, msg))
		}
	}
	fp := p.Child("forNodes")
	if len(h.ForNodes) > maxNodeHints {
		return append(errs, field.TooMany(fp, len(h.ForNodes), maxNodeHints))
	}
	nodes := sets.New[string]()
	for i, n := range h.ForNodes {
		np := fp.Index(i).Child("name")
		if nodes.Has(n.Name) {
			errs = append(errs, field.Duplicate(np, n.Name))
		}
		nodes.Insert(n.Name)
		for _, msg := range validation.IsDNS1123Subdomain(n.Name) {
			errs = append(errs, field.Invalid(np, n.Name, msg))
		}
	}
	return errs
}
