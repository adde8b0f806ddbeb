package rbac

import (
	"context"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/operation"
	"k8s.io/apimachinery/pkg/api/validate"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/api/validation/path"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/registry"
)

// The RBAC objects' validation, as kube-apiserver 1.37's
// pkg/apis/rbac/validation (ValidateRole, ValidateClusterRole,
// ValidateRoleBinding, ValidateClusterRoleBinding and their update
// variants, which only add the metadata's update rules, done by the
// store, and the immutable roleRef) together with the declarative rules of
// rbac/v1 (pkg/apis/rbac/v1/zz_generated.validations.go), enforced by
// default in 1.37 (DeclarativeValidationBeta): a rule's verbs, a roleRef's
// and a subject's name are required. Where the handwritten check is marked
// as covered by a declarative one, kube answers with the declarative error
// (no detail), after all the handwritten ones; on an update, a list or
// roleRef left unchanged is not checked declaratively, and the handwritten
// error stays in its place. The declarative immutability of roleRef is
// alpha, never enforced: the handwritten "field is immutable" answers.
//
// Every rule needs verbs and either resources (with API groups) or, for
// cluster roles only, non-resource URLs; a binding refers to a role of
// this API group and names proper subjects.
var (
	roleHooks        = &registry.Hooks{Validate: validateRole}
	clusterRoleHooks = &registry.Hooks{Validate: validateClusterRole}
	roleBindingHooks = &registry.Hooks{
		Default: func(obj runtime.Object) {
			b := obj.(*rbacv1.RoleBinding)
			defaultBinding(&b.RoleRef, b.Subjects)
		},
		Validate: func(obj, old runtime.Object) field.ErrorList {
			b := obj.(*rbacv1.RoleBinding)
			if old == nil {
				return validateBinding(b.RoleRef, b.Subjects, nil, true)
			}
			o := old.(*rbacv1.RoleBinding)
			return validateBinding(b.RoleRef, b.Subjects, &storedBinding{o.RoleRef, o.Subjects}, true)
		}}
	clusterRoleBindingHooks = &registry.Hooks{
		Default: func(obj runtime.Object) {
			b := obj.(*rbacv1.ClusterRoleBinding)
			defaultBinding(&b.RoleRef, b.Subjects)
		},
		Validate: func(obj, old runtime.Object) field.ErrorList {
			b := obj.(*rbacv1.ClusterRoleBinding)
			if old == nil {
				return validateBinding(b.RoleRef, b.Subjects, nil, false)
			}
			o := old.(*rbacv1.ClusterRoleBinding)
			return validateBinding(b.RoleRef, b.Subjects, &storedBinding{o.RoleRef, o.Subjects}, false)
		}}
)

// defaultBinding is rbac/v1's defaulting: the roleRef's API group, and
// the group of User and Group subjects.
func defaultBinding(ref *rbacv1.RoleRef, subjects []rbacv1.Subject) {
	if ref.APIGroup == "" {
		ref.APIGroup = rbacv1.GroupName
	}
	for i := range subjects {
		if s := &subjects[i]; s.APIGroup == "" && (s.Kind == rbacv1.UserKind || s.Kind == rbacv1.GroupKind) {
			s.APIGroup = rbacv1.GroupName
		}
	}
}

// internalRoleRef is kube's rbac.RoleRef, which has no JSON names: the
// immutable roleRef's error shows it
// (`roleRef: Invalid value: {"APIGroup":...,"Kind":"Role","Name":"b"}: field is immutable`).
type internalRoleRef struct {
	APIGroup string
	Kind     string
	Name     string
}

// The operations declarative validation is given, and its context.
var (
	bg       = context.Background()
	createOp = operation.Operation{Type: operation.Create}
)

func validateRole(obj, old runtime.Object) field.ErrorList {
	rules := obj.(*rbacv1.Role).Rules
	dv := declaredRules(rules, nil)
	if old != nil {
		dv = declaredRules(rules, &old.(*rbacv1.Role).Rules)
	}
	return registry.Declared(validateRules(rules, true), dv)
}

