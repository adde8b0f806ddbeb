package core

import (
	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/registry"
)

// replicationControllerHooks: the selector and the labels default to the
// template's labels and replicas to 1 (SetDefaults_ReplicationController);
// the selector must be non-empty and match the template, which is
// validated as any workload's.
var replicationControllerHooks = &registry.Hooks{
	Default: func(obj runtime.Object) { defaultReplicationController(obj.(*corev1.ReplicationController)) },
	Validate: func(obj, _ runtime.Object) field.ErrorList {
		s := &obj.(*corev1.ReplicationController).Spec
		spec := field.NewPath("spec")
		var errs field.ErrorList
		if s.Replicas != nil {
			errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(int64(*s.Replicas), spec.Child("replicas"))...)
		}
		errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(int64(s.MinReadySeconds), spec.Child("minReadySeconds"))...)
		if len(s.Selector) == 0 {
			errs = append(errs, field.Required(spec.Child("selector"), ""))
		} else {
			errs = append(errs, metav1validation.ValidateLabels(s.Selector, spec.Child("selector"))...)
		}
		if s.Template == nil {
			return append(errs, field.Required(spec.Child("template"), ""))
		}
		sel := labels.SelectorFromSet(s.Selector)
		return append(errs, ValidateWorkloadTemplate(s.Template, sel, spec.Child("template"), "ReplicationController")...)
	},
	// (kube's update compares the templates the wrong way round and warns
	// about the old one; kapi warns about the one written.)
	Warnings: func(obj, old runtime.Object) []string {
		rc := obj.(*corev1.ReplicationController)
		return WorkloadWarnings(obj, old, rc.Name, func() []string {
			if rc.Spec.Template == nil {
				return nil
			}
			return TemplateWarnings(field.NewPath("spec", "template"), rc.Spec.Template)
		})
	},
}

// replicationControllerStatus is the controllers' status subresource,
// with kube's ValidateReplicationControllerStatus in place of the spec's
// checks: counts not negative, and none above the replicas (nor the
// available above the ready).
var replicationControllerStatus = registry.ValidatedStatus(func(obj, _ runtime.Object) field.ErrorList {
	return validateReplicationControllerStatus(&obj.(*corev1.ReplicationController).Status, field.NewPath("status"))
})

func validateReplicationControllerStatus(st *corev1.ReplicationControllerStatus, path *field.Path) field.ErrorList {
	errs := NonNegative(path, Count32("replicas", st.Replicas), Count32("fullyLabeledReplicas", st.FullyLabeledReplicas),
		Count32("readyReplicas", st.ReadyReplicas), Count32("availableReplicas", st.AvailableReplicas),
		Count64("observedGeneration", st.ObservedGeneration))
	return append(errs, PartsWithinWhole(path,
		PartOf("fullyLabeledReplicas", st.FullyLabeledReplicas, st.Replicas, OfReplicas),
		PartOf("readyReplicas", st.ReadyReplicas, st.Replicas, OfReplicas),
		PartOf("availableReplicas", st.AvailableReplicas, st.Replicas, OfReplicas),
		PartOf("availableReplicas", st.AvailableReplicas, st.ReadyReplicas, "cannot be greater than readyReplicas"))...)
}

func defaultReplicationController(rc *corev1.ReplicationController) {
	if t := rc.Spec.Template; t != nil {
		DefaultPodSpec(&t.Spec)
		if t.Labels != nil {
			if len(rc.Spec.Selector) == 0 {
				rc.Spec.Selector = t.Labels
			}
			if len(rc.Labels) == 0 {
				rc.Labels = t.Labels
			}
		}
	}
	if rc.Spec.Replicas == nil {
		one := int32(1)
		rc.Spec.Replicas = &one
	}
}

// podTemplateHooks default and validate a PodTemplate's template.
var podTemplateHooks = &registry.Hooks{
	Default: func(obj runtime.Object) { DefaultPodSpec(&obj.(*corev1.PodTemplate).Template.Spec) },
	Validate: func(obj, _ runtime.Object) field.ErrorList {
		return ValidatePodTemplateSpec(&obj.(*corev1.PodTemplate).Template, field.NewPath("template"))
	},
	Warnings: func(obj, old runtime.Object) []string {
		if !SpecChanged(obj, old) {
			return nil
		}
		return TemplateWarnings(field.NewPath("template"), &obj.(*corev1.PodTemplate).Template)
	},
}
