package core

import (
	"fmt"
	"net/netip"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/registry"
)

// serviceHooks default and validate a Service as kube-apiserver does for
// the fields every client reads back and writes by hand. Allocation of
// cluster IPs and node ports is added by ServiceHooks when the server
// wires its allocators (services_alloc.go).
var serviceHooks = &registry.Hooks{
	Default:          func(obj runtime.Object) { defaultService(obj.(*corev1.Service)) },
	PrepareForCreate: func(obj runtime.Object) { defaultClusterIPs(obj.(*corev1.Service)) },
	PrepareForUpdate: func(obj, old runtime.Object) {
		svc := obj.(*corev1.Service)
		normalizeClusterIPs(svc, old.(*corev1.Service))
		keepAllocated(svc, old.(*corev1.Service))
		defaultClusterIPs(svc)
	},
	Validate: func(obj, old runtime.Object) field.ErrorList {
		errs := validateService(obj.(*corev1.Service))
		if old != nil {
			errs = append(errs, validateServiceUpdate(obj.(*corev1.Service), old.(*corev1.Service))...)
		}
		return errs
	},
	Warnings: serviceWarnings,
}

// defaultService fills what kube-apiserver's defaulters fill
// (SetDefaults_Service): type ClusterIP; sessionAffinity None, with no
// config, or ClientIP's timeout of 10800 s; internalTrafficPolicy
// Cluster; externalTrafficPolicy Cluster for a service reached from
// outside (node ports, a load balancer, external IPs); each port's
// protocol (TCP) and targetPort (the port); a load balancer's ingress IPs
// of mode VIP.
func defaultService(svc *corev1.Service) {
	s := &svc.Spec
	switch s.SessionAffinity {
	case "", corev1.ServiceAffinityNone:
		s.SessionAffinity = corev1.ServiceAffinityNone
		s.SessionAffinityConfig = nil
	case corev1.ServiceAffinityClientIP:
		if c := s.SessionAffinityConfig; c == nil || c.ClientIP == nil || c.ClientIP.TimeoutSeconds == nil {
			timeout := corev1.DefaultClientIPServiceAffinitySeconds
			s.SessionAffinityConfig = &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: &timeout}}
		}
	}
	if s.Type == "" {
		s.Type = corev1.ServiceTypeClusterIP
	}
	for i := range s.Ports {
		p := &s.Ports[i]
		if p.Protocol == "" {
			p.Protocol = corev1.ProtocolTCP
		}
		if p.TargetPort == (intstr.IntOrString{}) || p.TargetPort == intstr.FromString("") {
			p.TargetPort = intstr.FromInt32(p.Port)
		}
	}
	externallyAccessible := s.Type == corev1.ServiceTypeNodePort || s.Type == corev1.ServiceTypeLoadBalancer ||
		(s.Type == corev1.ServiceTypeClusterIP && len(s.ExternalIPs) > 0)
	if externallyAccessible && s.ExternalTrafficPolicy == "" {
		s.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyCluster
	}
	if s.Type != corev1.ServiceTypeExternalName && s.InternalTrafficPolicy == nil {
		p := corev1.ServiceInternalTrafficPolicyCluster
		s.InternalTrafficPolicy = &p
	}
	if s.Type == corev1.ServiceTypeLoadBalancer {
		if s.AllocateLoadBalancerNodePorts == nil {
			yes := true
			s.AllocateLoadBalancerNodePorts = &yes
		}
		for i, ing := range svc.Status.LoadBalancer.Ingress {
			if ing.IP != "" && ing.IPMode == nil {
				vip := corev1.LoadBalancerIPModeVIP
				svc.Status.LoadBalancer.Ingress[i].IPMode = &vip
			}
		}
	}
}

// defaultClusterIPs brings clusterIPs and clusterIP together, and gives a
// service with a cluster IP its family and single-stack policy, as
// kube-apiserver's service REST does before allocating (not a scheme
// default: an update first takes what it left out from the stored service,
// normalizeClusterIPs and keepAllocated).
func defaultClusterIPs(svc *corev1.Service) {
	s := &svc.Spec
	switch {
	case s.ClusterIP == "" && len(s.ClusterIPs) > 0:
		s.ClusterIP = s.ClusterIPs[0]
	case s.ClusterIP != "" && len(s.ClusterIPs) == 0:
		s.ClusterIPs = []string{s.ClusterIP}
	}
	if s.ClusterIP != "" && s.Type != corev1.ServiceTypeExternalName {
		family := corev1.IPv4Protocol
		if ip, err := netip.ParseAddr(s.ClusterIP); err == nil && ip.Is6() {
			family = corev1.IPv6Protocol
		}
		if len(s.IPFamilies) == 0 {
			s.IPFamilies = []corev1.IPFamily{family}
		}
		if s.IPFamilyPolicy == nil {
			single := corev1.IPFamilyPolicySingleStack
			s.IPFamilyPolicy = &single
		}
	}
}

