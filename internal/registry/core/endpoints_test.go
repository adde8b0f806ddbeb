package core

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// TestEndpointsValidation: kube's ValidateEndpoints, message by message;
// an update that leaves invalid subsets as they were passes.
func TestEndpointsValidation(t *testing.T) {
	h := EndpointsHooks(false)
	ep := func(subsets ...corev1.EndpointSubset) *corev1.Endpoints {
		return &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Subsets: subsets}
	}
	node := "Bad_Node"
	app := "a/b/c"
	for _, c := range []struct {
		ep   *corev1.Endpoints
		want []string
	}{
		{ep(corev1.EndpointSubset{Addresses: []corev1.EndpointAddress{{IP: "10.0.0.1"}}, Ports: []corev1.EndpointPort{{Port: 80}}}), nil},
		{ep(corev1.EndpointSubset{Ports: []corev1.EndpointPort{{Port: 80}}}),
			[]string{"subsets[0]: Required value: must specify `addresses` or `notReadyAddresses`"}},
		{ep(corev1.EndpointSubset{Addresses: []corev1.EndpointAddress{{IP: "010.0.0.1", Hostname: "A_B", NodeName: &node}},
			NotReadyAddresses: []corev1.EndpointAddress{{IP: "0.0.0.0"}, {IP: "x"}}}),
			[]string{`subsets[0].addresses[0].ip: Invalid value: "010.0.0.1": must not have leading 0s`,
				`subsets[0].addresses[0].hostname: Invalid value: "A_B": a lowercase RFC 1123 label`,
				`subsets[0].addresses[0].nodeName: Invalid value: "Bad_Node": a lowercase RFC 1123 subdomain`,
				`subsets[0].notReadyAddresses[0].ip: Invalid value: "0.0.0.0": may not be unspecified (0.0.0.0)`,
				`subsets[0].notReadyAddresses[1].ip: Invalid value: "x": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)`,
				`subsets[0].notReadyAddresses[1].ip: Invalid value: "x": must be a valid IP address`}},
		{ep(corev1.EndpointSubset{Addresses: []corev1.EndpointAddress{{IP: "10.0.0.1"}},
			Ports: []corev1.EndpointPort{{Port: 0, Protocol: "ICMP", AppProtocol: &app}, {Name: "b", Port: 80}}}),
			[]string{"subsets[0].ports[0].name: Required value",
				"subsets[0].ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
				`subsets[0].ports[0].protocol: Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"`,
				`subsets[0].ports[0].appProtocol: Invalid value: "a/b/c"`}},
	} {
		h.PrepareCreate(c.ep)
		errs := h.Validate(c.ep, nil)
		if len(errs) != len(c.want) {
			t.Errorf("%+v: %v, want %d errors", c.ep.Subsets, errs, len(c.want))
			continue
		}
		for i, w := range c.want {
			if !strings.HasPrefix(errs[i].Error(), w) {
				t.Errorf("error %d: %q, want %q", i, errs[i].Error(), w)
			}
		}
	}
	// The protocol defaults to TCP; subsets stored invalid stay writable.
	e := ep(corev1.EndpointSubset{Addresses: []corev1.EndpointAddress{{IP: "127.0.0.1"}}, Ports: []corev1.EndpointPort{{Port: 80}}})
	h.PrepareCreate(e)
	if e.Subsets[0].Ports[0].Protocol != corev1.ProtocolTCP {
		t.Errorf("protocol %q", e.Subsets[0].Ports[0].Protocol)
	}
	if errs := h.Validate(e, nil); len(errs) != 1 {
		t.Errorf("a loopback address: %v", errs)
	}
	updated := e.DeepCopy()
	updated.Labels = map[string]string{"a": "b"}
	if errs := h.Validate(updated, e); len(errs) != 0 {
		t.Errorf("an update that leaves the subsets: %v", errs)
	}
	if errs := EndpointsHooks(true).Validate(e, nil); len(errs) != 0 {
		t.Errorf("a loopback address with --proxy-allow-loopback: %v", errs)
	}
}

// TestPortProtocols: containers', services' and endpoints' ports name
// kube's protocols in its order.
func TestPortProtocols(t *testing.T) {
	want := `Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"`
	spec := &corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "x", Ports: []corev1.ContainerPort{{ContainerPort: 80, Protocol: "HTTP"}}}}}
	DefaultPodSpec(spec)
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "s"}, Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80, Protocol: "HTTP"}}}}
	defaultService(svc)
	for what, errs := range map[string]field.ErrorList{"pod": ValidatePodSpec(spec, field.NewPath("spec")), "service": validateService(svc)} {
		found := false
		for _, e := range errs {
			found = found || strings.Contains(e.Error(), want)
		}
		if !found {
			t.Errorf("%s: %v", what, errs)
		}
	}
}
