package networking

import (
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	netutils "k8s.io/utils/net"

	"kapi/internal/registry"
)

// networkPolicyHooks: ports default to TCP and policyTypes to Ingress (and
// Egress when egress rules are given), as networking/v1's defaulters do;
// validation is kube's ValidateNetworkPolicy (create) and
// ValidateNetworkPolicyUpdate, with the options kube's strategy computes:
// on update, a stored spec.podSelector that fails today's selector rules
// lets every selector of the policy keep invalid label values
// (ValidationOptionsForNetworking), and every CIDR the stored policy's
// ipBlocks held passes unchecked (AllowCIDRsEvenIfInvalid).
var networkPolicyHooks = &registry.Hooks{
	Default: func(obj runtime.Object) { defaultNetworkPolicy(obj.(*networkingv1.NetworkPolicy)) },
	Validate: func(obj, old runtime.Object) field.ErrorList {
		was, _ := old.(*networkingv1.NetworkPolicy)
		return validateNetworkPolicySpec(&obj.(*networkingv1.NetworkPolicy).Spec, networkPolicyOptions(was), field.NewPath("spec"))
	},
	Warnings: networkPolicyWarnings,
}

// npOptions is kube's NetworkPolicyValidationOptions.
type npOptions struct {
	selectors metav1validation.LabelSelectorValidationOptions
	// validCIDRs are the stored policy's ipBlock CIDRs and excepts,
	// which pass as they are (kube's AllowCIDRsEvenIfInvalid).
	validCIDRs []string
}

