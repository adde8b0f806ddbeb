package apps

import (
	"fmt"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
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

// setOptions are kube's StatefulSetValidationOptions: what an update
// tolerates of a stateful set stored before a rule existed.
type setOptions struct {
	// allowInvalidServiceName: the service name is immutable, so an
	// update keeps whatever name was accepted.
	allowInvalidServiceName bool
	// skipPodTemplate: the stored set's spec is no longer valid, so an
	// update does not check its pod template either (kube's
	// SkipValidatePodTemplateSpec).
	skipPodTemplate bool
	// skipClaimTemplates: the claim templates are immutable, so an
	// update does not check them again.
	skipClaimTemplates bool
	// allowRecreate: the Recreate update strategy, behind kube's
	// StatefulSetRecreateStrategy feature (alpha, off in 1.37), is kept
	// by a set that has it.
	allowRecreate bool
}

// validateStatefulSet is kube's ValidateStatefulSet (create) or
// ValidateStatefulSetUpdate, with the options kube's strategy gives them.
func validateStatefulSet(ss, old *appsv1.StatefulSet) field.ErrorList {
	if old == nil {
		return validateStatefulSetSpec(&ss.Spec, setOptions{})
	}
	return validateStatefulSetUpdate(&ss.Spec, &old.Spec)
}

// validateStatefulSetSpec is kube's ValidateStatefulSetSpec.
func validateStatefulSetSpec(s *appsv1.StatefulSetSpec, o setOptions) field.ErrorList {
	var errs field.ErrorList
	switch s.PodManagementPolicy {
	case "":
		errs = append(errs, field.Required(specPath.Child("podManagementPolicy"), ""))
	case appsv1.OrderedReadyPodManagement, appsv1.ParallelPodManagement:
	default:
		errs = append(errs, field.Invalid(specPath.Child("podManagementPolicy"), s.PodManagementPolicy,
			fmt.Sprintf("must be '%s' or '%s'", appsv1.OrderedReadyPodManagement, appsv1.ParallelPodManagement)))
	}
	errs = append(errs, validateStatefulSetStrategy(&s.UpdateStrategy, specPath.Child("updateStrategy"), o.allowRecreate)...)
	errs = append(errs, validateClaimRetentionPolicy(s.PersistentVolumeClaimRetentionPolicy, specPath.Child("persistentVolumeClaimRetentionPolicy"))...)
	if !o.skipClaimTemplates {
		// kube's validateVolumeClaimTemplates: each template's spec as a
		// new claim's; immutable afterwards, so not checked on update.
		for i := range s.VolumeClaimTemplates {
			errs = append(errs, core.ValidatePersistentVolumeClaimSpec(&s.VolumeClaimTemplates[i].Spec, specPath.Child("volumeClaimTemplates").Index(i).Child("spec"))...)
		}
	}
	errs = append(errs, nonNegativeIfSet(s.Replicas, "replicas")...)
	errs = append(errs, nonNegative(s.MinReadySeconds, "minReadySeconds")...)
	if s.Ordinals != nil {
		// (kube's path is one child named "ordinals.start")
		errs = append(errs, nonNegative(s.Ordinals.Start, "ordinals.start")...)
	}
	if !o.allowInvalidServiceName && s.ServiceName != "" {
		for _, msg := range validation.IsDNS1123Label(s.ServiceName) {
			errs = append(errs, field.Invalid(specPath.Child("serviceName"), s.ServiceName, msg))
		}
	}
	errs = append(errs, validateRequiredSelector(s.Selector, "statefulset")...)
	if sel, err := metav1.LabelSelectorAsSelector(s.Selector); err != nil {
		errs = append(errs, field.Invalid(specPath.Child("selector"), s.Selector, ""))
	} else {
		errs = append(errs, validateStatefulSetTemplate(podsTemplate(s), sel, o)...)
	}
	return append(errs, restartAlways(&s.Template, "StatefulSet")...)
}

// podsTemplate is the template as the controller makes pods of it, which
// is what kube validates: the pods' hostname and subdomain are the
// controller's (the pod's name, the set's service), and each claim
// template is a volume, in place of a template volume of its name.
func podsTemplate(s *appsv1.StatefulSetSpec) *corev1.PodTemplateSpec {
	t := &s.Template
	if t.Spec.Subdomain == "" && t.Spec.Hostname == "" && len(s.VolumeClaimTemplates) == 0 {
		return t
	}
	t = t.DeepCopy()
	t.Spec.Subdomain, t.Spec.Hostname = "", ""
	if len(s.VolumeClaimTemplates) == 0 {
		return t
	}
	claims := map[string]bool{}
	var volumes []corev1.Volume
	for _, c := range s.VolumeClaimTemplates {
		if !claims[c.Name] {
			claims[c.Name] = true
			volumes = append(volumes, corev1.Volume{Name: c.Name,
				VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: c.Name}}})
		}
	}
	for _, v := range t.Spec.Volumes {
		if !claims[v.Name] {
			volumes = append(volumes, v)
		}
	}
	t.Spec.Volumes = volumes
	return t
}