// normalizeClusterIPs brings clusterIPs in line with clusterIP on an
// update, as kube-apiserver's function of the same name, before anything
// else looks at them: an old client knows only the singular field. It
// clears clusterIPs when the client cleared clusterIP and left clusterIPs
// as they were, and makes clusterIPs [clusterIP] when the client changed
// clusterIP alone; so that
//
//	kubectl patch svc s --type=merge -p '{"spec":{"clusterIP":"10.96.0.77"}}'
//
// is refused as a change of spec.clusterIPs[0] ("may not change once
// set"), not as clusterIPs disagreeing with clusterIP.
func normalizeClusterIPs(svc, old *corev1.Service) {
	s, o := &svc.Spec, &old.Spec
	if len(o.ClusterIPs) > 0 && len(s.ClusterIPs) == 0 && o.ClusterIP == s.ClusterIP {
		// An old client that patched another field.
		s.ClusterIPs = o.ClusterIPs
	}
	if o.ClusterIP == s.ClusterIP {
		return
	}
	same := slices.Equal(o.ClusterIPs, s.ClusterIPs)
	if o.ClusterIP != "" && s.ClusterIP == "" && same {
		s.ClusterIPs = nil
	}
	if s.ClusterIP != "" && same {
		s.ClusterIPs = []string{s.ClusterIP}
	}
}

// keepAllocated carries over what the server allocated when an update
// leaves it out (a PUT of a manifest without clusterIP or nodePort), as
// kube-apiserver's patchAllocatedValues: the cluster IPs while the type
// still needs them, and each port's node port by port number.
func keepAllocated(svc, old *corev1.Service) {
	if needsClusterIP(svc) && needsClusterIP(old) && svc.Spec.ClusterIP == "" && len(svc.Spec.ClusterIPs) == 0 {
		svc.Spec.ClusterIP, svc.Spec.ClusterIPs = old.Spec.ClusterIP, append([]string(nil), old.Spec.ClusterIPs...)
		if len(svc.Spec.IPFamilies) == 0 {
			svc.Spec.IPFamilies = append([]corev1.IPFamily(nil), old.Spec.IPFamilies...)
		}
		if svc.Spec.IPFamilyPolicy == nil {
			svc.Spec.IPFamilyPolicy = old.Spec.IPFamilyPolicy
		}
	}
	if needsNodePorts(svc) && needsNodePorts(old) {
		held := map[int32]int32{}
		for _, p := range old.Spec.Ports {
			held[p.Port] = p.NodePort
		}
		for i := range svc.Spec.Ports {
			if p := &svc.Spec.Ports[i]; p.NodePort == 0 {
				p.NodePort = held[p.Port]
			}
		}
	}
	if needsHealthCheckPort(svc) && needsHealthCheckPort(old) && svc.Spec.HealthCheckNodePort == 0 {
		svc.Spec.HealthCheckNodePort = old.Spec.HealthCheckNodePort
	}
	dropTypeDependentFields(svc, old)
}

// dropTypeDependentFields clears, when an update changes the type, the
// allocated values the new type does not use and the client merely
// carried over from the old object (kube-apiserver's function of the
// same name): the cluster IPs of a service turned ExternalName, the node
// ports of one turned ClusterIP. As kube's, it also clears the load
// balancer's status of any service that is not a LoadBalancer (its
// status write refuses one), rather than show a balancer being torn down.
func dropTypeDependentFields(svc, old *corev1.Service) {
	if svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
		svc.Status.LoadBalancer = corev1.LoadBalancerStatus{}
	}
	if svc.Spec.Type == corev1.ServiceTypeExternalName && old.Spec.Type != corev1.ServiceTypeExternalName &&
		svc.Spec.ClusterIP == old.Spec.ClusterIP {
		svc.Spec.ClusterIP, svc.Spec.ClusterIPs = "", nil
		svc.Spec.IPFamilies, svc.Spec.IPFamilyPolicy = nil, nil
	}
	if !needsNodePorts(svc) && needsNodePorts(old) {
		held := map[int32]int32{}
		for _, p := range old.Spec.Ports {
			held[p.Port] = p.NodePort
		}
		for i := range svc.Spec.Ports {
			if p := &svc.Spec.Ports[i]; p.NodePort != 0 && p.NodePort == held[p.Port] {
				p.NodePort = 0
			}
		}
	}
	if !needsHealthCheckPort(svc) && svc.Spec.HealthCheckNodePort == old.Spec.HealthCheckNodePort {
		svc.Spec.HealthCheckNodePort = 0
	}
}

