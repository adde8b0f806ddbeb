package apps

import (
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/registry/core"
)

// defaultDaemonSet: RollingUpdate with 1 unavailable and no surge, 10
// revisions kept.
func defaultDaemonSet(ds *appsv1.DaemonSet) {
	s := &ds.Spec
	core.DefaultPodSpec(&s.Template.Spec)
	if s.UpdateStrategy.Type == "" {
		s.UpdateStrategy.Type = appsv1.RollingUpdateDaemonSetStrategyType
	}
	if s.UpdateStrategy.Type == appsv1.RollingUpdateDaemonSetStrategyType {
		if s.UpdateStrategy.RollingUpdate == nil {
			s.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateDaemonSet{}
		}
		ru := s.UpdateStrategy.RollingUpdate
		if ru.MaxUnavailable == nil {
			v := intstr.FromInt32(1)
			ru.MaxUnavailable = &v
		}
		if ru.MaxSurge == nil {
			v := intstr.FromInt32(0)
			ru.MaxSurge = &v
		}
	}
	if s.RevisionHistoryLimit == nil {
		s.RevisionHistoryLimit = int32Ptr(10)
	}
}

// countTemplateGeneration keeps a DaemonSet's count of its template's
// changes where apps/v1 keeps kube's internal spec.templateGeneration, in
// an annotation: 1 on create, one more with each change of the template,
// whatever a client wrote there. The daemon set controller labels the
// pods it makes with it.
func countTemplateGeneration(ds, old *appsv1.DaemonSet) {
	gen := int64(1)
	if old != nil {
		// (0 for a DaemonSet stored without it, as kube reads one)
		gen = templateGeneration(old)
		if !equality.Semantic.DeepEqual(ds.Spec.Template, old.Spec.Template) {
			gen++
		}
	}
	if ds.Annotations == nil {
		ds.Annotations = map[string]string{}
	}
	ds.Annotations[appsv1.DeprecatedTemplateGeneration] = strconv.FormatInt(gen, 10)
}

// templateGeneration is kube's internal spec.templateGeneration, which
// apps/v1 keeps in an annotation: 0 when it has none (or one that is not
// a number, which kube would refuse to decode and countTemplateGeneration
// overwrites).
func templateGeneration(ds *appsv1.DaemonSet) int64 {
	gen, _ := strconv.ParseInt(ds.Annotations[appsv1.DeprecatedTemplateGeneration], 10, 64)
	return gen
}

// validateDaemonSet is kube's ValidateDaemonSet, or on update
// ValidateDaemonSetUpdate: the changes first, then the new spec. A
// selector stored with label values that are no longer valid may keep
// them (kube's AllowInvalidLabelValueInSelector).
func validateDaemonSet(ds, old *appsv1.DaemonSet) field.ErrorList {
	var errs field.ErrorList
	opts := strictSelector
	if old != nil {
		errs = validateDaemonSetSpecUpdate(ds, old)
		opts.AllowInvalidLabelValueInSelector = metav1validation.LabelSelectorHasInvalidLabelValue(old.Spec.Selector)
	}
	return append(errs, validateDaemonSetSpec(ds, opts)...)
}

// validateDaemonSetSpecUpdate is kube's ValidateDaemonSetSpecUpdate: the
// template generation counts the template's changes, exactly, and the
// selector is immutable. (countTemplateGeneration keeps the count before
// validation, as kube's PrepareForUpdate does.)
func validateDaemonSetSpecUpdate(ds, old *appsv1.DaemonSet) field.ErrorList {
	var errs field.ErrorList
	path := specPath.Child("templateGeneration")
	gen, was := templateGeneration(ds), templateGeneration(old)
	if gen < was {
		errs = append(errs, field.Invalid(path, gen, "must not be decremented"))
	}
	changed := !equality.Semantic.DeepEqual(ds.Spec.Template, old.Spec.Template)
	switch {
	case gen == was && changed:
		errs = append(errs, field.Invalid(path, gen, "must be incremented upon template update"))
	case gen > was && !changed:
		errs = append(errs, field.Invalid(path, gen, "must not be incremented without template update"))
	}
	return append(errs, selectorImmutable(ds.Spec.Selector, old.Spec.Selector)...)
}

