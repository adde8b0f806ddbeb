package networking

import (
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/registry"
)

// networkPolicyHooks: ports default to TCP and policyTypes to Ingress (and
// Egress when egress rules are given), as networking/v1's defaulters do;
// validation follows kube's ValidateNetworkPolicySpec.
var networkPolicyHooks = &registry.Hooks{
	Default: func(obj runtime.Object) { defaultNetworkPolicy(obj.(*networkingv1.NetworkPolicy)) },
	Validate: func(obj, _ runtime.Object) field.ErrorList {
		return validateNetworkPolicySpec(&obj.(*networkingv1.NetworkPolicy).Spec, field.NewPath("spec"))
	},
	Warnings: networkPolicyWarnings,
}

var (
	npProtocols   = []string{string(corev1.ProtocolTCP), string(corev1.ProtocolUDP), string(corev1.ProtocolSCTP)}
	npPolicyTypes = []string{string(networkingv1.PolicyTypeIngress), string(networkingv1.PolicyTypeEgress)}
)

func defaultNetworkPolicy(np *networkingv1.NetworkPolicy) {
	s := &np.Spec
	defaultPorts := func(ports []networkingv1.NetworkPolicyPort) {
		for i := range ports {
			if ports[i].Protocol == nil {
				p := corev1.ProtocolTCP
				ports[i].Protocol = &p
			}
		}
	}
	for _, r := range s.Ingress {
		defaultPorts(r.Ports)
	}
	for _, r := range s.Egress {
		defaultPorts(r.Ports)
	}
	if len(s.PolicyTypes) == 0 {
		s.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
		if len(s.Egress) > 0 {
			s.PolicyTypes = append(s.PolicyTypes, networkingv1.PolicyTypeEgress)
		}
	}
}

func validateNetworkPolicySpec(s *networkingv1.NetworkPolicySpec, path *field.Path) field.ErrorList {
	errs := metav1validation.ValidateLabelSelector(&s.PodSelector, metav1validation.LabelSelectorValidationOptions{}, path.Child("podSelector"))
	for i, r := range s.Ingress {
		p := path.Child("ingress").Index(i)
		errs = append(errs, validateNPPorts(r.Ports, p.Child("ports"))...)
		for j := range r.From {
			errs = append(errs, validatePeer(&r.From[j], p.Child("from").Index(j))...)
		}
	}
	for i, r := range s.Egress {
		p := path.Child("egress").Index(i)
		errs = append(errs, validateNPPorts(r.Ports, p.Child("ports"))...)
		for j := range r.To {
			errs = append(errs, validatePeer(&r.To[j], p.Child("to").Index(j))...)
		}
	}
	if len(s.PolicyTypes) > len(npPolicyTypes) {
		errs = append(errs, field.Invalid(path.Child("policyTypes"), s.PolicyTypes, "may not specify more than two policyTypes"))
	}
	for i, t := range s.PolicyTypes {
		if t != networkingv1.PolicyTypeIngress && t != networkingv1.PolicyTypeEgress {
			errs = append(errs, field.NotSupported(path.Child("policyTypes").Index(i), t, npPolicyTypes))
		}
	}
	return errs
}

func validateNPPorts(ports []networkingv1.NetworkPolicyPort, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, port := range ports {
		p := path.Index(i)
		if port.Protocol != nil && *port.Protocol != corev1.ProtocolTCP && *port.Protocol != corev1.ProtocolUDP && *port.Protocol != corev1.ProtocolSCTP {
			errs = append(errs, field.NotSupported(p.Child("protocol"), *port.Protocol, npProtocols))
		}
		if port.Port == nil {
			if port.EndPort != nil {
				errs = append(errs, field.Required(p.Child("port"), "must be specified when endPort is specified"))
			}
			continue
		}
		if port.Port.Type == intstr.Int {
			for _, msg := range validation.IsValidPortNum(int(port.Port.IntVal)) {
				errs = append(errs, field.Invalid(p.Child("port"), port.Port.IntVal, msg))
			}
			if e := port.EndPort; e != nil {
				if *e < port.Port.IntVal {
					errs = append(errs, field.Invalid(p.Child("endPort"), *e, "must be greater than or equal to `port`"))
				}
				for _, msg := range validation.IsValidPortNum(int(*e)) {
					errs = append(errs, field.Invalid(p.Child("endPort"), *e, msg))
				}
			}
			continue
		}
		if port.EndPort != nil {
			errs = append(errs, field.Invalid(p.Child("endPort"), *port.EndPort, "may not be specified when `port` is non-numeric"))
		}
		for _, msg := range validation.IsValidPortName(port.Port.StrVal) {
			errs = append(errs, field.Invalid(p.Child("port"), port.Port.StrVal, msg))
		}
	}
	return errs
}

func validatePeer(peer *networkingv1.NetworkPolicyPeer, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	n := 0
	opts := metav1validation.LabelSelectorValidationOptions{}
	if peer.PodSelector != nil {
		n++
		errs = append(errs, metav1validation.ValidateLabelSelector(peer.PodSelector, opts, path.Child("podSelector"))...)
	}
	if peer.NamespaceSelector != nil {
		n++
		errs = append(errs, metav1validation.ValidateLabelSelector(peer.NamespaceSelector, opts, path.Child("namespaceSelector"))...)
	}
	if peer.IPBlock != nil {
		n++
		errs = append(errs, validateIPBlock(peer.IPBlock, path.Child("ipBlock"))...)
	}
	switch {
	case n == 0:
		errs = append(errs, field.Required(path, "must specify a peer"))
	case n > 1 && peer.IPBlock != nil:
		errs = append(errs, field.Forbidden(path, "may not specify both ipBlock and another peer"))
	}
	return errs
}

func validateIPBlock(b *networkingv1.IPBlock, path *field.Path) field.ErrorList {
	if b.CIDR == "" {
		return field.ErrorList{field.Required(path.Child("cidr"), "")}
	}
	cidr, err := netip.ParsePrefix(b.CIDR)
	if err != nil {
		return field.ErrorList{field.Invalid(path.Child("cidr"), b.CIDR, "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)")}
	}
	var errs field.ErrorList
	for i, e := range b.Except {
		ex, err := netip.ParsePrefix(e)
		switch {
		case err != nil:
			errs = append(errs, field.Invalid(path.Child("except").Index(i), e, "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"))
		case ex.Bits() <= cidr.Bits() || !cidr.Contains(ex.Addr()):
			errs = append(errs, field.Invalid(path.Child("except").Index(i), e, "must be a strict subset of `cidr`"))
		}
	}
	return errs
}

// networkPolicyWarnings: IP blocks in a non-standard or ambiguous form,
// on every write.
func networkPolicyWarnings(obj, _ runtime.Object) []string {
	s := &obj.(*networkingv1.NetworkPolicy).Spec
	var w []string
	block := func(p *field.Path, b *networkingv1.IPBlock) {
		if b == nil {
			return
		}
		w = append(w, validation.GetWarningsForCIDR(p.Child("cidr"), b.CIDR)...)
		for k, e := range b.Except {
			w = append(w, validation.GetWarningsForCIDR(p.Child("except").Index(k), e)...)
		}
	}
	for i, r := range s.Ingress {
		for j, peer := range r.From {
			block(field.NewPath("spec", "ingress").Index(i).Child("from").Index(j).Child("ipBlock"), peer.IPBlock)
		}
	}
	for i, r := range s.Egress {
		for j, peer := range r.To {
			block(field.NewPath("spec", "egress").Index(i).Child("to").Index(j).Child("ipBlock"), peer.IPBlock)
		}
	}
	return w
}