// needsClusterIP: every type but ExternalName has a cluster IP, unless
// it is headless (clusterIP None).
func needsClusterIP(svc *corev1.Service) bool {
	return svc.Spec.Type != corev1.ServiceTypeExternalName && svc.Spec.ClusterIP != corev1.ClusterIPNone
}

// needsNodePorts: NodePort services, and LoadBalancer ones unless they
// opt out with allocateLoadBalancerNodePorts: false.
func needsNodePorts(svc *corev1.Service) bool {
	switch svc.Spec.Type {
	case corev1.ServiceTypeNodePort:
		return true
	case corev1.ServiceTypeLoadBalancer:
		return svc.Spec.AllocateLoadBalancerNodePorts == nil || *svc.Spec.AllocateLoadBalancerNodePorts
	}
	return false
}

// needsHealthCheckPort: a LoadBalancer with externalTrafficPolicy Local.
func needsHealthCheckPort(svc *corev1.Service) bool {
	return svc.Spec.Type == corev1.ServiceTypeLoadBalancer && svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal
}

var (
	serviceTypes = []string{string(corev1.ServiceTypeClusterIP), string(corev1.ServiceTypeExternalName),
		string(corev1.ServiceTypeLoadBalancer), string(corev1.ServiceTypeNodePort)}
	sessionAffinities = []string{string(corev1.ServiceAffinityClientIP), string(corev1.ServiceAffinityNone)}
)

// validateService checks a Service with kube-apiserver's rules and field
// paths (pkg/apis/core/validation ValidateService), for what people
// write: type, ports, selector, cluster IPs, external name.
func validateService(svc *corev1.Service) field.ErrorList {
	var errs field.ErrorList
	spec := field.NewPath("spec")
	s := &svc.Spec
	validType := true
	switch s.Type {
	case corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort, corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeExternalName:
	default:
		validType = false
		errs = append(errs, field.NotSupported(spec.Child("type"), s.Type, serviceTypes))
	}
	headless := s.ClusterIP == corev1.ClusterIPNone
	if s.Type == corev1.ServiceTypeExternalName {
		if len(s.ClusterIPs) > 0 {
			errs = append(errs, field.Forbidden(spec.Child("clusterIPs"), "may not be set for ExternalName services"))
		}
		if s.ExternalName == "" {
			errs = append(errs, field.Required(spec.Child("externalName"), ""))
		} else {
			for _, msg := range validation.IsDNS1123Subdomain(s.ExternalName) {
				errs = append(errs, field.Invalid(spec.Child("externalName"), s.ExternalName, msg))
			}
		}
	} else if len(s.Ports) == 0 && !headless && validType {
		errs = append(errs, field.Required(spec.Child("ports"), ""))
	}
	errs = append(errs, validateClusterIPs(svc)...)
	errs = append(errs, validateServicePorts(svc)...)
	errs = append(errs, metav1validation.ValidateLabels(s.Selector, spec.Child("selector"))...)
	if s.SessionAffinity != corev1.ServiceAffinityNone && s.SessionAffinity != corev1.ServiceAffinityClientIP {
		errs = append(errs, field.NotSupported(spec.Child("sessionAffinity"), s.SessionAffinity, sessionAffinities))
	}
	return append(errs, validateSessionAffinityConfig(s)...)
}

// maxClientIPAffinitySeconds is kube's MaxClientIPServiceAffinitySeconds,
// a day.
const maxClientIPAffinitySeconds = 86400

// validateSessionAffinityConfig is kube's: ClientIP affinity has a
// timeout of at most a day, None has no config (the defaults see to both
// unless a client sets them).
func validateSessionAffinityConfig(s *corev1.ServiceSpec) field.ErrorList {
	p := field.NewPath("spec", "sessionAffinityConfig")
	switch c := s.SessionAffinityConfig; s.SessionAffinity {
	case corev1.ServiceAffinityClientIP:
		when := fmt.Sprintf("when session affinity type is %s", corev1.ServiceAffinityClientIP)
		switch {
		case c == nil:
			return field.ErrorList{field.Required(p, when)}
		case c.ClientIP == nil:
			return field.ErrorList{field.Required(p.Child("clientIP"), when)}
		case c.ClientIP.TimeoutSeconds == nil:
			return field.ErrorList{field.Required(p.Child("clientIP", "timeoutSeconds"), when)}
		case *c.ClientIP.TimeoutSeconds <= 0 || *c.ClientIP.TimeoutSeconds > maxClientIPAffinitySeconds:
			return field.ErrorList{field.Invalid(p.Child("clientIP", "timeoutSeconds"), c.ClientIP.TimeoutSeconds,
				fmt.Sprintf("must be greater than 0 and less than %d", maxClientIPAffinitySeconds))}
		}
	case corev1.ServiceAffinityNone:
		if c != nil {
			return field.ErrorList{field.Forbidden(p, fmt.Sprintf("must not be set when session affinity is %s", corev1.ServiceAffinityNone))}
		}
	}
	return nil
}

