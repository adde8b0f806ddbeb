package core

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"kapi/internal/registry"
)

// namespaceHooks: a new namespace is Active and carries the "kubernetes"
// finalizer in spec.finalizers; deleting it makes it Terminating, and it
// stays until the namespace controller has emptied it and removed that
// finalizer through the finalize subresource.
var namespaceHooks = &registry.Hooks{
	PrepareForCreate: func(obj runtime.Object) {
		ns := obj.(*corev1.Namespace)
		ns.Status = corev1.NamespaceStatus{Phase: corev1.NamespaceActive}
		if !hasFinalizer(ns.Spec.Finalizers, corev1.FinalizerKubernetes) {
			ns.Spec.Finalizers = append(ns.Spec.Finalizers, corev1.FinalizerKubernetes)
		}
		labelWithName(ns)
	},
	PrepareForUpdate: func(obj, _ runtime.Object) {
		labelWithName(obj.(*corev1.Namespace))
	},
	PrepareForDelete: func(obj runtime.Object) {
		obj.(*corev1.Namespace).Status.Phase = corev1.NamespaceTerminating
	},
	Retain: func(obj runtime.Object) bool {
		return len(obj.(*corev1.Namespace).Spec.Finalizers) > 0
	},
}

// namespaceFinalize is the finalize subresource: a write to it changes
// only spec.finalizers (the namespace controller removes "kubernetes"
// once the namespace is empty).
var namespaceFinalize = &registry.Subresource{
	Name: "finalize", Verbs: []string{"update"},
	Write: func(_ *registry.Resource, in, old runtime.Object) (runtime.Object, error) {
		out := old.DeepCopyObject().(*corev1.Namespace)
		out.Spec.Finalizers = in.(*corev1.Namespace).Spec.Finalizers
		return out, nil
	},
}

func hasFinalizer(list []corev1.FinalizerName, f corev1.FinalizerName) bool {
	for _, x := range list {
		if x == f {
			return true
		}
	}
	return false
}

// labelWithName sets kubernetes.io/metadata.name, as kube-apiserver labels
// every namespace with its name.
func labelWithName(ns *corev1.Namespace) {
	if ns.Labels == nil {
		ns.Labels = map[string]string{}
	}
	ns.Labels[corev1.LabelMetadataName] = ns.Name
}