// networkPolicyOptions is kube's ValidationOptionsForNetworking and the
// CIDRs ValidateNetworkPolicyUpdate records of old (nil on a create).
func networkPolicyOptions(old *networkingv1.NetworkPolicy) npOptions {
	var opts npOptions
	if old == nil {
		return opts
	}
	// kube looks at the stored podSelector only, and lets any of its
	// errors, not only an invalid value, relax all the selectors.
	opts.selectors.AllowInvalidLabelValueInSelector = len(metav1validation.ValidateLabelSelector(&old.Spec.PodSelector,
		metav1validation.LabelSelectorValidationOptions{}, nil)) > 0
	record := func(peers []networkingv1.NetworkPolicyPeer) {
		for _, peer := range peers {
			if peer.IPBlock != nil {
				opts.validCIDRs = append(opts.validCIDRs, peer.IPBlock.CIDR)
				opts.validCIDRs = append(opts.validCIDRs, peer.IPBlock.Except...)
			}
		}
	}
	for _, r := range old.Spec.Ingress {
		record(r.From)
	}
	for _, r := range old.Spec.Egress {
		record(r.To)
	}
	return opts
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

// validateNetworkPolicySpec is kube's ValidateNetworkPolicySpec: the pod
// selector, each ingress rule's ports and peers, each egress rule's, then
// the policy types (more than two of them is the only error given).
func validateNetworkPolicySpec(s *networkingv1.NetworkPolicySpec, opts npOptions, path *field.Path) field.ErrorList {
	errs := metav1validation.ValidateLabelSelector(&s.PodSelector, opts.selectors, path.Child("podSelector"))
	for i, r := range s.Ingress {
		p := path.Child("ingress").Index(i)
		for j := range r.Ports {
			errs = append(errs, validateNPPort(&r.Ports[j], p.Child("ports").Index(j))...)
		}
		for j := range r.From {
			errs = append(errs, validatePeer(&r.From[j], opts, p.Child("from").Index(j))...)
		}
	}
	for i, r := range s.Egress {
		p := path.Child("egress").Index(i)
		for j := range r.Ports {
			errs = append(errs, validateNPPort(&r.Ports[j], p.Child("ports").Index(j))...)
		}
		for j := range r.To {
			errs = append(errs, validatePeer(&r.To[j], opts, p.Child("to").Index(j))...)
		}
	}
	if len(s.PolicyTypes) > len(npPolicyTypes) {
		return append(errs, field.Invalid(path.Child("policyTypes"), s.PolicyTypes, "may not specify more than two policyTypes"))
	}
	for i, t := range s.PolicyTypes {
		if t != networkingv1.PolicyTypeIngress && t != networkingv1.PolicyTypeEgress {
			errs = append(errs, field.NotSupported(path.Child("policyTypes").Index(i), t, npPolicyTypes))
		}
	}
	return errs
}

// validateNPPort is kube's ValidateNetworkPolicyPort.
func validateNPPort(port *networkingv1.NetworkPolicyPort, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if port.Protocol != nil && *port.Protocol != corev1.ProtocolTCP && *port.Protocol != corev1.ProtocolUDP && *port.Protocol != corev1.ProtocolSCTP {
		errs = append(errs, field.NotSupported(p.Child("protocol"), *port.Protocol, npProtocols))
	}
	switch {
	case port.Port == nil:
		if port.EndPort != nil {
			errs = append(errs, field.Invalid(p.Child("endPort"), *port.EndPort, "may not be specified when `port` is not specified"))
		}
	case port.Port.Type == intstr.Int:
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
	default:
		if port.EndPort != nil {
			errs = append(errs, field.Invalid(p.Child("endPort"), *port.EndPort, "may not be specified when `port` is non-numeric"))
		}
		for _, msg := range validation.IsValidPortName(port.Port.StrVal) {
			errs = append(errs, field.Invalid(p.Child("port"), port.Port.StrVal, msg))
		}
	}
	return errs
}

// validatePeer is kube's ValidateNetworkPolicyPeer.
func validatePeer(peer *networkingv1.NetworkPolicyPeer, opts npOptions, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	n := 0
	if peer.PodSelector != nil {
		n++
		errs = append(errs, metav1validation.ValidateLabelSelector(peer.PodSelector, opts.selectors, path.Child("podSelector"))...)
	}
	if peer.NamespaceSelector != nil {
		n++
		errs = append(errs, metav1validation.ValidateLabelSelector(peer.NamespaceSelector, opts.selectors, path.Child("namespaceSelector"))...)
	}
	if peer.IPBlock != nil {
		n++
		errs = append(errs, validateIPBlock(peer.IPBlock, opts.validCIDRs, path.Child("ipBlock"))...)
	}
	switch {
	case n == 0:
		errs = append(errs, field.Required(path, "must specify a peer"))
	case n > 1 && peer.IPBlock != nil:
		errs = append(errs, field.Forbidden(path, "may not specify both ipBlock and another peer"))
	}
	return errs
}

// validateIPBlock is kube's ValidateIPBlock: the cidr and each except
// are legacy CIDR fields (apimachinery's IsValidCIDRForLegacyField, the
// standard kube calls, strict as StrictIPCIDRValidation has been on by
// default since kube 1.36: no leading zeros, no IPv4-mapped IPv6, no bits
// set beyond the prefix), a value in validCIDRs passing as it is; each
// except that parses is a strict subset of the cidr, compared as kube
// compares them (netutils' sloppy parsing, so that a stored value with
// leading zeros is compared too).
func validateIPBlock(b *networkingv1.IPBlock, validCIDRs []string, path *field.Path) field.ErrorList {
	if b.CIDR == "" {
		return field.ErrorList{field.Required(path.Child("cidr"), "")}
	}
	errs := validation.IsValidCIDRForLegacyField(path.Child("cidr"), b.CIDR, true, validCIDRs)
	_, cidr, err := netutils.ParseCIDRSloppy(b.CIDR)
	if err != nil {
		return errs
	}
	cidrBits, _ := cidr.Mask.Size()
	for i, e := range b.Except {
		p := path.Child("except").Index(i)
		errs = append(errs, validation.IsValidCIDRForLegacyField(p, e, true, validCIDRs)...)
		_, except, err := netutils.ParseCIDRSloppy(e)
		if err != nil {
			continue
		}
		if exceptBits, _ := except.Mask.Size(); !cidr.Contains(except.IP) || cidrBits >= exceptBits {
			errs = append(errs, field.Invalid(p, e, "must be a strict subset of `cidr`"))
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
