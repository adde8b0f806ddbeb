package apps

import (
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/equality"
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
		gen, _ = strconv.ParseInt(old.Annotations[appsv1.DeprecatedTemplateGeneration], 10, 64)
		if !equality.Semantic.DeepEqual(ds.Spec.Template, old.Spec.Template) {
			gen++
		}
	}
	if ds.Annotations == nil {
		ds.Annotations = map[string]string{}
	}
	ds.Annotations[appsv1.DeprecatedTemplateGeneration] = strconv.FormatInt(gen, 10)
}

func validateDaemonSet(ds, old *appsv1.DaemonSet) field.ErrorList {
	s := &ds.Spec
	errs := nonNegative(map[string]*int32{"minReadySeconds": &s.MinReadySeconds, "revisionHistoryLimit": s.RevisionHistoryLimit})
	errs = append(errs, validateSelectorAndTemplate(s.Selector, &s.Template, "daemonset")...)
	path := specPath.Child("updateStrategy")
	switch s.UpdateStrategy.Type {
	case appsv1.OnDeleteDaemonSetStrategyType:
	case appsv1.RollingUpdateDaemonSetStrategyType:
		if ru := s.UpdateStrategy.RollingUpdate; ru == nil {
			errs = append(errs, field.Required(path.Child("rollingUpdate"), ""))
		} else {
			errs = append(errs, validateRollingUpdate(ru.MaxUnavailable, ru.MaxSurge, path.Child("rollingUpdate"))...)
		}
	default:
		errs = append(errs, field.NotSupported(path.Child("type"), s.UpdateStrategy.Type,
			[]string{string(appsv1.OnDeleteDaemonSetStrategyType), string(appsv1.RollingUpdateDaemonSetStrategyType)}))
	}
	if old != nil {
		errs = append(errs, selectorImmutable(s.Selector, old.Spec.Selector)...)
	}
	return errs
}