// validateClusterIPs: each cluster IP an address ("None" alone), the
// first equal to clusterIP, and no headless NodePort or LoadBalancer.
func validateClusterIPs(svc *corev1.Service) field.ErrorList {
	var errs field.ErrorList
	s := &svc.Spec
	path := field.NewPath("spec", "clusterIPs")
	if len(s.ClusterIPs) > 0 && s.ClusterIP != s.ClusterIPs[0] {
		errs = append(errs, field.Invalid(path, s.ClusterIPs, "first value must match `clusterIP`"))
	}
	if len(s.ClusterIPs) > 2 {
		errs = append(errs, field.Invalid(path, s.ClusterIPs, "may only hold up to 2 values"))
	}
	for i, ip := range s.ClusterIPs {
		if ip == corev1.ClusterIPNone {
			if i > 0 || len(s.ClusterIPs) > 1 {
				errs = append(errs, field.Invalid(path, s.ClusterIPs, "'None' must be the first and only value"))
			}
			if s.Type == corev1.ServiceTypeNodePort || s.Type == corev1.ServiceTypeLoadBalancer {
				errs = append(errs, field.Invalid(path.Index(i), ip, fmt.Sprintf("may not be set to 'None' for %s services", s.Type)))
			}
			continue
		}
		if _, err := netip.ParseAddr(ip); err != nil {
			errs = append(errs, field.Invalid(path.Index(i), ip, "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"))
		}
	}
	return errs
}

// validateServicePorts: names (required and unique when there are
// several), port, targetPort and nodePort ranges, protocols.
func validateServicePorts(svc *corev1.Service) field.ErrorList {
	var errs field.ErrorList
	s := &svc.Spec
	names := map[string]bool{}
	seen := map[corev1.ServicePort]bool{}
	for i, p := range s.Ports {
		path := field.NewPath("spec", "ports").Index(i)
		if len(s.Ports) > 1 && p.Name == "" {
			errs = append(errs, field.Required(path.Child("name"), ""))
		} else if p.Name != "" {
			for _, msg := range validation.IsDNS1123Label(p.Name) {
				errs = append(errs, field.Invalid(path.Child("name"), p.Name, msg))
			}
			if names[p.Name] {
				errs = append(errs, field.Duplicate(path.Child("name"), p.Name))
			}
			names[p.Name] = true
		}
		for _, msg := range validation.IsValidPortNum(int(p.Port)) {
			errs = append(errs, field.Invalid(path.Child("port"), p.Port, msg))
		}
		errs = append(errs, enum(string(p.Protocol), portProtocols, path.Child("protocol"))...)
		errs = append(errs, validateTargetPort(p.TargetPort, path.Child("targetPort"))...)
		if p.NodePort != 0 {
			if s.Type == corev1.ServiceTypeClusterIP || s.Type == corev1.ServiceTypeExternalName {
				errs = append(errs, field.Forbidden(path.Child("nodePort"), fmt.Sprintf("may not be used when `type` is '%s'", s.Type)))
			} else {
				for _, msg := range validation.IsValidPortNum(int(p.NodePort)) {
					errs = append(errs, field.Invalid(path.Child("nodePort"), p.NodePort, msg))
				}
			}
		}
		key := corev1.ServicePort{Protocol: p.Protocol, Port: p.Port}
		if seen[key] {
			errs = append(errs, field.Duplicate(path, key))
		}
		seen[key] = true
	}
	return errs
}

// validateTargetPort: a port number or an IANA service name.
func validateTargetPort(tp intstr.IntOrString, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if tp.Type == intstr.String {
		for _, msg := range validation.IsValidPortName(tp.StrVal) {
			errs = append(errs, field.Invalid(path, tp.StrVal, msg))
		}
		return errs
	}
	for _, msg := range validation.IsValidPortNum(tp.IntValue()) {
		errs = append(errs, field.Invalid(path, tp.IntValue(), msg))
	}
	return errs
}

// validateServiceUpdate: the cluster IPs are immutable while the service
// has them (only a change to or from ExternalName frees them), worded as
// kube-apiserver's validateUpgradeDowngradeClusterIPs.
func validateServiceUpdate(svc, old *corev1.Service) field.ErrorList {
	if svc.Spec.Type == corev1.ServiceTypeExternalName || old.Spec.Type == corev1.ServiceTypeExternalName {
		return nil
	}
	if len(old.Spec.ClusterIPs) == 0 {
		return nil
	}
	if len(svc.Spec.ClusterIPs) == 0 || svc.Spec.ClusterIPs[0] != old.Spec.ClusterIPs[0] {
		return field.ErrorList{field.Invalid(field.NewPath("spec", "clusterIPs").Index(0), svc.Spec.ClusterIPs, "may not change once set")}
	}
	return nil
}
