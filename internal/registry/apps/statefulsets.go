package apps

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/registry/core"
)

// defaultStatefulSet: OrderedReady pods, RollingUpdate from partition 0,
// claims retained, 1 replica, 10 revisions kept; each volume claim
// template defaulted as a claim (apps/v1's generated defaulter runs
// SetDefaults_PersistentVolumeClaim and the claim spec's on them: phase
// Pending, volume mode Filesystem, quantities rounded to milli units).
func defaultStatefulSet(ss *appsv1.StatefulSet) {
	s := &ss.Spec
	core.DefaultPodSpec(&s.Template.Spec)
	defaultClaimTemplates(s)
	if s.PodManagementPolicy == "" {
		s.PodManagementPolicy = appsv1.OrderedReadyPodManagement
	}
	if s.UpdateStrategy.Type == "" {
		s.UpdateStrategy.Type = appsv1.RollingUpdateStatefulSetStrategyType
		if s.UpdateStrategy.RollingUpdate == nil {
			s.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateStatefulSetStrategy{}
		}
	}
	if ru := s.UpdateStrategy.RollingUpdate; s.UpdateStrategy.Type == appsv1.RollingUpdateStatefulSetStrategyType && ru != nil && ru.Partition == nil {
		ru.Partition = int32Ptr(0)
	}
	if s.PersistentVolumeClaimRetentionPolicy == nil {
		s.PersistentVolumeClaimRetentionPolicy = &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{}
	}
	if p := s.PersistentVolumeClaimRetentionPolicy; p.WhenDeleted == "" {
		p.WhenDeleted = appsv1.RetainPersistentVolumeClaimRetentionPolicyType
	}
	if p := s.PersistentVolumeClaimRetentionPolicy; p.WhenScaled == "" {
		p.WhenScaled = appsv1.RetainPersistentVolumeClaimRetentionPolicyType
	}
	if s.Replicas == nil {
		s.Replicas = int32Ptr(1)
	}
	if s.RevisionHistoryLimit == nil {
		s.RevisionHistoryLimit = int32Ptr(10)
	}
}

func validateStatefulSet(ss, old *appsv1.StatefulSet) field.ErrorList {
	s := &ss.Spec
	errs := nonNegative(map[string]*int32{"replicas": s.Replicas, "minReadySeconds": &s.MinReadySeconds,
		"revisionHistoryLimit": s.RevisionHistoryLimit})
	switch s.PodManagementPolicy {
	case "":
		errs = append(errs, field.Required(specPath.Child("podManagementPolicy"), ""))
	case appsv1.OrderedReadyPodManagement, appsv1.ParallelPodManagement:
	default:
		errs = append(errs, field.Invalid(specPath.Child("podManagementPolicy"), s.PodManagementPolicy,
			fmt.Sprintf("must be '%s' or '%s'", appsv1.OrderedReadyPodManagement, appsv1.ParallelPodManagement)))
	}
	errs = append(errs, validateStatefulSetStrategy(&s.UpdateStrategy, specPath.Child("updateStrategy"))...)
	// The pods mount the claims of volumeClaimTemplates as volumes.
	t := s.Template.DeepCopy()
	for _, c := range s.VolumeClaimTemplates {
		t.Spec.Volumes = append(t.Spec.Volumes, corev1.Volume{Name: c.Name,
			VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: c.Name}}})
	}
	errs = append(errs, validateSelectorAndTemplate(s.Selector, t, "statefulset")...)
	if old != nil {
		errs = append(errs, validateStatefulSetUpdate(s, &old.Spec)...)
	}
	return errs
}

func validateStatefulSetStrategy(st *appsv1.StatefulSetUpdateStrategy, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch st.Type {
	case "":
		errs = append(errs, field.Required(path, ""))
	case appsv1.OnDeleteStatefulSetStrategyType:
		if st.RollingUpdate != nil {
			errs = append(errs, field.Invalid(path.Child("rollingUpdate"), st.RollingUpdate,
				fmt.Sprintf("only allowed for updateStrategy '%s'", appsv1.RollingUpdateStatefulSetStrategyType)))
		}
	case appsv1.RollingUpdateStatefulSetStrategyType:
		if ru := st.RollingUpdate; ru != nil {
			errs = append(errs, nonNegativeAt(ru.Partition, path.Child("rollingUpdate", "partition"))...)
			if ru.MaxUnavailable != nil {
				errs = append(errs, core.ValidateIntOrPercent(ru.MaxUnavailable, path.Child("rollingUpdate", "maxUnavailable"))...)
				if n, _ := core.IntOrPercentValue(ru.MaxUnavailable); n == 0 {
					errs = append(errs, field.Invalid(path.Child("rollingUpdate", "maxUnavailable"), ru.MaxUnavailable, "must be greater than 0"))
				}
			}
		}
	default:
		errs = append(errs, field.Invalid(path, st,
			fmt.Sprintf("must be '%s' or '%s'", appsv1.RollingUpdateStatefulSetStrategyType, appsv1.OnDeleteStatefulSetStrategyType)))
	}
	return errs
}

func nonNegativeAt(v *int32, path *field.Path) field.ErrorList {
	if v == nil || *v >= 0 {
		return nil
	}
	return field.ErrorList{field.Invalid(path, *v, "must be greater than or equal to 0")}
}

func defaultClaimTemplates(s *appsv1.StatefulSetSpec) {
	for i := range s.VolumeClaimTemplates {
		core.DefaultPersistentVolumeClaim(&s.VolumeClaimTemplates[i])
	}
}

// validateStatefulSetUpdate: only some of a stateful set's spec may change.
func validateStatefulSetUpdate(s, old *appsv1.StatefulSetSpec) field.ErrorList {
	a, b := s.DeepCopy(), old.DeepCopy()
	// (a set stored before its claim templates were defaulted has their
	// defaults now)
	defaultClaimTemplates(b)
	for _, x := range []*appsv1.StatefulSetSpec{a, b} {
		x.Replicas, x.Ordinals, x.Template, x.UpdateStrategy = nil, nil, corev1.PodTemplateSpec{}, appsv1.StatefulSetUpdateStrategy{}
		x.RevisionHistoryLimit, x.PersistentVolumeClaimRetentionPolicy, x.MinReadySeconds = nil, nil, 0
	}
	if !equality.Semantic.DeepEqual(a, b) {
		return field.ErrorList{field.Forbidden(specPath, "updates to statefulset spec for fields other than 'replicas', 'ordinals', "+
			"'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden")}
	}
	return nil
}