// validateDaemonSetSpec is kube's ValidateDaemonSetSpec. Unlike the other
// workloads' a missing selector is not reported as such: it matches no
// template.
func validateDaemonSetSpec(ds *appsv1.DaemonSet, opts metav1validation.LabelSelectorValidationOptions) field.ErrorList {
	s := &ds.Spec
	errs := metav1validation.ValidateLabelSelector(s.Selector, opts, specPath.Child("selector"))
	if sel, err := metav1.LabelSelectorAsSelector(s.Selector); err == nil {
		errs = append(errs, selectorMatchesTemplate(sel, &s.Template)...)
	}
	if s.Selector != nil && len(s.Selector.MatchLabels)+len(s.Selector.MatchExpressions) == 0 {
		errs = append(errs, field.Invalid(specPath.Child("selector"), s.Selector, "empty selector is invalid for daemonset"))
	}
	errs = append(errs, core.ValidatePodTemplateSpec(&s.Template, specPath.Child("template"))...)
	errs = append(errs, restartAlways(&s.Template, "DaemonSet")...)
	errs = append(errs, nonNegative(s.MinReadySeconds, "minReadySeconds")...)
	errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(templateGeneration(ds), specPath.Child("templateGeneration"))...)
	errs = append(errs, validateDaemonSetStrategy(&s.UpdateStrategy, specPath.Child("updateStrategy"))...)
	return append(errs, nonNegativeIfSet(s.RevisionHistoryLimit, "revisionHistoryLimit")...)
}

// validateDaemonSetStrategy is kube's ValidateDaemonSetUpdateStrategy.
func validateDaemonSetStrategy(st *appsv1.DaemonSetUpdateStrategy, path *field.Path) field.ErrorList {
	switch st.Type {
	case appsv1.OnDeleteDaemonSetStrategyType:
		return nil
	case appsv1.RollingUpdateDaemonSetStrategyType:
		if st.RollingUpdate == nil {
			return field.ErrorList{field.Required(path.Child("rollingUpdate"), "")}
		}
		return validateRollingUpdateDaemonSet(st.RollingUpdate, path.Child("rollingUpdate"))
	}
	return field.ErrorList{field.NotSupported(path, daemonSetStrategyValue(st),
		[]string{string(appsv1.RollingUpdateDaemonSetStrategyType), string(appsv1.OnDeleteDaemonSetStrategyType)})}
}

// validateRollingUpdateDaemonSet is kube's ValidateRollingUpdateDaemonSet:
// both bounds valid and at most 100%, and exactly one of them non-zero. A
// node runs one daemon pod, so a rollout either stops the old pod first
// (maxUnavailable) or starts the new one beside it (maxSurge), never both.
func validateRollingUpdateDaemonSet(ru *appsv1.RollingUpdateDaemonSet, path *field.Path) field.ErrorList {
	maxUnavailable, maxSurge := bound(ru.MaxUnavailable), bound(ru.MaxSurge)
	errs := core.ValidatePositiveIntOrPercent(maxUnavailable, path.Child("maxUnavailable"))
	errs = append(errs, core.ValidatePositiveIntOrPercent(maxSurge, path.Child("maxSurge"))...)
	errs = append(errs, core.NotMoreThan100Percent(maxUnavailable, path.Child("maxUnavailable"))...)
	errs = append(errs, core.NotMoreThan100Percent(maxSurge, path.Child("maxSurge"))...)
	unavailable, surge := intOrPercentValue(maxUnavailable) != 0, intOrPercentValue(maxSurge) != 0
	switch {
	case unavailable && surge:
		errs = append(errs, field.Invalid(path.Child("maxSurge"), maxSurge, "may not be set when maxUnavailable is non-zero"))
	case !unavailable && !surge:
		errs = append(errs, field.Required(path.Child("maxUnavailable"), "cannot be 0 when maxSurge is 0"))
	}
	return errs
}