// validateStatefulSetTemplate is kube's ValidatePodTemplateSpecForStatefulSet:
// the selector matches, the pod template is valid (unless the stored set's
// was not), and its labels and annotations are checked again under
// kube's paths (template.labels, template.annotations), which the
// tolerant update still checks.
func validateStatefulSetTemplate(t *corev1.PodTemplateSpec, sel labels.Selector, o setOptions) field.ErrorList {
	path := specPath.Child("template")
	errs := selectorMatchesTemplate(sel, t)
	if !o.skipPodTemplate {
		errs = append(errs, core.ValidatePodTemplateSpec(t, path)...)
	}
	errs = append(errs, metav1validation.ValidateLabels(t.Labels, path.Child("labels"))...)
	return append(errs, apimachineryvalidation.ValidateAnnotations(t.Annotations, path.Child("annotations"))...)
}

// validateStatefulSetStrategy is kube's check of spec.updateStrategy (in
// ValidateStatefulSetSpec): only a RollingUpdate strategy has rolling
// update parameters.
func validateStatefulSetStrategy(st *appsv1.StatefulSetUpdateStrategy, path *field.Path, allowRecreate bool) field.ErrorList {
	onlyRolling := func() field.ErrorList {
		if st.RollingUpdate == nil {
			return nil
		}
		return field.ErrorList{field.Invalid(path.Child("rollingUpdate"), statefulSetRollingUpdateValue(st.RollingUpdate),
			fmt.Sprintf("only allowed for updateStrategy '%s'", appsv1.RollingUpdateStatefulSetStrategyType))}
	}
	switch {
	case st.Type == "":
		return field.ErrorList{field.Required(path, "")}
	case st.Type == appsv1.OnDeleteStatefulSetStrategyType:
		return onlyRolling()
	case st.Type == appsv1.RollingUpdateStatefulSetStrategyType:
		if st.RollingUpdate == nil {
			return nil
		}
		return validateRollingUpdateStatefulSet(st.RollingUpdate, path.Child("rollingUpdate"))
	case st.Type == appsv1.RecreateStatefulSetStrategyType && allowRecreate:
		return onlyRolling()
	}
	msg := fmt.Sprintf("must be '%s' or '%s'", appsv1.RollingUpdateStatefulSetStrategyType, appsv1.OnDeleteStatefulSetStrategyType)
	if allowRecreate {
		msg = fmt.Sprintf("must be '%s', '%s', or '%s'", appsv1.RollingUpdateStatefulSetStrategyType,
			appsv1.OnDeleteStatefulSetStrategyType, appsv1.RecreateStatefulSetStrategyType)
	}
	return field.ErrorList{field.Invalid(path, statefulSetStrategyValue(st), msg)}
}

