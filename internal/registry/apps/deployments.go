package apps

import (
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/registry"
	"kapi/internal/registry/core"
)

// The apps workloads' hooks: kube-apiserver's defaults (apps/v1
// SetDefaults_*) on every write and read, then its validation.
var (
	deploymentHooks = &registry.Hooks{
		Default: func(obj runtime.Object) { defaultDeployment(obj.(*appsv1.Deployment)) },
		Validate: func(obj, old runtime.Object) field.ErrorList {
			o, _ := old.(*appsv1.Deployment)
			return validateDeployment(obj.(*appsv1.Deployment), o)
		},
		Warnings: func(obj, old runtime.Object) []string {
			d := obj.(*appsv1.Deployment)
			return workloadWarnings(obj, old, d.Name, &d.Spec.Template)
		},
	}
	replicaSetHooks = &registry.Hooks{
		Default: func(obj runtime.Object) { defaultReplicaSet(obj.(*appsv1.ReplicaSet)) },
		Validate: func(obj, old runtime.Object) field.ErrorList {
			o, _ := old.(*appsv1.ReplicaSet)
			return validateReplicaSet(obj.(*appsv1.ReplicaSet), o)
		},
		Warnings: func(obj, old runtime.Object) []string {
			rs := obj.(*appsv1.ReplicaSet)
			return workloadWarnings(obj, old, rs.Name, &rs.Spec.Template)
		},
	}
	statefulSetHooks = &registry.Hooks{
		Default: func(obj runtime.Object) { defaultStatefulSet(obj.(*appsv1.StatefulSet)) },
		Validate: func(obj, old runtime.Object) field.ErrorList {
			o, _ := old.(*appsv1.StatefulSet)
			return validateStatefulSet(obj.(*appsv1.StatefulSet), o)
		},
		Warnings: statefulSetWarnings,
	}
	daemonSetHooks = &registry.Hooks{
		Default:          func(obj runtime.Object) { defaultDaemonSet(obj.(*appsv1.DaemonSet)) },
		PrepareForCreate: func(obj runtime.Object) { countTemplateGeneration(obj.(*appsv1.DaemonSet), nil) },
		PrepareForUpdate: func(obj, old runtime.Object) {
			countTemplateGeneration(obj.(*appsv1.DaemonSet), old.(*appsv1.DaemonSet))
		},
		Validate: func(obj, old runtime.Object) field.ErrorList {
			o, _ := old.(*appsv1.DaemonSet)
			return validateDaemonSet(obj.(*appsv1.DaemonSet), o)
		},
		Warnings: func(obj, old runtime.Object) []string {
			ds := obj.(*appsv1.DaemonSet)
			if old != nil && equality.Semantic.DeepEqual(ds.Spec.Template, old.(*appsv1.DaemonSet).Spec.Template) {
				return nil
			}
			return core.TemplateWarnings(field.NewPath("spec", "template"), &ds.Spec.Template)
		},
	}
)

// workloadWarnings are kube's warnings about a Deployment or ReplicaSet
// and its template.
func workloadWarnings(obj, old runtime.Object, name string, tpl *corev1.PodTemplateSpec) []string {
	return core.WorkloadWarnings(obj, old, name, func() []string { return core.TemplateWarnings(field.NewPath("spec", "template"), tpl) })
}

// statefulSetWarnings: the template's when it is created or its
// generation moves; its claim templates' and a negative history limit's
// on every write. (kube names a claim template's fields without its
// "spec" on create, and with "Spec" on update; kapi names them as kube's
// create does, always.)
func statefulSetWarnings(obj, old runtime.Object) []string {
	ss := obj.(*appsv1.StatefulSet)
	var w []string
	if core.SpecChanged(obj, old) {
		w = core.TemplateWarnings(field.NewPath("spec", "template"), &ss.Spec.Template)
	}
	for i := range ss.Spec.VolumeClaimTemplates {
		w = append(w, core.ClaimSpecWarnings(field.NewPath("spec", "volumeClaimTemplates").Index(i), &ss.Spec.VolumeClaimTemplates[i].Spec)...)
	}
	if l := ss.Spec.RevisionHistoryLimit; l != nil && *l < 0 {
		w = append(w, "spec.revisionHistoryLimit: a negative value retains all historical revisions; a value >= 0 is recommended")
	}
	return w
}

// defaultDeployment: 1 replica, a RollingUpdate strategy with 25% surge
// and unavailability, 10 revisions kept, a 600s progress deadline.
func defaultDeployment(d *appsv1.Deployment) {
	s := &d.Spec
	core.DefaultPodSpec(&s.Template.Spec)
	if s.Replicas == nil {
		s.Replicas = int32Ptr(1)
	}
	if s.Strategy.Type == "" {
		s.Strategy.Type = appsv1.RollingUpdateDeploymentStrategyType
	}
	if s.Strategy.Type == appsv1.RollingUpdateDeploymentStrategyType {
		if s.Strategy.RollingUpdate == nil {
			s.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{}
		}
		ru := s.Strategy.RollingUpdate
		if ru.MaxUnavailable == nil {
			v := intstr.FromString("25%")
			ru.MaxUnavailable = &v
		}
		if ru.MaxSurge == nil {
			v := intstr.FromString("25%")
			ru.MaxSurge = &v
		}
	}
	if s.RevisionHistoryLimit == nil {
		s.RevisionHistoryLimit = int32Ptr(10)
	}
	if s.ProgressDeadlineSeconds == nil {
		s.ProgressDeadlineSeconds = int32Ptr(600)
	}
}

