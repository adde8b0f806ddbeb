package core

import (
	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/registry"
)

// namespaceHooks: a new namespace is Active and carries the "kubernetes"
// finalizer in spec.finalizers; deleting it makes it Terminating, and it
// stays until the namespace controller has emptied it and removed that
// finalizer through the finalize subresource, the only write that changes
// spec.finalizers (kube's namespace strategy keeps them on an update).
// Their names are kube's validateFinalizerName.
var namespaceHooks = &registry.Hooks{
	// kube's SetDefaults_Namespace and SetDefaults_NamespaceStatus: the
	// name label, and a status write that leaves the phase out sets
	// Active.
	Default: func(obj runtime.Object) {
		ns := obj.(*corev1.Namespace)
		labelWithName(ns)
		if ns.Status.Phase == "" {
			ns.Status.Phase = corev1.NamespaceActive
		}
	},
	PrepareForCreate: func(obj runtime.Object) {
		ns := obj.(*corev1.Namespace)
		ns.Status = corev1.NamespaceStatus{Phase: corev1.NamespaceActive}
		if !hasFinalizer(ns.Spec.Finalizers, corev1.FinalizerKubernetes) {
			ns.Spec.Finalizers = append(ns.Spec.Finalizers, corev1.FinalizerKubernetes)
		}
	},
	PrepareForUpdate: func(obj, old runtime.Object) {
		obj.(*corev1.Namespace).Spec.Finalizers = old.(*corev1.Namespace).Spec.Finalizers
	},
	// An update keeps the stored finalizers, which kube does not check
	// again.
	Validate: func(obj, old runtime.Object) field.ErrorList {
		if old != nil {
			return nil
		}
		return namespaceFinalizerErrors(obj.(*corev1.Namespace), false)
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
	// In place of the row's, which keeps the stored finalizers.
	PrepareForUpdate: func(_, _ runtime.Object) {},
	Validate: func(obj, _ runtime.Object) field.ErrorList {
		return namespaceFinalizerErrors(obj.(*corev1.Namespace), true)
	},
}

// namespaceStatus is kube's namespace status strategy: the phase is
// Active, or Terminating once the namespace is being deleted.
var namespaceStatus = registry.ValidatedStatus(func(obj, _ runtime.Object) field.ErrorList {
	ns := obj.(*corev1.Namespace)
	p := field.NewPath("status", "Phase")
	switch {
	case ns.DeletionTimestamp.IsZero() && ns.Status.Phase != corev1.NamespaceActive:
		return field.ErrorList{field.Invalid(p, ns.Status.Phase, "may only be 'Active' if `deletionTimestamp` is empty")}
	case !ns.DeletionTimestamp.IsZero() && ns.Status.Phase != corev1.NamespaceTerminating:
		return field.ErrorList{field.Invalid(p, ns.Status.Phase, "may only be 'Terminating' if `deletionTimestamp` is not empty")}
	}
	return nil
})

// namespaceFinalizerErrors is kube's validateFinalizerName of each of
// spec.finalizers: a qualified name, unless it is one of kube's own.
// kube's create names the list in its errors, its finalize the item
// (indexed).
func namespaceFinalizerErrors(ns *corev1.Namespace, indexed bool) field.ErrorList {
	var errs field.ErrorList
	for i, f := range ns.Spec.Finalizers {
		p := field.NewPath("spec", "finalizers")
		if indexed {
			p = p.Index(i)
		}
		errs = append(errs, apimachineryvalidation.ValidateFinalizerName(string(f), p)...)
		if !registry.QualifiedFinalizer(string(f)) {
			errs = append(errs, field.Invalid(p, string(f), "name is neither a standard finalizer name nor is it fully qualified"))
		}
	}
	return errs
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
