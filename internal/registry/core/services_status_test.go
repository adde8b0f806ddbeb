package core

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"kapi/internal/registry/fieldtest"
)

// loadBalancer is a stored LoadBalancer service of one port.
func loadBalancer() *corev1.Service {
	return &corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, ClusterIP: "10.96.0.10",
		ClusterIPs: []string{"10.96.0.10"}, Ports: []corev1.ServicePort{{Port: 80, Protocol: corev1.ProtocolTCP, NodePort: 30080}}}}
}

// vip is an ingress entry of ip in mode VIP, as the defaults leave one.
func vip(ip string) corev1.LoadBalancerIngress {
	return corev1.LoadBalancerIngress{IP: ip, IPMode: ptr.To(corev1.LoadBalancerIPModeVIP)}
}

// TestServiceStatusUpdates: kube 1.37's ValidateServiceStatusUpdate (its
// ValidateLoadBalancerStatus), with its messages, for writes through the
// status subresource.
func TestServiceStatusUpdates(t *testing.T) {
	ingress := "status.loadBalancer.ingress[0]"
	cases := []struct {
		name          string
		svc           func() *corev1.Service
		stored, write []corev1.LoadBalancerIngress
		want          string
	}{
		{"load balancer controller", loadBalancer, nil, []corev1.LoadBalancerIngress{
			{IP: "192.0.2.10", IPMode: ptr.To(corev1.LoadBalancerIPModeProxy),
				Ports: []corev1.PortStatus{{Port: 80, Protocol: corev1.ProtocolTCP}}},
			vip("2001:db8::10"), {Hostname: "lb-1234.elb.example.com"},
		}, ""},
		{"not a load balancer", func() *corev1.Service { return &corev1.Service{} }, nil, []corev1.LoadBalancerIngress{vip("192.0.2.10")},
			"status.loadBalancer.ingress: Forbidden: may only be used when `spec.type` is 'LoadBalancer'"},
		{"not an ip", loadBalancer, nil, []corev1.LoadBalancerIngress{vip("lb.example.com")},
			ingress + `.ip: Invalid value: "lb.example.com": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)`},
		{"leading zeros", loadBalancer, nil, []corev1.LoadBalancerIngress{vip("192.0.2.010")},
			ingress + `.ip: Invalid value: "192.0.2.010": must not have leading 0s`},
		{"leading zeros stored before", loadBalancer, []corev1.LoadBalancerIngress{vip("192.0.2.010")},
			[]corev1.LoadBalancerIngress{vip("192.0.2.010")}, ""},
		{"IPv4-mapped", loadBalancer, nil, []corev1.LoadBalancerIngress{vip("::ffff:192.0.2.10")},
			ingress + `.ip: Invalid value: "::ffff:192.0.2.10": must not be an IPv4-mapped IPv6 address`},
		{"ip without mode", loadBalancer, nil, []corev1.LoadBalancerIngress{{IP: "192.0.2.10"}},
			ingress + ".ipMode: Required value: must be specified when `ip` is set"},
		{"mode without ip", loadBalancer, nil, []corev1.LoadBalancerIngress{{Hostname: "lb.example.com", IPMode: ptr.To(corev1.LoadBalancerIPModeVIP)}},
			ingress + ".ipMode: Forbidden: may not be specified when `ip` is not set"},
		{"unknown mode", loadBalancer, nil, []corev1.LoadBalancerIngress{{IP: "192.0.2.10", IPMode: ptr.To(corev1.LoadBalancerIPMode("Direct"))}},
			ingress + `.ipMode: Unsupported value: "Direct": supported values: "Proxy", "VIP"`},
		{"hostname not a DNS name", loadBalancer, nil, []corev1.LoadBalancerIngress{{Hostname: "LB_1"}},
			ingress + `.hostname: Invalid value: "LB_1": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', ` +
				`and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`},
		{"hostname an ip", loadBalancer, nil, []corev1.LoadBalancerIngress{{Hostname: "192.0.2.10"}},
			ingress + `.hostname: Invalid value: "192.0.2.10": must be a DNS name, not an IP address`},
		{"errors in order", loadBalancer, nil, []corev1.LoadBalancerIngress{{IP: "x", Hostname: "192.0.2.10"}},
			ingress + `.ip: Invalid value: "x": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)` + "\n" +
				ingress + ".ipMode: Required value: must be specified when `ip` is set\n" +
				ingress + `.hostname: Invalid value: "192.0.2.10": must be a DNS name, not an IP address`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			old := c.svc()
			old.Status.LoadBalancer.Ingress = c.stored
			now := old.DeepCopy()
			now.Status.LoadBalancer.Ingress = c.write
			if got := fieldtest.Lines(serviceStatus.Validate(now, old)); got != c.want {
				t.Errorf("got\n%s\nwant\n%s", got, c.want)
			}
		})
	}
}