// validateDeployment is kube's ValidateDeploymentSpec, and on update
// ValidateDeploymentUpdate's immutable selector.
func validateDeployment(d, old *appsv1.Deployment) field.ErrorList {
	s := &d.Spec
	errs := nonNegativeIfSet(s.Replicas, "replicas")
	errs = append(errs, validateRequiredSelector(s.Selector, "deployment")...)
	errs = append(errs, validateReplicaSetTemplate(s.Selector, &s.Template)...)
	errs = append(errs, validateDeploymentStrategy(&s.Strategy, specPath.Child("strategy"))...)
	errs = append(errs, nonNegative(s.MinReadySeconds, "minReadySeconds")...)
	errs = append(errs, nonNegativeIfSet(s.RevisionHistoryLimit, "revisionHistoryLimit")...)
	errs = append(errs, validateRollbackTo(d)...)
	if p := s.ProgressDeadlineSeconds; p != nil {
		errs = append(errs, nonNegative(*p, "progressDeadlineSeconds")...)
		// A deployment is not progressing until its new pods have been
		// ready for minReadySeconds: a deadline no longer than that
		// would fail every rollout.
		if *p <= s.MinReadySeconds {
			errs = append(errs, field.Invalid(specPath.Child("progressDeadlineSeconds"), *p, "must be greater than minReadySeconds"))
		}
	}
	if old != nil {
		errs = append(errs, selectorImmutable(s.Selector, old.Spec.Selector)...)
	}
	return errs
}

// validateRollbackTo is kube's ValidateRollback of the deprecated
// spec.rollbackTo, which apps/v1 keeps in an annotation (kube reads it as
// spec.rollbackTo and names it spec.rollback): the revision to roll back
// to is not negative. (An annotation that is not a number fails kube's
// decoding, not its validation; kapi lets it be.)
func validateRollbackTo(d *appsv1.Deployment) field.ErrorList {
	v, ok := d.Annotations[appsv1.DeprecatedRollbackTo]
	if !ok || v == "" {
		return nil
	}
	revision, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return nil
	}
	return apimachineryvalidation.ValidateNonnegativeField(revision, specPath.Child("rollback", "version"))
}

// validateDeploymentStrategy is kube's ValidateDeploymentStrategy: a
// Recreate deployment has no rolling update; a RollingUpdate one has its
// (defaulted) bounds.
func validateDeploymentStrategy(st *appsv1.DeploymentStrategy, path *field.Path) field.ErrorList {
	switch st.Type {
	case appsv1.RecreateDeploymentStrategyType:
		if st.RollingUpdate != nil {
			return field.ErrorList{field.Forbidden(path.Child("rollingUpdate"), "may not be specified when strategy `type` is 'Recreate'")}
		}
	case appsv1.RollingUpdateDeploymentStrategyType:
		if st.RollingUpdate == nil {
			return field.ErrorList{field.Required(path.Child("rollingUpdate"), "this should be defaulted and never be nil")}
		}
		return validateRollingUpdateDeployment(st.RollingUpdate, path.Child("rollingUpdate"))
	default:
		return field.ErrorList{field.NotSupported(path, deploymentStrategyValue(st),
			[]string{string(appsv1.RecreateDeploymentStrategyType), string(appsv1.RollingUpdateDeploymentStrategyType)})}
	}
	return nil
}

// validateRollingUpdateDeployment is kube's ValidateRollingUpdateDeployment:
// both bounds valid, not both zero, or a rollout could never make
// progress, and no more than all pods unavailable (the surge is not
// bounded).
func validateRollingUpdateDeployment(ru *appsv1.RollingUpdateDeployment, path *field.Path) field.ErrorList {
	maxUnavailable, maxSurge := bound(ru.MaxUnavailable), bound(ru.MaxSurge)
	errs := core.ValidatePositiveIntOrPercent(maxUnavailable, path.Child("maxUnavailable"))
	errs = append(errs, core.ValidatePositiveIntOrPercent(maxSurge, path.Child("maxSurge"))...)
	if intOrPercentValue(maxUnavailable) == 0 && intOrPercentValue(maxSurge) == 0 {
		errs = append(errs, field.Invalid(path.Child("maxUnavailable"), maxUnavailable, "may not be 0 when `maxSurge` is 0"))
	}
	return append(errs, core.NotMoreThan100Percent(maxUnavailable, path.Child("maxUnavailable"))...)
}
