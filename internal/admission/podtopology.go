package admission

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// topologyLabels are the node labels PodTopologyLabels copies, kube's
// default configuration of the plugin.
var topologyLabels = []string{corev1.LabelTopologyZone, corev1.LabelTopologyRegion}

// PodTopologyLabels is kube-apiserver's plugin of the same name (on by
// default since 1.35): a pod bound to a node, by a Binding (pods/binding,
// a scheduler's) or created with spec.nodeName, gets the node's
// topology.kubernetes.io/zone and region labels. On a Binding they go
// into the Binding's labels, which the binding copies onto the pod. A
// node that does not exist gives nothing.
type PodTopologyLabels struct {
	Nodes Objects
}

// Admit copies the labels.
func (p *PodTopologyLabels) Admit(ctx context.Context, a *Attributes) error {
	if a.Operation != Create || !is(a, "", "pods") {
		return nil
	}
	// The labels go on the pod, or on its Binding (both metav1.Objects).
	var node string
	var target metav1.Object
	switch obj := a.Object.(type) {
	case *corev1.Pod:
		if a.Subresource != "" {
			return nil
		}
		node, target = obj.Spec.NodeName, obj
	case *corev1.Binding:
		if a.Subresource != "binding" || obj.Target.Kind != "Node" {
			return nil
		}
		node, target = obj.Target.Name, obj
	default:
		return nil
	}
	if node == "" {
		return nil
	}
	o, err := p.Nodes.Get(ctx, "", node)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	n, ok := o.(*corev1.Node)
	if !ok {
		return nil
	}
	labels := target.GetLabels()
	for _, k := range topologyLabels {
		if v, ok := n.Labels[k]; ok {
			if labels == nil {
				labels = map[string]string{}
			}
			labels[k] = v
		}
	}
	target.SetLabels(labels)
	return nil
}