// TestServiceStatusAsWritten: what a load balancer controller sends (an
// ip without a mode, its ports with an error, conditions) passes once the
// defaults give the ip its mode; kube checks neither ports nor
// conditions. The stored spec is not checked again, even when today's
// spec validation would refuse it.
func TestServiceStatusAsWritten(t *testing.T) {
	old := loadBalancer()
	old.Spec.Ports = nil // refused by spec validation: a LoadBalancer needs ports
	now := old.DeepCopy()
	now.Status = corev1.ServiceStatus{
		LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{{IP: "192.0.2.10",
			Ports: []corev1.PortStatus{{Port: -1, Protocol: "SCTP", Error: ptr.To("not a CamelCase reason")}}}}},
		Conditions: []metav1.Condition{{Type: "not a name"}},
	}
	defaultService(now)
	if errs := serviceHooks.Validate(now, old); len(errs) == 0 {
		t.Fatal("the spec is meant to be invalid")
	}
	if errs := serviceStatus.Validate(now, old); len(errs) > 0 {
		t.Errorf("status write: %s", fieldtest.Lines(errs))
	}
}

// TestServiceStatusPrepare: a status write is prepared as kube's status
// strategy prepares it, not as an update of the service: the load
// balancer sent for a service that is not a LoadBalancer stays, to be
// refused, rather than be cleared and the write pass.
func TestServiceStatusPrepare(t *testing.T) {
	old := &corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP}}
	now := old.DeepCopy()
	now.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{vip("192.0.2.10")}
	if serviceStatus.PrepareForUpdate == nil {
		t.Fatal("a status write takes the row's update preparation")
	}
	serviceStatus.PrepareForUpdate(now, old)
	if got := fieldtest.Paths(serviceStatus.Validate(now, old)); got != "status.loadBalancer.ingress: Forbidden" {
		t.Errorf("got %q", got)
	}
}

// TestServiceUpdateClearsLoadBalancer: as kube's dropTypeDependentFields,
// an update of a service that is no longer a LoadBalancer clears the load
// balancer's status it kept from the stored service; one that still is
// keeps it.
func TestServiceUpdateClearsLoadBalancer(t *testing.T) {
	for _, c := range []struct {
		to   corev1.ServiceType
		keep bool
	}{{corev1.ServiceTypeLoadBalancer, true}, {corev1.ServiceTypeNodePort, false}, {corev1.ServiceTypeClusterIP, false}} {
		old := loadBalancer()
		old.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{vip("192.0.2.10")}
		now := old.DeepCopy()
		now.Spec.Type = c.to
		serviceHooks.PrepareForUpdate(now, old)
		if kept := len(now.Status.LoadBalancer.Ingress) == 1; kept != c.keep {
			t.Errorf("to %s: load balancer kept %v, want %v", c.to, kept, c.keep)
		}
	}
}

// TestLoadBalancerIPWarnings: kube's status strategies warn of a load
// balancer's ip that is valid but not in canonical form, each at its
// entry; an entry without an ip gives none.
func TestLoadBalancerIPWarnings(t *testing.T) {
	got := LoadBalancerIPWarnings([]string{"10.0.0.1", "", "fd00::0:1"})
	want := []string{`status.loadBalancer.ingress[2]: IPv6 address "fd00::0:1" should be in RFC 5952 canonical format ("fd00::1")`}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	svc := &corev1.Service{Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{
		Ingress: []corev1.LoadBalancerIngress{{IP: "::ffff:10.0.0.1"}}}}}
	if got := serviceStatus.Warnings(svc, svc); len(got) != 1 || !strings.Contains(got[0], `use "10.0.0.1"`) {
		t.Errorf("service status warnings: %q", got)
	}
}
