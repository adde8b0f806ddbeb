package discovery

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestEndpointSliceValidation: kube's ValidateEndpointSlice, message by
// message, with its defaults and the v1 handling of deprecatedTopology.
func TestEndpointSliceValidation(t *testing.T) {
	h := Hooks(false)
	str := func(s string) *string { return &s }
	slice := func(t discoveryv1.AddressType, eps ...discoveryv1.Endpoint) *discoveryv1.EndpointSlice {
		return &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: "web-1"}, AddressType: t, Endpoints: eps,
			Ports: []discoveryv1.EndpointPort{{Port: ptrInt32(80)}}}
	}
	for _, c := range []struct {
		s    *discoveryv1.EndpointSlice
		want []string
	}{
		{slice(discoveryv1.AddressTypeIPv4, discoveryv1.Endpoint{Addresses: []string{"10.0.0.1"}}), nil},
		{slice(discoveryv1.AddressTypeIPv4, discoveryv1.Endpoint{Addresses: []string{"fd00::1", "::ffff:10.0.0.1", "127.0.0.1"}}),
			[]string{`endpoints[0].addresses: Invalid value: "fd00::1": must be an IPv4 address`,
				`endpoints[0].addresses[1]: Invalid value: "::ffff:10.0.0.1": must not be an IPv4-mapped IPv6 address`,
				`endpoints[0].addresses[2]: Invalid value: "127.0.0.1": may not be in the loopback range (127.0.0.0/8, ::1/128)`}},
		{slice(discoveryv1.AddressTypeIPv6, discoveryv1.Endpoint{Addresses: []string{"FD00::1"}, Hostname: str("A"), NodeName: str("N_1"),
			Hints: &discoveryv1.EndpointHints{ForZones: []discoveryv1.ForZone{{Name: "a"}, {Name: "a"}}}}),
			[]string{`endpoints[0].addresses[0]: Invalid value: "FD00::1": must be in canonical form ("fd00::1")`,
				`endpoints[0].nodeName: Invalid value: "N_1"`,
				`endpoints[0].hostname: Invalid value: "A"`,
				`endpoints[0].hints.forZones[1].name: Duplicate value: "a"`}},
		{slice("IPv5"), []string{`addressType: Unsupported value: "IPv5": supported values: "FQDN", "IPv4", "IPv6"`}},
	} {
		h.PrepareCreate(c.s)
		errs := h.Validate(c.s, nil)
		if len(errs) != len(c.want) {
			t.Errorf("%+v: %v, want %d errors", c.s.Endpoints, errs, len(c.want))
			continue
		}
		for i, w := range c.want {
			if !strings.HasPrefix(errs[i].Error(), w) {
				t.Errorf("error %d: %q, want %q", i, errs[i].Error(), w)
			}
		}
	}

	// Ports default to name "" and TCP; deprecatedTopology is dropped, its
	// hostname kept as the node name when the stored slice named it.
	old := slice(discoveryv1.AddressTypeIPv4, discoveryv1.Endpoint{Addresses: []string{"10.0.0.1"},
		DeprecatedTopology: map[string]string{corev1.LabelHostname: "n1"}})
	s := old.DeepCopy()
	s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{Addresses: []string{"10.0.0.2"}, DeprecatedTopology: map[string]string{corev1.LabelHostname: "n2"}})
	h.PrepareUpdate(s, old)
	if p := s.Ports[0]; p.Name == nil || *p.Name != "" || p.Protocol == nil || *p.Protocol != corev1.ProtocolTCP {
		t.Errorf("port defaults: %+v", p)
	}
	if e := s.Endpoints; e[0].NodeName == nil || *e[0].NodeName != "n1" || e[1].NodeName != nil || e[0].DeprecatedTopology != nil || e[1].DeprecatedTopology != nil {
		t.Errorf("endpoints after the update: %+v", e)
	}
	// The address type is immutable; invalid endpoints stored stay
	// writable.
	s2 := s.DeepCopy()
	s2.AddressType = discoveryv1.AddressTypeIPv6
	if errs := h.Validate(s2, s); len(errs) != 1 || !strings.Contains(errs[0].Error(), "addressType: Invalid value: \"IPv6\": field is immutable") {
		t.Errorf("a new address type: %v", errs)
	}
	bad := slice(discoveryv1.AddressTypeIPv4, discoveryv1.Endpoint{Addresses: []string{"127.0.0.1"}})
	h.PrepareCreate(bad)
	relabelled := bad.DeepCopy()
	relabelled.Labels = map[string]string{"a": "b"}
	if errs := h.Validate(relabelled, bad); len(errs) != 0 {
		t.Errorf("an update that leaves the endpoints: %v", errs)
	}
}

func ptrInt32(v int32) *int32 { return &v }
