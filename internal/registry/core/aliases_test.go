package core

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestServiceAccountAlias: spec.serviceAccount is taken when
// serviceAccountName is empty (a pod naming only the old field runs as
// that account, not as "default"), loses to serviceAccountName, and is
// always written out as it, in pods and in templates.
func TestServiceAccountAlias(t *testing.T) {
	for _, c := range []struct{ name, old, want string }{
		{"", "builder", "builder"},
		{"runner", "builder", "runner"},
		{"runner", "", "runner"},
		{"", "", ""},
	} {
		p := pod(func(p *corev1.Pod) { p.Spec.ServiceAccountName, p.Spec.DeprecatedServiceAccount = c.name, c.old })
		podHooks.PrepareForCreate(p)
		if p.Spec.ServiceAccountName != c.want || p.Spec.DeprecatedServiceAccount != c.want {
			t.Errorf("serviceAccountName %q, serviceAccount %q: got %q and %q, want %q for both",
				c.name, c.old, p.Spec.ServiceAccountName, p.Spec.DeprecatedServiceAccount, c.want)
		}
		s := corev1.PodSpec{ServiceAccountName: c.name, DeprecatedServiceAccount: c.old}
		DefaultPodSpec(&s)
		if s.ServiceAccountName != c.want || s.DeprecatedServiceAccount != c.want {
			t.Errorf("template: serviceAccountName %q, serviceAccount %q: got %q and %q", c.name, c.old, s.ServiceAccountName, s.DeprecatedServiceAccount)
		}
	}
}

// TestPodStatusAliases: podIP is podIPs[0], set from podIP alone, and
// podIP wins when the two differ, as kube's conversion; hostIP the same.
func TestPodStatusAliases(t *testing.T) {
	for _, c := range []struct {
		ip   string
		ips  []string
		want []string
	}{
		{"10.0.0.1", nil, []string{"10.0.0.1"}},
		{"", []string{"10.0.0.1", "fd00::1"}, []string{"10.0.0.1", "fd00::1"}},
		{"10.0.0.2", []string{"10.0.0.1", "fd00::1"}, []string{"10.0.0.2"}},
		{"10.0.0.1", []string{"10.0.0.1", "fd00::1"}, []string{"10.0.0.1", "fd00::1"}},
		{"", nil, nil},
	} {
		old := pod(nil)
		p := pod(func(p *corev1.Pod) {
			p.Status.PodIP, p.Status.HostIP = c.ip, c.ip
			for _, ip := range c.ips {
				p.Status.PodIPs = append(p.Status.PodIPs, corev1.PodIP{IP: ip})
				p.Status.HostIPs = append(p.Status.HostIPs, corev1.HostIP{IP: ip})
			}
		})
		podHooks.PrepareForUpdate(p, old)
		var pods, hosts []string
		for i := range p.Status.PodIPs {
			pods, hosts = append(pods, p.Status.PodIPs[i].IP), append(hosts, p.Status.HostIPs[i].IP)
		}
		want := ""
		if len(c.want) > 0 {
			want = c.want[0]
		}
		if !equal(pods, c.want) || !equal(hosts, c.want) || p.Status.PodIP != want || p.Status.HostIP != want {
			t.Errorf("podIP %q, podIPs %v: got %q %v, hostIP %q %v; want %q %v", c.ip, c.ips, p.Status.PodIP, pods, p.Status.HostIP, hosts, want, c.want)
		}
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestNodeValidation: podCIDR and podCIDRs are one field; taints and
// CIDRs are validated as kube's ValidateNode, and podCIDRs once set stay.
func TestNodeValidation(t *testing.T) {
	node := func(mut func(*corev1.Node)) *corev1.Node {
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}}
		mut(n)
		return n
	}
	n := node(func(n *corev1.Node) { n.Spec.PodCIDR = "10.1.0.0/24" })
	if errs := create(nodeHooks, n); len(errs) > 0 || !equal(n.Spec.PodCIDRs, []string{"10.1.0.0/24"}) {
		t.Errorf("podCIDR alone: %v, podCIDRs %v", errs, n.Spec.PodCIDRs)
	}
	for _, c := range []struct {
		name string
		mut  func(*corev1.Node)
		want string
	}{
		{"taints", func(n *corev1.Node) {
			n.Spec.Taints = []corev1.Taint{{Key: "a", Effect: corev1.TaintEffectNoSchedule}, {Key: "a", Value: "x", Effect: corev1.TaintEffectNoSchedule},
				{Key: "a", Effect: corev1.TaintEffectNoExecute}}
		}, "spec.taints[1]: Duplicate value"},
		{"effect", func(n *corev1.Node) { n.Spec.Taints = []corev1.Taint{{Key: "a", Effect: "Bogus"}} }, "spec.taints[0].effect: Unsupported value"},
		{"no effect", func(n *corev1.Node) { n.Spec.Taints = []corev1.Taint{{Key: "a"}} }, "spec.taints[0].effect: Required value"},
		{"key and value", func(n *corev1.Node) {
			n.Spec.Taints = []corev1.Taint{{Key: "a b", Value: "c d", Effect: corev1.TaintEffectNoSchedule}}
		}, "spec.taints[0].key: Invalid value; spec.taints[0].value: Invalid value"},
		{"cidr", func(n *corev1.Node) { n.Spec.PodCIDRs = []string{"not-a-cidr"} }, "spec.podCIDRs[0]: Invalid value"},
		{"three cidrs", func(n *corev1.Node) { n.Spec.PodCIDRs = []string{"10.1.0.0/24", "fd00::/64", "10.2.0.0/24"} }, "spec.podCIDRs: Invalid value"},
	} {
		if got := errPaths(create(nodeHooks, node(c.mut))); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	old := node(func(n *corev1.Node) { n.Spec.PodCIDRs = []string{"10.1.0.0/24"} })
	changed := node(func(n *corev1.Node) { n.Spec.PodCIDRs = []string{"10.9.0.0/24"} })
	if got := errPaths(update(nodeHooks, changed, old)); got != "spec.podCIDRs: Forbidden" {
		t.Errorf("changing podCIDRs: %q", got)
	}
	first := node(func(n *corev1.Node) { n.Spec.PodCIDR = "10.1.0.0/24" })
	if errs := update(nodeHooks, first, node(func(*corev1.Node) {})); len(errs) > 0 {
		t.Errorf("setting podCIDR on a node without one: %v", errs)
	}
}
