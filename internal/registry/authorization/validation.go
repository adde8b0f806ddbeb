package authorization

import (
	"strings"

	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// attributes: exactly one of resourceAttributes and nonResourceAttributes.
func attributes(ra *authorizationv1.ResourceAttributes, nra *authorizationv1.NonResourceAttributes, spec *field.Path) field.ErrorList {
	var errs field.ErrorList
	if ra != nil && nra != nil {
		errs = append(errs, field.Invalid(spec.Child("nonResourceAttributes"), nra, `cannot be specified in combination with resourceAttributes`))
	}
	if ra == nil && nra == nil {
		errs = append(errs, field.Invalid(spec.Child("resourceAttributes"), nra, `exactly one of nonResourceAttributes or resourceAttributes must be specified`))
	}
	return errs
}

func validateSpec(spec authorizationv1.SubjectAccessReviewSpec) field.ErrorList {
	p := field.NewPath("spec")
	errs := attributes(spec.ResourceAttributes, spec.NonResourceAttributes, p)
	if spec.User == "" && len(spec.Groups) == 0 {
		errs = append(errs, field.Invalid(p.Child("user"), spec.User, `at least one of user or group must be specified`))
	}
	return errs
}

// emptyMeta: reviews are not objects; their metadata stays empty (managed
// fields aside).
func emptyMeta(m metav1.ObjectMeta) bool {
	m.ManagedFields = nil
	return equality.Semantic.DeepEqual(metav1.ObjectMeta{}, m)
}

func validateSubject(sar *authorizationv1.SubjectAccessReview) field.ErrorList {
	errs := validateSpec(sar.Spec)
	if !emptyMeta(sar.ObjectMeta) {
		errs = append(errs, field.Invalid(field.NewPath("metadata"), sar.ObjectMeta, `must be empty`))
	}
	return errs
}

func validateSelf(sar *authorizationv1.SelfSubjectAccessReview) field.ErrorList {
	errs := attributes(sar.Spec.ResourceAttributes, sar.Spec.NonResourceAttributes, field.NewPath("spec"))
	if !emptyMeta(sar.ObjectMeta) {
		errs = append(errs, field.Invalid(field.NewPath("metadata"), sar.ObjectMeta, `must be empty`))
	}
	return errs
}

func validateLocal(sar *authorizationv1.LocalSubjectAccessReview) field.ErrorList {
	errs := validateSpec(sar.Spec)
	m := sar.ObjectMeta
	m.Namespace = ""
	if !emptyMeta(m) {
		errs = append(errs, field.Invalid(field.NewPath("metadata"), sar.ObjectMeta, `must be empty except for namespace`))
	}
	if ra := sar.Spec.ResourceAttributes; ra != nil && ra.Namespace != sar.Namespace {
		errs = append(errs, field.Invalid(field.NewPath("spec.resourceAttributes.namespace"), ra.Namespace, `must match metadata.namespace`))
	}
	if sar.Spec.NonResourceAttributes != nil {
		errs = append(errs, field.Invalid(field.NewPath("spec.nonResourceAttributes"), sar.Spec.NonResourceAttributes, `disallowed on this kind of request`))
	}
	return errs
}

// selectorErrors notes the field and label selectors of a review that do
// not parse. kapi's authorizers do not look at selectors, so they only
// show in the evaluation error, as kube-apiserver reports them.
func selectorErrors(ra *authorizationv1.ResourceAttributes) []string {
	var out []string
	if fs := ra.FieldSelector; fs != nil {
		if fs.RawSelector != "" {
			if _, err := fields.ParseSelector(fs.RawSelector); err != nil {
				out = append(out, "spec.resourceAttributes.fieldSelector ignored due to parse error")
			}
		}
	}
	if ls := ra.LabelSelector; ls != nil {
		if ls.RawSelector != "" {
			if _, err := labels.Parse(ls.RawSelector); err != nil {
				out = append(out, "spec.resourceAttributes.labelSelector ignored due to parse error")
			}
		}
	}
	return out
}

// evaluationError joins the authorizer's error and the selector notes.
func evaluationError(err error, notes []string) string {
	var parts []string
	if err != nil {
		parts = append(parts, err.Error())
	}
	return strings.Join(append(parts, notes...), "; ")
}