// validateClusterRole is ValidateClusterRole (and ...Update): on an
// update of a cluster role whose stored selectors are invalid, invalid
// label values in matchExpressions are not refused one by one (kube's
// AllowInvalidLabelValueInSelector), though the selector that does not
// parse still is ("invalid label selector.").
func validateClusterRole(obj, old runtime.Object) field.ErrorList {
	cr := obj.(*rbacv1.ClusterRole)
	opts := metav1validation.LabelSelectorValidationOptions{}
	dv := declaredRules(cr.Rules, nil)
	if old != nil {
		o := old.(*rbacv1.ClusterRole)
		opts.AllowInvalidLabelValueInSelector = hasInvalidLabelSelector(o.AggregationRule)
		dv = declaredRules(cr.Rules, &o.Rules)
	}
	errs := validateRules(cr.Rules, false)
	if a := cr.AggregationRule; a != nil {
		p := field.NewPath("aggregationRule", "clusterRoleSelectors")
		if len(a.ClusterRoleSelectors) == 0 {
			errs = append(errs, field.Required(p, "at least one clusterRoleSelector required if aggregationRule is non-nil"))
		}
		for i := range a.ClusterRoleSelectors {
			sel := &a.ClusterRoleSelectors[i]
			errs = append(errs, metav1validation.ValidateLabelSelector(sel, opts, p.Index(i))...)
			if _, err := metav1.LabelSelectorAsSelector(sel); err != nil {
				// kube shows the selector it failed to make: none.
				errs = append(errs, field.Invalid(p.Index(i), nil, "invalid label selector."))
			}
		}
	}
	return registry.Declared(errs, dv)
}

// hasInvalidLabelSelector is the cluster role strategy's
// hasInvalidLabelValueInLabelSelector: any selector of the stored
// aggregation rule that fails validation.
func hasInvalidLabelSelector(a *rbacv1.AggregationRule) bool {
	if a == nil {
		return false
	}
	for i := range a.ClusterRoleSelectors {
		if len(metav1validation.ValidateLabelSelector(&a.ClusterRoleSelectors[i],
			metav1validation.LabelSelectorValidationOptions{}, nil)) > 0 {
			return true
		}
	}
	return false
}

// validateRules is ValidatePolicyRule of each rule.
func validateRules(rules []rbacv1.PolicyRule, namespaced bool) field.ErrorList {
	var errs field.ErrorList
	for i, r := range rules {
		p := field.NewPath("rules").Index(i)
		if len(r.Verbs) == 0 {
			errs = append(errs, field.Required(p.Child("verbs"), "verbs must contain at least one value").MarkCoveredByDeclarative())
		}
		if len(r.NonResourceURLs) > 0 {
			if namespaced {
				errs = append(errs, field.Invalid(p.Child("nonResourceURLs"), r.NonResourceURLs, "namespaced rules cannot apply to non-resource URLs"))
			}
			if len(r.APIGroups) > 0 || len(r.Resources) > 0 || len(r.ResourceNames) > 0 {
				errs = append(errs, field.Invalid(p.Child("nonResourceURLs"), r.NonResourceURLs, "rules cannot apply to both regular resources and non-resource URLs"))
			}
			continue
		}
		if len(r.APIGroups) == 0 {
			errs = append(errs, field.Required(p.Child("apiGroups"), "resource rules must supply at least one api group"))
		}
		if len(r.Resources) == 0 {
			errs = append(errs, field.Required(p.Child("resources"), "resource rules must supply at least one resource"))
		}
	}
	return errs
}

// declaredRules is the declarative rules of a role's rules (+k8s:required
// verbs); old is the stored rules on an update, which an unchanged list
// is not checked against.
func declaredRules(rules []rbacv1.PolicyRule, old *[]rbacv1.PolicyRule) field.ErrorList {
	if old != nil && equality.Semantic.DeepEqual(rules, *old) {
		return nil
	}
	var errs field.ErrorList
	for i := range rules {
		errs = append(errs, validate.RequiredSlice(bg, createOp, field.NewPath("rules").Index(i).Child("verbs"), rules[i].Verbs, nil)...)
	}
	return errs
}

