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

// validateSelectorAndTemplate is what every apps workload checks of its
// selector and template (kube's ValidateDeploymentSpec and siblings): a
// selector is required and not empty, its labels must match the template,
// and the template is validated as a replica set's (restartPolicy Always).
func validateSelectorAndTemplate(sel *metav1.LabelSelector, t *corev1.PodTemplateSpec, kind string) field.ErrorList {
	var errs field.ErrorList
	if sel == nil {
		errs = append(errs, field.Required(specPath.Child("selector"), ""))
	} else {
		errs = append(errs, metav1validation.ValidateLabelSelector(sel, metav1validation.LabelSelectorValidationOptions{}, specPath.Child("selector"))...)
		if len(sel.MatchLabels)+len(sel.MatchExpressions) == 0 {
			errs = append(errs, field.Invalid(specPath.Child("selector"), sel, "empty selector is invalid for "+kind))
		}
	}
	var matches func(map[string]string) bool
	if sel != nil {
		s, err := metav1.LabelSelectorAsSelector(sel)
		if err != nil {
			return append(errs, field.Invalid(specPath.Child("selector"), sel, "invalid label selector"))
		}
		if !s.Empty() {
			matches = func(l map[string]string) bool { return s.Matches(labels.Set(l)) }
		}
	}
	return append(errs, core.ValidateWorkloadTemplate(t, matches, specPath.Child("template"), "ReplicaSet")...)
}

// nonNegative checks the optional counts of a spec, each by field name.
func nonNegative(fields map[string]*int32) field.ErrorList {
	var errs field.ErrorList
	for name, v := range fields {
		if v != nil {
			errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(int64(*v), specPath.Child(name))...)
		}
	}
	return errs
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

func validateReplicaSet(rs, old *appsv1.ReplicaSet) field.ErrorList {
	s := &rs.Spec
	errs := nonNegative(map[string]*int32{"replicas": s.Replicas, "minReadySeconds": &s.MinReadySeconds})
	errs = append(errs, validateSelectorAndTemplate(s.Selector, &s.Template, "deployment")...)
	if old != nil {
		errs = append(errs, selectorImmutable(s.Selector, old.Spec.Selector)...)
	}
	return errs
}
