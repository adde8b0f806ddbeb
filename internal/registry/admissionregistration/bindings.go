package admissionregistration

import (
	"slices"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/validate/content"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// The admission policies' bindings (ValidatingAdmissionPolicyBindings and
// MutatingAdmissionPolicyBindings), validated as kube-apiserver 1.37
// validates them: see policies.go.

// validateValidatingBinding is kube's ValidateValidatingAdmissionPolicyBinding
// (the same on an update) as kube-apiserver answers it with its
// declarative validation (beta, on by default): where the policy name or
// the validation actions are missing, and they are new or changed, the
// declarative "required" errors, which carry no detail, come last in
// place of the handwritten ones.
func validateValidatingBinding(obj, old runtime.Object) field.ErrorList {
	b := obj.(*admissionregistrationv1.ValidatingAdmissionPolicyBinding)
	spec := field.NewPath("spec")
	var o *admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec
	if old != nil {
		o = &old.(*admissionregistrationv1.ValidatingAdmissionPolicyBinding).Spec
	}
	declaredName := b.Spec.PolicyName == "" && (o == nil || o.PolicyName != "")
	declaredActions := len(b.Spec.ValidationActions) == 0 && (o == nil || !equality.Semantic.DeepEqual(b.Spec.ValidationActions, o.ValidationActions))

	var errs field.ErrorList
	if !declaredName {
		errs = append(errs, policyNameErrors(b.Spec.PolicyName, spec.Child("policyName"))...)
	}
	errs = append(errs, validateParamRef(b.Spec.ParamRef, spec.Child("paramRef"))...)
	errs = append(errs, validateMatchResources(b.Spec.MatchResources, spec.Child("matchResources"))...)
	errs = append(errs, validateValidationActions(b.Spec.ValidationActions, !declaredActions, spec.Child("validationActions"))...)
	errs = append(errs, staticSuffixErrors(obj, old)...)
	if declaredName {
		errs = append(errs, field.Required(spec.Child("policyName"), ""))
	}
	if declaredActions {
		errs = append(errs, field.Required(spec.Child("validationActions"), ""))
	}
	return errs
}

func validateMutatingBinding(obj, old runtime.Object) field.ErrorList {
	b := obj.(*admissionregistrationv1.MutatingAdmissionPolicyBinding)
	spec := field.NewPath("spec")
	errs := policyNameErrors(b.Spec.PolicyName, spec.Child("policyName"))
	errs = append(errs, validateParamRef(b.Spec.ParamRef, spec.Child("paramRef"))...)
	errs = append(errs, validateMatchResources(b.Spec.MatchResources, spec.Child("matchResources"))...)
	if b.Spec.MatchResources != nil {
		errs = append(errs, mutatingOperationErrors(b.Spec.MatchResources, spec.Child("matchResources"))...)
	}
	return append(errs, staticSuffixErrors(obj, old)...)
}

// policyNameErrors: required, and the name of an object.
func policyNameErrors(name string, p *field.Path) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(p, "")}
	}
	var errs field.ErrorList
	for _, msg := range apimachineryvalidation.NameIsDNSSubdomain(name, false) {
		errs = append(errs, field.Invalid(p, name, msg))
	}
	return errs
}

// validateValidationActions is kube's; required reports the handwritten
// error of an empty list.
func validateValidationActions(actions []admissionregistrationv1.ValidationAction, required bool, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := sets.New[admissionregistrationv1.ValidationAction]()
	for i, a := range actions {
		if !slices.Contains(validationActions, string(a)) {
			errs = append(errs, field.NotSupported(p.Index(i), a, validationActions))
		}
		if seen.Has(a) {
			errs = append(errs, field.Duplicate(p.Index(i), a))
		}
		seen.Insert(a)
	}
	if seen.Has(admissionregistrationv1.Deny) && seen.Has(admissionregistrationv1.Warn) {
		errs = append(errs, field.Invalid(p, actions, "must not contain both Deny and Warn (repeating the same validation failure information in the API response and headers serves no purpose)"))
	}
	if required && len(seen) == 0 {
		errs = append(errs, field.Required(p, "at least one validation action is required"))
	}
	return errs
}

// validateParamRef is kube's.
func validateParamRef(r *admissionregistrationv1.ParamRef, p *field.Path) field.ErrorList {
	if r == nil {
		return nil
	}
	var errs field.ErrorList
	if r.Name != "" {
		for _, msg := range content.IsPathSegmentName(r.Name) {
			errs = append(errs, field.Invalid(p.Child("name"), r.Name, msg))
		}
		if r.Selector != nil {
			errs = append(errs, field.Forbidden(p.Child("name"), "name and selector are mutually exclusive"))
		}
	}
	if r.Selector != nil {
		errs = append(errs, metav1validation.ValidateLabelSelector(r.Selector, metav1validation.LabelSelectorValidationOptions{}, p.Child("selector"))...)
		if r.Name != "" {
			errs = append(errs, field.Forbidden(p.Child("selector"), "name and selector are mutually exclusive"))
		}
	}
	if r.Name == "" && r.Selector == nil {
		errs = append(errs, field.Required(p, "one of name or selector must be specified"))
	}
	if r.ParameterNotFoundAction == nil || *r.ParameterNotFoundAction == "" {
		errs = append(errs, field.Required(p.Child("parameterNotFoundAction"), ""))
	} else if !slices.Contains(notFoundActions, string(*r.ParameterNotFoundAction)) {
		errs = append(errs, field.NotSupported(p.Child("parameterNotFoundAction"), r.ParameterNotFoundAction, notFoundActions))
	}
	return errs
}