// storedBinding is what an update's validation reads of the stored binding.
type storedBinding struct {
	ref      rbacv1.RoleRef
	subjects []rbacv1.Subject
}

// validateBinding is ValidateRoleBinding or ValidateClusterRoleBinding
// (namespaced false), and their update variants when old is the stored
// binding.
func validateBinding(ref rbacv1.RoleRef, subjects []rbacv1.Subject, old *storedBinding, namespaced bool) field.ErrorList {
	var errs field.ErrorList
	rp := field.NewPath("roleRef")
	if ref.APIGroup != rbacv1.GroupName {
		errs = append(errs, field.NotSupported(rp.Child("apiGroup"), ref.APIGroup, []string{rbacv1.GroupName}))
	}
	kinds := []string{"ClusterRole"}
	if namespaced {
		kinds = []string{"Role", "ClusterRole"}
	}
	if ref.Kind != "ClusterRole" && (!namespaced || ref.Kind != "Role") {
		errs = append(errs, field.NotSupported(rp.Child("kind"), ref.Kind, kinds))
	}
	if ref.Name == "" {
		errs = append(errs, field.Required(rp.Child("name"), "").MarkCoveredByDeclarative())
	} else {
		for _, msg := range path.ValidatePathSegmentName(ref.Name, false) {
			errs = append(errs, field.Invalid(rp.Child("name"), ref.Name, msg))
		}
	}
	sp := field.NewPath("subjects")
	for i, s := range subjects {
		errs = append(errs, validateSubject(s, namespaced, sp.Index(i))...)
	}

	// The declarative rules: each subject's name (unless the subjects are
	// unchanged), the roleRef's name on a create (on an update, an
	// unchanged roleRef is not checked and a changed one is refused as
	// immutable, which stops its checks).
	var dv field.ErrorList
	if old == nil || !equality.Semantic.DeepEqual(subjects, old.subjects) {
		for i := range subjects {
			dv = append(dv, validate.RequiredValue(bg, createOp, sp.Index(i).Child("name"), &subjects[i].Name, nil)...)
		}
	}
	if old == nil {
		dv = append(dv, validate.RequiredValue(bg, createOp, rp.Child("name"), &ref.Name, nil)...)
	} else {
		errs = append(errs, apimachineryvalidation.ValidateImmutableField(internalRoleRef(ref), internalRoleRef(old.ref), rp)...)
	}
	return registry.Declared(errs, dv)
}

// validateSubject is ValidateRoleBindingSubject.
func validateSubject(s rbacv1.Subject, namespaced bool, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if s.Name == "" {
		errs = append(errs, field.Required(p.Child("name"), "").MarkCoveredByDeclarative())
	}
	switch s.Kind {
	case rbacv1.ServiceAccountKind:
		if s.Name != "" {
			for _, msg := range apimachineryvalidation.ValidateServiceAccountName(s.Name, false) {
				errs = append(errs, field.Invalid(p.Child("name"), s.Name, msg))
			}
		}
		if s.APIGroup != "" {
			errs = append(errs, field.NotSupported(p.Child("apiGroup"), s.APIGroup, []string{""}))
		}
		if !namespaced && s.Namespace == "" {
			errs = append(errs, field.Required(p.Child("namespace"), ""))
		}
	case rbacv1.UserKind, rbacv1.GroupKind:
		if s.APIGroup != rbacv1.GroupName {
			errs = append(errs, field.NotSupported(p.Child("apiGroup"), s.APIGroup, []string{rbacv1.GroupName}))
		}
	default:
		errs = append(errs, field.NotSupported(p.Child("kind"), s.Kind,
			[]string{rbacv1.ServiceAccountKind, rbacv1.UserKind, rbacv1.GroupKind}))
	}
	return errs
}
