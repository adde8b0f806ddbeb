package networking

import (
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/utils/ptr"

	"kapi/internal/registry"
	"kapi/internal/registry/fieldtest"
)

// ingressStatusSub is the status subresource of the ingresses' row.
func ingressStatusSub(t *testing.T) *registry.Subresource {
	t.Helper()
	for _, r := range Resources() {
		if s := r.Sub("status"); r.Kind == "Ingress" && s != nil && s.Validate != nil {
			return s
		}
	}
	t.Fatal("ingresses have no status subresource of their own")
	return nil
}

// TestIngressStatusUpdates: kube 1.37's ValidateIngressStatusUpdate (its
// ValidateIngressLoadBalancerStatus), with its messages, for writes
// through the status subresource.
func TestIngressStatusUpdates(t *testing.T) {
	type entries = []networkingv1.IngressLoadBalancerIngress
	ingress := "status.loadBalancer.ingress[0]"
	cases := []struct {
		name          string
		stored, write entries
		want          string
	}{
		{"ingress controller", nil, entries{
			{IP: "192.0.2.10", Ports: []networkingv1.IngressPortStatus{{Port: 443, Protocol: "TCP"}}},
			{IP: "2001:db8::10"}, {Hostname: "lb-1234.elb.example.com"},
		}, ""},
		// kube checks neither the ports nor their protocols or errors.
		{"ports left alone", nil, entries{{IP: "192.0.2.10",
			Ports: []networkingv1.IngressPortStatus{{Port: -1, Protocol: "QUIC", Error: ptr.To("not a CamelCase reason")}}}}, ""},
		{"not an ip", nil, entries{{IP: "lb.example.com"}},
			ingress + `.ip: Invalid value: "lb.example.com": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)`},
		{"leading zeros", nil, entries{{IP: "192.0.2.010"}},
			ingress + `.ip: Invalid value: "192.0.2.010": must not have leading 0s`},
		{"leading zeros stored before", entries{{IP: "192.0.2.010"}}, entries{{IP: "192.0.2.010"}, {IP: "192.0.2.11"}}, ""},
		{"IPv4-mapped", nil, entries{{IP: "::ffff:192.0.2.10"}},
			ingress + `.ip: Invalid value: "::ffff:192.0.2.10": must not be an IPv4-mapped IPv6 address`},
		{"hostname not a DNS name", nil, entries{{Hostname: "LB_1"}},
			ingress + `.hostname: Invalid value: "LB_1": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', ` +
				`and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`},
		{"hostname an ip", nil, entries{{Hostname: "2001:db8::10"}},
			ingress + `.hostname: Invalid value: "2001:db8::10": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', ` +
				`and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')` + "\n" +
				ingress + `.hostname: Invalid value: "2001:db8::10": must be a DNS name, not an IP address`},
	}
	sub := ingressStatusSub(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			old := &networkingv1.Ingress{}
			old.Status.LoadBalancer.Ingress = c.stored
			now := old.DeepCopy()
			now.Status.LoadBalancer.Ingress = c.write
			if got := fieldtest.Lines(sub.Validate(now, old)); got != c.want {
				t.Errorf("got\n%s\nwant\n%s", got, c.want)
			}
		})
	}
}

// TestIngressStatusKeepsSpec: a status write checks the status only, so
// the controller can still write the status of an ingress whose stored
// spec would not pass today's spec validation.
func TestIngressStatusKeepsSpec(t *testing.T) {
	old := &networkingv1.Ingress{} // neither a default backend nor rules
	now := old.DeepCopy()
	now.Status.LoadBalancer.Ingress = []networkingv1.IngressLoadBalancerIngress{{IP: "192.0.2.10"}}
	if errs := ingressHooks.Validate(now, old); len(errs) == 0 {
		t.Fatal("the spec is meant to be invalid")
	}
	if errs := ingressStatusSub(t).Validate(now, old); len(errs) > 0 {
		t.Errorf("status write: %s", fieldtest.Lines(errs))
	}
}