// validateRollingUpdateStatefulSet is kube's validateRollingUpdateStatefulSet
// (maxUnavailable is kube's MaxUnavailableStatefulSet feature, on by
// default in 1.37): a partition not negative, and at least one but not
// more than all pods unavailable at once.
func validateRollingUpdateStatefulSet(ru *appsv1.RollingUpdateStatefulSetStrategy, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if ru.Partition != nil {
		errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(int64(*ru.Partition), path.Child("partition"))...)
	}
	if ru.MaxUnavailable != nil {
		p, v := path.Child("maxUnavailable"), *ru.MaxUnavailable
		errs = append(errs, core.ValidatePositiveIntOrPercent(v, p)...)
		if intOrPercentValue(v) == 0 {
			errs = append(errs, field.Invalid(p, v, "cannot be 0"))
		}
		errs = append(errs, core.NotMoreThan100Percent(v, p)...)
	}
	return errs
}

// claimRetentionPolicies are kube's, in its order.
var claimRetentionPolicies = []string{string(appsv1.RetainPersistentVolumeClaimRetentionPolicyType), string(appsv1.DeletePersistentVolumeClaimRetentionPolicyType)}

// validateClaimRetentionPolicy is kube's
// ValidatePersistentVolumeClaimRetentionPolicy: what becomes of the
// claims when the set is deleted and when it is scaled down.
func validateClaimRetentionPolicy(p *appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy, path *field.Path) field.ErrorList {
	if p == nil {
		return nil
	}
	var errs field.ErrorList
	for _, f := range []struct {
		name   string
		policy appsv1.PersistentVolumeClaimRetentionPolicyType
	}{{"whenDeleted", p.WhenDeleted}, {"whenScaled", p.WhenScaled}} {
		if !slices.Contains(claimRetentionPolicies, string(f.policy)) {
			errs = append(errs, field.NotSupported(path.Child(f.name), f.policy, claimRetentionPolicies))
		}
	}
	return errs
}

func defaultClaimTemplates(s *appsv1.StatefulSetSpec) {
	for i := range s.VolumeClaimTemplates {
		core.DefaultPersistentVolumeClaim(&s.VolumeClaimTemplates[i])
	}
}

// validateStatefulSetUpdate is kube's ValidateStatefulSetUpdate: the new
// spec valid, tolerating what the stored one already got wrong, and the
// fields a set's pods and claims are named after immutable: the
// selector, the claim templates, the service, the pod management policy.
// (kube 1.37 reports each as "field is immutable"; it used to refuse any
// change outside a list of mutable fields, which are the others.)
func validateStatefulSetUpdate(s, old *appsv1.StatefulSetSpec) field.ErrorList {
	o := setOptions{allowInvalidServiceName: true, skipClaimTemplates: true,
		allowRecreate: old.UpdateStrategy.Type == appsv1.RecreateStatefulSetStrategyType}
	if len(validateStatefulSetSpec(old, o)) > 0 {
		o.skipPodTemplate = true
	}
	errs := validateStatefulSetSpec(s, o)
	errs = append(errs, selectorImmutable(s.Selector, old.Selector)...)
	if !equality.Semantic.DeepEqual(comparableClaims(s), comparableClaims(old)) {
		errs = append(errs, field.Invalid(specPath.Child("volumeClaimTemplates"), s.VolumeClaimTemplates, apimachineryvalidation.FieldImmutableErrorMsg))
	}
	errs = append(errs, apimachineryvalidation.ValidateImmutableField(s.ServiceName, old.ServiceName, specPath.Child("serviceName"))...)
	return append(errs, apimachineryvalidation.ValidateImmutableField(s.PodManagementPolicy, old.PodManagementPolicy, specPath.Child("podManagementPolicy"))...)
}

// comparableClaims are a set's claim templates as kube compares them: with
// their defaults (a set stored before kapi defaulted them has them now)
// and without their apiVersion and kind, which kube's internal type has
// not.
func comparableClaims(s *appsv1.StatefulSetSpec) []corev1.PersistentVolumeClaim {
	c := &appsv1.StatefulSetSpec{VolumeClaimTemplates: slices.Clone(s.VolumeClaimTemplates)}
	for i := range c.VolumeClaimTemplates {
		c.VolumeClaimTemplates[i] = *c.VolumeClaimTemplates[i].DeepCopy()
		c.VolumeClaimTemplates[i].TypeMeta = metav1.TypeMeta{}
	}
	defaultClaimTemplates(c)
	return c.VolumeClaimTemplates
}
