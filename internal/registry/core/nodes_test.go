package core

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"kapi/internal/registry/fieldtest"
)

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
		{"two of a family", func(n *corev1.Node) { n.Spec.PodCIDRs = []string{"10.1.0.0/24", "10.2.0.0/24"} }, "spec.podCIDRs: Invalid value"},
		{"three cidrs", func(n *corev1.Node) { n.Spec.PodCIDRs = []string{"10.1.0.0/24", "fd00::/64", "10.2.0.0/24"} }, "spec.podCIDRs: Invalid value"},
	} {
		if got := fieldtest.Paths(create(nodeHooks, node(c.mut))); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	old := node(func(n *corev1.Node) { n.Spec.PodCIDRs = []string{"10.1.0.0/24"} })
	changed := node(func(n *corev1.Node) { n.Spec.PodCIDRs = []string{"10.9.0.0/24"} })
	if got := fieldtest.Paths(update(nodeHooks, changed, old)); got != "spec.podCIDRs: Forbidden" {
		t.Errorf("changing podCIDRs: %q", got)
	}
	first := node(func(n *corev1.Node) { n.Spec.PodCIDR = "10.1.0.0/24" })
	if errs := update(nodeHooks, first, node(func(*corev1.Node) {})); len(errs) > 0 {
		t.Errorf("setting podCIDR on a node without one: %v", errs)
	}
}

// TestNodeAllocatableDefault: a node's allocatable is its capacity when
// it states none, on create and on a status write; one it states stays.
func TestNodeAllocatableDefault(t *testing.T) {
	capacity := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourcePods: resource.MustParse("110")}
	n := &corev1.Node{Status: corev1.NodeStatus{Capacity: capacity}}
	nodeHooks.PrepareCreate(n)
	if got := n.Status.Allocatable; got.Cpu().String() != "4" || got.Pods().String() != "110" {
		t.Errorf("allocatable %v", got)
	}
	n.Status.Allocatable[corev1.ResourceCPU] = resource.MustParse("3")
	if capacity.Cpu().String() != "4" {
		t.Errorf("allocatable shares the capacity's map")
	}
	updated := n.DeepCopy()
	nodeHooks.PrepareUpdate(updated, n)
	if updated.Status.Allocatable.Cpu().String() != "3" {
		t.Errorf("a stated allocatable: %v", updated.Status.Allocatable)
	}
	bare := &corev1.Node{}
	nodeHooks.PrepareCreate(bare)
	if bare.Status.Allocatable != nil {
		t.Errorf("a node without capacity: %v", bare.Status.Allocatable)
	}
}
