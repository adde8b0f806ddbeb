package apps

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/registry/core"
)

var specPath = field.NewPath("spec")

// strictSelector: the workloads' selectors may not hold invalid label
// values (kube relaxes this for daemon sets only, see validateDaemonSet).
var strictSelector = metav1validation.LabelSelectorValidationOptions{}

// validateRequiredSelector is kube's check of a deployment's, replica
// set's or stateful set's selector: required, valid, and not empty, as an
// empty selector would adopt every pod of the namespace. kind names the
// workload in the message ("deployment" for replica sets too, as kube's).
func validateRequiredSelector(sel *metav1.LabelSelector, kind string) field.ErrorList {
	path := specPath.Child("selector")
	if sel == nil {
		return field.ErrorList{field.Required(path, "")}
	}
	errs := metav1validation.ValidateLabelSelector(sel, strictSelector, path)
	if len(sel.MatchLabels)+len(sel.MatchExpressions) == 0 {
		errs = append(errs, field.Invalid(path, sel, "empty selector is invalid for "+kind))
	}
	return errs
}

// selectorMatchesTemplate is core's TemplateMatchesSelector of the
// workload's template.
func selectorMatchesTemplate(sel labels.Selector, t *corev1.PodTemplateSpec) field.ErrorList {
	return core.TemplateMatchesSelector(t.Labels, sel, specPath.Child("template"))
}

// restartAlways is core's WorkloadRestartAlways of the workload's
// template; kind names the workload in kube's message.
func restartAlways(t *corev1.PodTemplateSpec, kind string) field.ErrorList {
	return core.WorkloadRestartAlways(t, specPath.Child("template"), kind)
}

// validateReplicaSetTemplate is kube's ValidatePodTemplateSpecForReplicaSet
// as ValidateReplicaSetSpec and ValidateDeploymentSpec call it: a
// selector that does not parse leaves the template unchecked.
func validateReplicaSetTemplate(sel *metav1.LabelSelector, t *corev1.PodTemplateSpec) field.ErrorList {
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return field.ErrorList{field.Invalid(specPath.Child("selector"), sel, "invalid label selector")}
	}
	errs := selectorMatchesTemplate(s, t)
	errs = append(errs, core.ValidatePodTemplateSpec(t, specPath.Child("template"))...)
	return append(errs, restartAlways(t, "ReplicaSet")...)
}

// nonNegative is kube's ValidateNonnegativeField of a count under spec.
func nonNegative(v int32, name string) field.ErrorList {
	return apimachineryvalidation.ValidateNonnegativeField(int64(v), specPath.Child(name))
}

// nonNegativeIfSet is nonNegative of an optional count (or one that
// defaulting fills, for a hook called without it).
func nonNegativeIfSet(v *int32, name string) field.ErrorList {
	if v == nil {
		return nil
	}
	return nonNegative(*v, name)
}

// selectorImmutable: apps/v1 selectors never change after create.
func selectorImmutable(sel, old *metav1.LabelSelector) field.ErrorList {
	return apimachineryvalidation.ValidateImmutableField(sel, old, specPath.Child("selector"))
}

func int32Ptr(v int32) *int32 { return &v }

// ---- ReplicaSet

func defaultReplicaSet(rs *appsv1.ReplicaSet) {
	core.DefaultPodSpec(&rs.Spec.Template.Spec)
	if rs.Spec.Replicas == nil {
		rs.Spec.Replicas = int32Ptr(1)
	}
}

// validateReplicaSet is kube's ValidateReplicaSetSpec, and on update
// ValidateReplicaSetUpdate's immutable selector.
func validateReplicaSet(rs, old *appsv1.ReplicaSet) field.ErrorList {
	s := &rs.Spec
	errs := nonNegativeIfSet(s.Replicas, "replicas")
	errs = append(errs, nonNegative(s.MinReadySeconds, "minReadySeconds")...)
	errs = append(errs, validateRequiredSelector(s.Selector, "deployment")...)
	errs = append(errs, validateReplicaSetTemplate(s.Selector, &s.Template)...)
	if old != nil {
		errs = append(errs, selectorImmutable(s.Selector, old.Spec.Selector)...)
	}
	return errs
}
