package admission

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
)

// TaintNodesByCondition is kube-apiserver's plugin of the same name: a
// new node is tainted node.kubernetes.io/not-ready:NoSchedule until its
// controller sees it ready.
type TaintNodesByCondition struct{}

// Admit taints new nodes.
func (TaintNodesByCondition) Admit(_ context.Context, a *Attributes) error {
	if a.Operation != Create || !is(a, "", "nodes") || a.Subresource != "" {
		return nil
	}
	node, ok := a.Object.(*corev1.Node)
	if !ok {
		return Forbidden(a, fmt.Errorf("unexpected type %T", a.Object))
	}
	for _, t := range node.Spec.Taints {
		if t.Key == corev1.TaintNodeNotReady && t.Effect == corev1.TaintEffectNoSchedule {
			return nil
		}
	}
	node.Spec.Taints = append(node.Spec.Taints, corev1.Taint{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoSchedule})
	return nil
}
