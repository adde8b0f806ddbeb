package networking

import (
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"

	"kapi/internal/registry"

	"kapi/internal/registry/fieldtest"
)

func TestNetworkingValidation(t *testing.T) {
	prefix := networkingv1.PathTypePrefix
	backend := networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "web",
		Port: networkingv1.ServiceBackendPort{Number: 80}}}
	rule := func(host, path string, pt *networkingv1.PathType, b networkingv1.IngressBackend) networkingv1.IngressRule {
		return networkingv1.IngressRule{Host: host, IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
			Paths: []networkingv1.HTTPIngressPath{{Path: path, PathType: pt, Backend: b}}}}}
	}
	ing := func(rules ...networkingv1.IngressRule) *networkingv1.Ingress {
		return &networkingv1.Ingress{Spec: networkingv1.IngressSpec{Rules: rules}}
	}
	port := func(p intstr.IntOrString) *networkingv1.NetworkPolicy {
		return &networkingv1.NetworkPolicy{Spec: networkingv1.NetworkPolicySpec{Ingress: []networkingv1.NetworkPolicyIngressRule{{
			Ports: []networkingv1.NetworkPolicyPort{{Port: &p}}}}}}
	}
	cases := []struct {
		name string
		hook *registry.Hooks
		obj  runtime.Object
		want string
	}{
		{"ingress valid", ingressHooks, ing(rule("*.example.com", "/", &prefix, backend)), ""},
		{"ingress empty", ingressHooks, ing(), "spec: Invalid value"},
		{"ingress ip host", ingressHooks, ing(rule("10.0.0.1", "/", &prefix, backend)), "spec.rules[0].host: Invalid value"},
		{"ingress no path type", ingressHooks, ing(rule("a.com", "/", nil, backend)), "spec.rules[0].http.paths[0].pathType: Required value"},
		{"ingress relative path", ingressHooks, ing(rule("a.com", "api", &prefix, backend)), "spec.rules[0].http.paths[0].path: Invalid value"},
		{"ingress no port", ingressHooks, ing(rule("a.com", "/", &prefix, networkingv1.IngressBackend{
			Service: &networkingv1.IngressServiceBackend{Name: "web"}})), "spec.rules[0].http.paths[0].backend: Required value"},
		{"netpol valid", networkPolicyHooks, port(intstr.FromInt32(80)), ""},
		{"netpol port", networkPolicyHooks, port(intstr.FromInt32(70000)), "spec.ingress[0].ports[0].port: Invalid value"},
		{"netpol peer", networkPolicyHooks, &networkingv1.NetworkPolicy{Spec: networkingv1.NetworkPolicySpec{
			Ingress: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{}}}}}}, "spec.ingress[0].from[0]: Required value"},
		{"netpol cidr", networkPolicyHooks, &networkingv1.NetworkPolicy{Spec: networkingv1.NetworkPolicySpec{
			Egress: []networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/8",
				Except: []string{"192.168.0.0/16"}}}}}}}}, "spec.egress[0].to[0].ipBlock.except[0]: Invalid value"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.hook.PrepareCreate(c.obj)
			if got := fieldtest.Paths(c.hook.Validate(c.obj, nil)); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
	np := &networkingv1.NetworkPolicy{Spec: networkingv1.NetworkPolicySpec{Egress: []networkingv1.NetworkPolicyEgressRule{{}}}}
	networkPolicyHooks.PrepareCreate(np)
	if len(np.Spec.PolicyTypes) != 2 {
		t.Errorf("policyTypes: %v", np.Spec.PolicyTypes)
	}
}

// TestClassesAndCIDRs: IngressClass and ServiceCIDR validation as kube's.
func TestClassesAndCIDRs(t *testing.T) {
	ic := func(controller string) *networkingv1.IngressClass {
		return &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: "c"}, Spec: networkingv1.IngressClassSpec{Controller: controller}}
	}
	for controller, want := range map[string]string{"example.com/ingress": "", "Bad Controller": "spec.controller: Invalid value", "": "spec.controller: Required value"} {
		if got := fieldtest.Paths(ingressClassHooks.Validate(ic(controller), nil)); got != want {
			t.Errorf("controller %q: %q, want %q", controller, got, want)
		}
	}
	if got := fieldtest.Paths(ingressClassHooks.Validate(ic("example.com/other"), ic("example.com/ingress"))); got != "spec.controller: Invalid value" {
		t.Errorf("changing the controller: %q", got)
	}
	sc := func(cidrs ...string) *networkingv1.ServiceCIDR {
		return &networkingv1.ServiceCIDR{ObjectMeta: metav1.ObjectMeta{Name: "s"}, Spec: networkingv1.ServiceCIDRSpec{CIDRs: cidrs}}
	}
	for _, c := range []struct {
		cidrs []string
		want  string
	}{
		{[]string{"10.96.0.0/12"}, ""},
		{[]string{"10.96.0.0/12", "fd00::/108"}, ""},
		{nil, "spec.cidrs: Required value"},
		{[]string{"not-a-cidr"}, "spec.cidrs[0]: Invalid value"},
		{[]string{"10.96.0.0/12", "10.100.0.0/16"}, "spec.cidrs: Invalid value"},
		{[]string{"10.96.0.0/12", "fd00::/108", "10.1.0.0/16"}, "spec.cidrs: Invalid value"},
	} {
		if got := fieldtest.Paths(serviceCIDRHooks.Validate(sc(c.cidrs...), nil)); got != c.want {
			t.Errorf("%v: %q, want %q", c.cidrs, got, c.want)
		}
	}
	if got := fieldtest.Paths(serviceCIDRHooks.Validate(sc("10.97.0.0/16"), sc("10.96.0.0/12"))); got != "spec.cidrs[0]: Invalid value" {
		t.Errorf("changing a CIDR: %q", got)
	}
	if got := fieldtest.Paths(serviceCIDRHooks.Validate(sc("10.96.0.0/12", "fd00::/108"), sc("10.96.0.0/12"))); got != "" {
		t.Errorf("adding the other family: %q", got)
	}
}
