package networking

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"kapi/internal/registry/fieldtest"
)

// npCase is a create (old nil) or an update of a NetworkPolicy.
type npCase struct {
	name     string
	old, obj *networkingv1.NetworkPolicy
	want     string
}

// networkPolicyCases: kube 1.37's ValidateNetworkPolicy and
// ValidateNetworkPolicyUpdate with the strategy's options, with their
// messages.
func networkPolicyCases() []npCase {
	type (
		peer  = networkingv1.NetworkPolicyPeer
		port  = networkingv1.NetworkPolicyPort
		rules = []networkingv1.NetworkPolicyIngressRule
	)
	num := func(n int32) *intstr.IntOrString { v := intstr.FromInt32(n); return &v }
	named := func(s string) *intstr.IntOrString { v := intstr.FromString(s); return &v }
	i32 := func(n int32) *int32 { return &n }
	proto := func(p corev1.Protocol) *corev1.Protocol { return &p }
	labels := func(k, v string) *metav1.LabelSelector {
		return &metav1.LabelSelector{MatchLabels: map[string]string{k: v}}
	}
	// spaced is a selector whose only fault is a value with a space,
	// which AllowInvalidLabelValueInSelector lets through.
	spaced := func() *metav1.LabelSelector {
		return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
			{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"front end"}}}}
	}
	policy := func(ingress rules, egress ...networkingv1.NetworkPolicyEgressRule) *networkingv1.NetworkPolicy {
		return &networkingv1.NetworkPolicy{Spec: networkingv1.NetworkPolicySpec{
			PodSelector: *labels("app", "web"), Ingress: ingress, Egress: egress}}
	}
	ports := func(ps ...port) rules { return rules{{Ports: ps}} }
	from := func(ps ...peer) rules { return rules{{From: ps}} }
	block := func(cidr string, except ...string) peer {
		return peer{IPBlock: &networkingv1.IPBlock{CIDR: cidr, Except: except}}
	}
	to := func(ps ...peer) networkingv1.NetworkPolicyEgressRule {
		return networkingv1.NetworkPolicyEgressRule{To: ps}
	}
	selecting := func(s *metav1.LabelSelector, np *networkingv1.NetworkPolicy) *networkingv1.NetworkPolicy {
		np.Spec.PodSelector = *s
		return np
	}
	typed := func(types ...networkingv1.PolicyType) *networkingv1.NetworkPolicy {
		np := policy(nil)
		np.Spec.PolicyTypes = types
		return np
	}
	p0 := "spec.ingress[0].ports[0]"
	f0 := "spec.ingress[0].from[0]"
	return []npCase{
		{"valid", nil, policy(rules{{
			Ports: []port{{Port: num(80)}, {Protocol: proto(corev1.ProtocolUDP), Port: num(53), EndPort: i32(60)}, {Port: named("http")}, {}},
			From:  []peer{{PodSelector: labels("role", "client"), NamespaceSelector: &metav1.LabelSelector{}}},
		}}, to(block("10.0.0.0/8", "10.1.0.0/16", "10.2.3.0/24")), to(block("2001:db8::/32", "2001:db8:1::/48"))), ""},
		{"port out of range", nil, policy(ports(port{Port: num(70000)})),
			p0 + ".port: Invalid value: 70000: must be between 1 and 65535, inclusive"},
		{"endPort without port", nil, policy(ports(port{EndPort: i32(90)})),
			p0 + ".endPort: Invalid value: 90: may not be specified when `port` is not specified"},
		{"endPort below port, and out of range", nil, policy(ports(port{Port: num(80), EndPort: i32(0)})),
			p0 + ".endPort: Invalid value: 0: must be greater than or equal to `port`\n" +
				p0 + ".endPort: Invalid value: 0: must be between 1 and 65535, inclusive"},
		{"endPort with a named port", nil, policy(ports(port{Port: named("http"), EndPort: i32(90)})),
			p0 + ".endPort: Invalid value: 90: may not be specified when `port` is non-numeric"},
		{"port name", nil, policy(ports(port{Port: named("HTTP_1")})),
			p0 + `.port: Invalid value: "HTTP_1": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)` + "\n" +
				p0 + `.port: Invalid value: "HTTP_1": must contain at least one letter (a-z)`},
		{"protocol", nil, policy(ports(port{Protocol: proto("ICMP"), Port: num(1)})),
			p0 + `.protocol: Unsupported value: "ICMP": supported values: "TCP", "UDP", "SCTP"`},
		{"empty peer", nil, policy(from(peer{})), f0 + ": Required value: must specify a peer"},
		{"ipBlock and a selector", nil, policy(from(peer{PodSelector: labels("a", "b"), IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/8"}})),
			f0 + ": Forbidden: may not specify both ipBlock and another peer"},
		{"ipBlock without cidr", nil, policy(from(block("", "not a cidr"))), f0 + ".ipBlock.cidr: Required value"},
		{"cidr not a cidr", nil, policy(from(block("10.0.0.0", "10.1.0.0/16"))),
			f0 + `.ipBlock.cidr: Invalid value: "10.0.0.0": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)`},
		{"cidr with host bits", nil, policy(from(block("10.0.0.1/8", "10.1.0.0/16"))),
			f0 + `.ipBlock.cidr: Invalid value: "10.0.0.1/8": must not have bits set beyond the prefix length`},
		{"leading zeros and IPv4-mapped", nil, policy(from(block("010.0.0.0/8", "::ffff:10.1.0.0/112"))),
			f0 + `.ipBlock.cidr: Invalid value: "010.0.0.0/8": must not have leading 0s in IP or prefix length` + "\n" +
				f0 + `.ipBlock.except[0]: Invalid value: "::ffff:10.1.0.0/112": must not have an IPv4-mapped IPv6 address`},
		{"excepts not strict subsets", nil, policy(nil, to(block("10.0.0.0/16", "10.0.0.0/16", "192.168.0.0/24", "10.0.0.0/8", "x"))),
			`spec.egress[0].to[0].ipBlock.except[0]: Invalid value: "10.0.0.0/16": must be a strict subset of ` + "`cidr`\n" +
				`spec.egress[0].to[0].ipBlock.except[1]: Invalid value: "192.168.0.0/24": must be a strict subset of ` + "`cidr`\n" +
				`spec.egress[0].to[0].ipBlock.except[2]: Invalid value: "10.0.0.0/8": must be a strict subset of ` + "`cidr`\n" +
				`spec.egress[0].to[0].ipBlock.except[3]: Invalid value: "x": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)`},
		{"more than two policy types", nil, typed("Ingress", "Egress", "Sideways"),
			`spec.policyTypes: Invalid value: ["Ingress","Egress","Sideways"]: may not specify more than two policyTypes`},
		{"unknown policy type", nil, typed("Ingress", "Sideways"),
			`spec.policyTypes[1]: Unsupported value: "Sideways": supported values: "Ingress", "Egress"`},
		{"invalid label value in the pod selector", nil, selecting(spaced(), policy(nil)),
			`spec.podSelector.matchExpressions[0].values[0]: Invalid value: "front end": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`},
		{"errors in kube's order", nil, &networkingv1.NetworkPolicy{Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"bad key!": "v"}},
			Ingress:     rules{{Ports: []port{{Port: num(0)}}, From: []peer{{}}}},
			Egress:      []networkingv1.NetworkPolicyEgressRule{{Ports: []port{{EndPort: i32(1)}}, To: []peer{block("")}}},
			PolicyTypes: []networkingv1.PolicyType{"Ingress", "Both"}}},
			`spec.podSelector.matchLabels: Invalid value: "bad key!": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')` + "\n" +
				p0 + ".port: Invalid value: 0: must be between 1 and 65535, inclusive\n" +
				f0 + ": Required value: must specify a peer\n" +
				"spec.egress[0].ports[0].endPort: Invalid value: 1: may not be specified when `port` is not specified\n" +
				"spec.egress[0].to[0].ipBlock.cidr: Required value\n" +
				`spec.policyTypes[1]: Unsupported value: "Both": supported values: "Ingress", "Egress"`},
		// Updates.
		{"update, valid", policy(ports(port{Port: num(80)})), policy(ports(port{Port: num(443)}), to(block("10.0.0.0/8"))), ""},
		{"update keeps a stored pod selector's invalid value, and relaxes the peers' selectors",
			selecting(spaced(), policy(nil)),
			selecting(spaced(), policy(from(peer{NamespaceSelector: spaced()}))), ""},
		{"update relaxes values only, not keys", selecting(spaced(), policy(nil)),
			selecting(&metav1.LabelSelector{MatchLabels: map[string]string{"bad key!": "v"}}, policy(nil)),
			`spec.podSelector.matchLabels: Invalid value: "bad key!": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`},
		{"update: an invalid peer selector alone relaxes nothing", policy(from(peer{PodSelector: spaced()})),
			policy(from(peer{PodSelector: spaced()})),
			f0 + `.podSelector.matchExpressions[0].values[0]: Invalid value: "front end": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`},
		{"update keeps stored CIDRs that strict parsing refuses, wherever they move",
			policy(from(block("10.0.0.1/8", "010.1.0.0/16"))),
			policy(nil, to(block("010.1.0.0/16")), to(block("10.0.0.1/8", "010.1.0.0/16"))),
			""},
		{"update refuses a new CIDR that strict parsing refuses", policy(from(block("10.0.0.1/8"))),
			policy(from(block("10.0.0.1/8", "10.1.0.1/16"))),
			f0 + `.ipBlock.except[0]: Invalid value: "10.1.0.1/16": must not have bits set beyond the prefix length`},
		{"update still checks a stored except is a strict subset", policy(from(block("10.0.0.0/8", "192.168.0.0/16"))),
			policy(from(block("10.0.0.0/8", "192.168.0.0/16"))),
			f0 + `.ipBlock.except[0]: Invalid value: "192.168.0.0/16": must be a strict subset of ` + "`cidr`"},
	}
}

func TestNetworkPolicyValidation(t *testing.T) {
	for _, c := range networkPolicyCases() {
		t.Run(c.name, func(t *testing.T) {
			if c.old == nil {
				networkPolicyHooks.PrepareCreate(c.obj)
			} else {
				networkPolicyHooks.PrepareCreate(c.old)
				networkPolicyHooks.PrepareUpdate(c.obj, c.old)
			}
			if got := fieldtest.Lines(networkPolicyHooks.Validate(c.obj, c.old)); got != c.want {
				t.Errorf("got\n%s\nwant\n%s", got, c.want)
			}
		})
	}
}
