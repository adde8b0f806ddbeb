package networking

import (
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// TestIPAddressName: kube's ValidateIPAddressName, message for message.
func TestIPAddressName(t *testing.T) {
	for name, want := range map[string]string{
		"192.168.1.5":       "",
		"2001:db8::1":       "",
		"2001:db8:0:0:0::1": `must be in canonical form ("2001:db8::1")`,
		"2001:DB8::1":       `must be in canonical form ("2001:db8::1")`,
		"10.01.2.3":         "must not have leading 0s",
		"::ffff:1.2.3.4":    "must not be an IPv4-mapped IPv6 address",
		"web":               "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
	} {
		if got := strings.Join(ipAddressName(name, false), "; "); got != want {
			t.Errorf("%s: got %q, want %q", name, got, want)
		}
	}
}

// TestIPAddressValidation: kube's ValidateIPAddress and
// ValidateIPAddressUpdate as kube-apiserver 1.37 answers them, its
// declarative errors in their place.
func TestIPAddressValidation(t *testing.T) {
	ip := func(ref *networkingv1.ParentReference) *networkingv1.IPAddress {
		return &networkingv1.IPAddress{Spec: networkingv1.IPAddressSpec{ParentRef: ref}}
	}
	svc := &networkingv1.ParentReference{Resource: "services", Namespace: "default", Name: "web"}
	cases := []struct {
		name     string
		obj, old *networkingv1.IPAddress
		want     string
	}{
		{"valid", ip(svc), nil, ""},
		{"no parent", ip(nil), nil, "spec.parentRef: Required value\n"},
		{"empty parent", ip(&networkingv1.ParentReference{}), nil,
			"spec.parentRef.resource: Required value\nspec.parentRef.name: Required value\n"},
		// The declarative "required" errors come after the handwritten.
		{"bad parent", ip(&networkingv1.ParentReference{Group: "Bad_Group", Namespace: "a/b", Name: ".."}), nil,
			`spec.parentRef.group: Invalid value: "Bad_Group": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')` + "\n" +
				`spec.parentRef.name: Invalid value: "..": may not be '..'` + "\n" +
				`spec.parentRef.namespace: Invalid value: "a/b": may not contain '/'` + "\n" +
				"spec.parentRef.resource: Required value\n"},
		{"update same", ip(svc), ip(svc), ""},
		{"update parent", ip(&networkingv1.ParentReference{Resource: "services", Name: "db"}), ip(svc),
			"spec.parentRef: Invalid value: null: field is immutable\n"},
		{"update to none", ip(nil), ip(svc), "spec.parentRef: Required value\nspec.parentRef: Invalid value: null: field is immutable\n"},
		// In place, when the declarative checks do not run again.
		{"update bad, unchanged", ip(&networkingv1.ParentReference{Namespace: "a/b"}), ip(&networkingv1.ParentReference{Namespace: "a/b"}),
			"spec.parentRef.resource: Required value\nspec.parentRef.name: Required value\n" +
				`spec.parentRef.namespace: Invalid value: "a/b": may not contain '/'` + "\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var old runtime.Object
			if c.old != nil {
				old = c.old
			}
			got := ""
			for _, e := range ipAddressHooks.Validate(c.obj, old) {
				got += e.Error() + "\n"
			}
			if got != c.want {
				t.Errorf("got\n%swant\n%s", got, c.want)
			}
		})
	}
}
