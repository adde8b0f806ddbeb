package batch

// A Job's spec, as kube-apiserver 1.37 validates it (pkg/apis/batch/
// validation: ValidateJobCreate, ValidateJobUpdate and the job spec a
// CronJob's template shares), with its field paths and messages.

import (
	"fmt"
	"slices"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/registry/core"
)

// kube's limits on a job's spec.
const (
	// maxParallelismForIndexedJob and maxFailedIndexesForIndexedJob cap
	// the length of status.completedIndexes and status.failedIndexes.
	maxParallelismForIndexedJob   = 100_000
	maxFailedIndexesForIndexedJob = 100_000

	completionsSoftLimit                    = 100_000
	parallelismLimitForHighCompletions      = 10_000
	maxFailedIndexesLimitForHighCompletions = 10_000

	maxPodFailurePolicyRules                   = 20
	maxPodFailurePolicyOnExitCodesValues       = 255
	maxPodFailurePolicyOnPodConditionsPatterns = 20
	maxManagedByLength                         = 63
	maxSuccessPolicySucceededIndexesLength     = 64 * 1024
	maxSuccessPolicyRules                      = 20
)

// The values kube accepts, sorted as its messages list them.
var (
	podFailurePolicyActions = []batchv1.PodFailurePolicyAction{batchv1.PodFailurePolicyActionCount,
		batchv1.PodFailurePolicyActionFailIndex, batchv1.PodFailurePolicyActionFailJob, batchv1.PodFailurePolicyActionIgnore}
	onExitCodesOperators = []batchv1.PodFailurePolicyOnExitCodesOperator{batchv1.PodFailurePolicyOnExitCodesOpIn,
		batchv1.PodFailurePolicyOnExitCodesOpNotIn}
	onPodConditionsStatuses = []corev1.ConditionStatus{corev1.ConditionFalse, corev1.ConditionTrue, corev1.ConditionUnknown}
	podReplacementPolicies  = []batchv1.PodReplacementPolicy{batchv1.Failed, batchv1.TerminatingOrFailed}
)

// validateJobCreate is kube's ValidateJobCreate after the object's
// metadata: the generated selector, the spec, and a name that an indexed
// job's pods' hostnames can end with their index.
func validateJobCreate(job *batchv1.Job) field.ErrorList {
	errs := validateGeneratedSelector(job)
	errs = append(errs, validateJobSpecAndSelector(&job.Spec, field.NewPath("spec"), false)...)
	return append(errs, validateNameAllowsCompletions(job)...)
}

// validateJobUpdate is kube's ValidateJobUpdate after the metadata: the
// spec as on create, then what may not change.
func validateJobUpdate(job, old *batchv1.Job) field.ErrorList {
	spec := field.NewPath("spec")
	s, o := &job.Spec, &old.Spec
	errs := validateJobSpecAndSelector(s, spec, metav1validation.LabelSelectorHasInvalidLabelValue(o.Selector))
	errs = append(errs, validateCompletionsUpdate(s, o, spec.Child("completions"))...)
	errs = append(errs, apimachineryvalidation.ValidateImmutableField(s.Selector, o.Selector, spec.Child("selector"))...)
	errs = append(errs, validatePodTemplateUpdate(s, o, old, spec)...)
	for _, f := range []struct {
		name     string
		new, old any
	}{
		{"completionMode", s.CompletionMode, o.CompletionMode},
		{"podFailurePolicy", s.PodFailurePolicy, o.PodFailurePolicy},
		{"backoffLimitPerIndex", s.BackoffLimitPerIndex, o.BackoffLimitPerIndex},
		{"managedBy", s.ManagedBy, o.ManagedBy},
		{"successPolicy", s.SuccessPolicy, o.SuccessPolicy},
	} {
		errs = append(errs, apimachineryvalidation.ValidateImmutableField(f.new, f.old, spec.Child(f.name))...)
	}
	return append(errs, validateNameAllowsCompletions(job)...)
}

// validateGeneratedSelector: unless the selector is manual, the pod
// template carries the labels the selector was generated from, with the
// job's uid and name, and the selector selects them.
func validateGeneratedSelector(job *batchv1.Job) field.ErrorList {
	if job.Spec.ManualSelector != nil && *job.Spec.ManualSelector || job.Spec.Selector == nil {
		return nil
	}
	var errs field.ErrorList
	if job.UID == "" {
		errs = append(errs, field.Required(field.NewPath("metadata", "uid"), ""))
	}
	tpl := field.NewPath("spec", "template", "metadata")
	want := []struct{ key, value string }{
		{legacyControllerUIDLabel, string(job.UID)}, {legacyJobNameLabel, job.Name},
		{batchv1.ControllerUidLabel, string(job.UID)}, {batchv1.JobNameLabel, job.Name},
	}
	expected := labels.Set{}
	for _, l := range want {
		errs = append(errs, validateHasLabel(job.Spec.Template.Labels, tpl, l.key, l.value)...)
		expected[l.key] = l.value
	}
	if sel, err := metav1.LabelSelectorAsSelector(job.Spec.Selector); err == nil && !sel.Matches(expected) {
		errs = append(errs, field.Invalid(field.NewPath("spec", "selector"), job.Spec.Selector, "`selector` not auto-generated"))
	}
	return errs
}

// validateHasLabel is kube's ValidateHasLabel: labels (of the object
// whose metadata is at path) hold key with value.
func validateHasLabel(l map[string]string, path *field.Path, key, value string) field.ErrorList {
	got, ok := l[key]
	switch {
	case !ok:
		return field.ErrorList{field.Required(path.Child("labels").Key(key), fmt.Sprintf("must be '%s'", value))}
	case got != value:
		return field.ErrorList{field.Invalid(path.Child("labels").Key(key), l, fmt.Sprintf("must be '%s'", value))}
	}
	return nil
}

// validateNameAllowsCompletions: an indexed job's pods' hostnames are its
// name and their index, which must make a DNS label.
func validateNameAllowsCompletions(job *batchv1.Job) field.ErrorList {
	s := &job.Spec
	if !isIndexed(s) || s.Completions == nil || *s.Completions <= 0 {
		return nil
	}
	host := fmt.Sprintf("%s-%d", job.Name, *s.Completions-1)
	if len(validation.IsDNS1123Label(host)) > 0 {
		return field.ErrorList{field.Invalid(field.NewPath("metadata", "name"), job.Name,
			fmt.Sprintf("will not able to create pod with invalid DNS label: %s", host))}
	}
	return nil
}

func conditionTrue(cs []batchv1.JobCondition, t batchv1.JobConditionType) bool {
	return conditionIs(cs, t, corev1.ConditionTrue)
}

func conditionIs(cs []batchv1.JobCondition, t batchv1.JobConditionType, s corev1.ConditionStatus) bool {
	for _, c := range cs {
		if c.Type == t && c.Status == s {
			return true
		}
	}
	return false
}

func isIndexed(s *batchv1.JobSpec) bool {
	return s.CompletionMode != nil && *s.CompletionMode == batchv1.IndexedCompletion
}

// validateJobSpecAndSelector is kube's ValidateJobSpec: the spec, a
// selector, and a template its selector selects. allowInvalidValues lets
// an update keep a selector with a label value stored before values were
// checked.
func validateJobSpecAndSelector(s *batchv1.JobSpec, path *field.Path, allowInvalidValues bool) field.ErrorList {
	errs := validateJobSpec(s, path)
	if s.Selector == nil {
		errs = append(errs, field.Required(path.Child("selector"), ""))
	} else {
		errs = append(errs, metav1validation.ValidateLabelSelector(s.Selector,
			metav1validation.LabelSelectorValidationOptions{AllowInvalidLabelValueInSelector: allowInvalidValues}, path.Child("selector"))...)
	}
	if sel, err := metav1.LabelSelectorAsSelector(s.Selector); err == nil {
		errs = append(errs, core.TemplateMatchesSelector(s.Template.Labels, sel, path.Child("template"))...)
	}
	return errs
}

// validateJobSpec is what a Job and a CronJob's job template share (kube's
// validateJobSpec): the counts, the completion mode and its limits, the
// failure, success and replacement policies, and a pod template whose
// pods do not restart Always. (kube's spec.scheduling checks are left
// out: the field is dropped, its feature being off.)
func validateJobSpec(s *batchv1.JobSpec, path *field.Path) field.ErrorList {
	errs := core.NonNegative(path, core.OptionalCount32("parallelism", s.Parallelism), core.OptionalCount32("completions", s.Completions),
		core.OptionalCount64("activeDeadlineSeconds", s.ActiveDeadlineSeconds), core.OptionalCount32("backoffLimit", s.BackoffLimit),
		core.OptionalCount32("ttlSecondsAfterFinished", s.TTLSecondsAfterFinished), core.OptionalCount32("backoffLimitPerIndex", s.BackoffLimitPerIndex))
	if s.MaxFailedIndexes != nil {
		errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(int64(*s.MaxFailedIndexes), path.Child("maxFailedIndexes"))...)
		if s.BackoffLimitPerIndex == nil {
			errs = append(errs, field.Required(path.Child("backoffLimitPerIndex"), "when maxFailedIndexes is specified"))
		}
	}
	if m := s.ManagedBy; m != nil {
		errs = append(errs, validation.IsDomainPrefixedPath(path.Child("managedBy"), *m)...)
		if len(*m) > maxManagedByLength {
			errs = append(errs, field.TooLong(path.Child("managedBy"), "", maxManagedByLength))
		}
	}
	errs = append(errs, validateCompletionMode(s, path)...)
	if s.PodFailurePolicy != nil {
		errs = append(errs, validatePodFailurePolicy(s, path.Child("podFailurePolicy"))...)
	}
	if s.SuccessPolicy != nil {
		if !isIndexed(s) {
			errs = append(errs, field.Invalid(path.Child("successPolicy"), *s.SuccessPolicy, "requires indexed completion mode"))
		} else {
			errs = append(errs, validateSuccessPolicy(s, path.Child("successPolicy"))...)
		}
	}
	errs = append(errs, validatePodReplacementPolicy(s, path.Child("podReplacementPolicy"))...)
	errs = append(errs, core.ValidatePodTemplateSpec(&s.Template, path.Child("template"))...)
	restart := path.Child("template", "spec", "restartPolicy")
	switch rp := s.Template.Spec.RestartPolicy; {
	case rp == corev1.RestartPolicyAlways || rp == "":
		// Always is also what an unset policy is defaulted to.
		errs = append(errs, field.Required(restart, fmt.Sprintf("valid values: %q, %q", corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever)))
	case rp != corev1.RestartPolicyOnFailure && rp != corev1.RestartPolicyNever:
		errs = append(errs, field.NotSupported(restart, rp, []corev1.RestartPolicy{corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever}))
	case s.PodFailurePolicy != nil && rp != corev1.RestartPolicyNever:
		errs = append(errs, field.Invalid(restart, rp, fmt.Sprintf("only %q is supported when podFailurePolicy is specified", corev1.RestartPolicyNever)))
	}
	return errs
}

// validateCompletionMode: a known mode; an indexed job needs completions
// and keeps within the limits that bound its status's index lists; only
// an indexed job has per-index backoff limits.
func validateCompletionMode(s *batchv1.JobSpec, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if m := s.CompletionMode; m != nil && *m != batchv1.NonIndexedCompletion && *m != batchv1.IndexedCompletion {
		errs = append(errs, field.NotSupported(path.Child("completionMode"), m, []batchv1.CompletionMode{batchv1.NonIndexedCompletion, batchv1.IndexedCompletion}))
	}
	if !isIndexed(s) {
		if s.CompletionMode == nil || *s.CompletionMode == batchv1.NonIndexedCompletion {
			if s.BackoffLimitPerIndex != nil {
				errs = append(errs, field.Invalid(path.Child("backoffLimitPerIndex"), *s.BackoffLimitPerIndex, "requires indexed completion mode"))
			}
			if s.MaxFailedIndexes != nil {
				errs = append(errs, field.Invalid(path.Child("maxFailedIndexes"), *s.MaxFailedIndexes, "requires indexed completion mode"))
			}
		}
		return errs
	}
	if s.Completions == nil {
		errs = append(errs, field.Required(path.Child("completions"), fmt.Sprintf("when completion mode is %s", batchv1.IndexedCompletion)))
	}
	if s.Parallelism != nil && *s.Parallelism > maxParallelismForIndexedJob {
		errs = append(errs, field.Invalid(path.Child("parallelism"), *s.Parallelism,
			fmt.Sprintf("must be less than or equal to %d when completion mode is %s", maxParallelismForIndexedJob, batchv1.IndexedCompletion)))
	}
	if s.Completions != nil && s.MaxFailedIndexes != nil && *s.MaxFailedIndexes > *s.Completions {
		errs = append(errs, field.Invalid(path.Child("maxFailedIndexes"), *s.MaxFailedIndexes, "must be less than or equal to completions"))
	}
	if s.MaxFailedIndexes != nil && *s.MaxFailedIndexes > maxFailedIndexesForIndexedJob {
		errs = append(errs, field.Invalid(path.Child("maxFailedIndexes"), *s.MaxFailedIndexes,
			fmt.Sprintf("must be less than or equal to %d", maxFailedIndexesForIndexedJob)))
	}
	if s.Completions != nil && *s.Completions > completionsSoftLimit && s.BackoffLimitPerIndex != nil {
		high := fmt.Sprintf("when completions are above %d and used with backoff limit per index", completionsSoftLimit)
		if s.MaxFailedIndexes == nil {
			errs = append(errs, field.Required(path.Child("maxFailedIndexes"), fmt.Sprintf("must be specified when completions is above %d", completionsSoftLimit)))
		}
		if s.Parallelism != nil && *s.Parallelism > parallelismLimitForHighCompletions {
			errs = append(errs, field.Invalid(path.Child("parallelism"), *s.Parallelism,
				fmt.Sprintf("must be less than or equal to %d %s", parallelismLimitForHighCompletions, high)))
		}
		if s.MaxFailedIndexes != nil && *s.MaxFailedIndexes > maxFailedIndexesLimitForHighCompletions {
			errs = append(errs, field.Invalid(path.Child("maxFailedIndexes"), *s.MaxFailedIndexes,
				fmt.Sprintf("must be less than or equal to %d %s", maxFailedIndexesLimitForHighCompletions, high)))
		}
	}
	return errs
}

// validatePodFailurePolicy: at most 20 rules, each with a known action
// and exactly one of its two kinds of requirement.
func validatePodFailurePolicy(s *batchv1.JobSpec, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	rules := path.Child("rules")
	if n := len(s.PodFailurePolicy.Rules); n > maxPodFailurePolicyRules {
		errs = append(errs, field.TooMany(rules, n, maxPodFailurePolicyRules))
	}
	var containers []string
	for _, c := range s.Template.Spec.Containers {
		containers = append(containers, c.Name)
	}
	for _, c := range s.Template.Spec.InitContainers {
		containers = append(containers, c.Name)
	}
	for i := range s.PodFailurePolicy.Rules {
		errs = append(errs, validatePodFailurePolicyRule(s, &s.PodFailurePolicy.Rules[i], rules.Index(i), containers)...)
	}
	return errs
}

func validatePodFailurePolicyRule(s *batchv1.JobSpec, rule *batchv1.PodFailurePolicyRule, path *field.Path, containers []string) field.ErrorList {
	var errs field.ErrorList
	action := path.Child("action")
	switch {
	case rule.Action == "":
		errs = append(errs, field.Required(action, fmt.Sprintf("valid values: %q", podFailurePolicyActions)))
	case rule.Action == batchv1.PodFailurePolicyActionFailIndex:
		if s.BackoffLimitPerIndex == nil {
			errs = append(errs, field.Invalid(action, rule.Action, "requires the backoffLimitPerIndex to be set"))
		}
	case !slices.Contains(podFailurePolicyActions, rule.Action):
		errs = append(errs, field.NotSupported(action, rule.Action, podFailurePolicyActions))
	}
	if rule.OnExitCodes != nil {
		errs = append(errs, validateOnExitCodes(rule.OnExitCodes, path.Child("onExitCodes"), containers)...)
	}
	if len(rule.OnPodConditions) > 0 {
		errs = append(errs, validateOnPodConditions(rule.OnPodConditions, path.Child("onPodConditions"))...)
	}
	switch {
	case rule.OnExitCodes != nil && len(rule.OnPodConditions) > 0:
		errs = append(errs, field.Invalid(path, field.OmitValueType{}, "specifying both OnExitCodes and OnPodConditions is not supported"))
	case rule.OnExitCodes == nil && len(rule.OnPodConditions) == 0:
		errs = append(errs, field.Invalid(path, field.OmitValueType{}, "specifying one of OnExitCodes and OnPodConditions is required"))
	}
	return errs
}

func validateOnPodConditions(patterns []batchv1.PodFailurePolicyOnPodConditionsPattern, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(patterns) > maxPodFailurePolicyOnPodConditionsPatterns {
		errs = append(errs, field.TooMany(path, len(patterns), maxPodFailurePolicyOnPodConditionsPatterns))
	}
	for j, p := range patterns {
		at := path.Index(j)
		for _, msg := range validation.IsQualifiedName(string(p.Type)) {
			errs = append(errs, field.Invalid(at.Child("type"), string(p.Type), msg))
		}
		switch {
		case p.Status == "":
			errs = append(errs, field.Required(at.Child("status"), fmt.Sprintf("valid values: %q", onPodConditionsStatuses)))
		case !slices.Contains(onPodConditionsStatuses, p.Status):
			errs = append(errs, field.NotSupported(at.Child("status"), p.Status, onPodConditionsStatuses))
		}
	}
	return errs
}

// validateOnExitCodes: a known operator, a container of the template,
// 1 to 255 distinct values in order, no 0 for In.
func validateOnExitCodes(r *batchv1.PodFailurePolicyOnExitCodesRequirement, path *field.Path, containers []string) field.ErrorList {
	var errs field.ErrorList
	switch {
	case r.Operator == "":
		errs = append(errs, field.Required(path.Child("operator"), fmt.Sprintf("valid values: %q", onExitCodesOperators)))
	case !slices.Contains(onExitCodesOperators, r.Operator):
		errs = append(errs, field.NotSupported(path.Child("operator"), r.Operator, onExitCodesOperators))
	}
	if r.ContainerName != nil && !slices.Contains(containers, *r.ContainerName) {
		errs = append(errs, field.Invalid(path.Child("containerName"), *r.ContainerName, "must be one of the container or initContainer names in the pod template"))
	}
	values := path.Child("values")
	switch {
	case len(r.Values) == 0:
		errs = append(errs, field.Invalid(values, r.Values, "at least one value is required"))
	case len(r.Values) > maxPodFailurePolicyOnExitCodesValues:
		errs = append(errs, field.TooMany(values, len(r.Values), maxPodFailurePolicyOnExitCodesValues))
	}
	seen := map[int32]bool{}
	for j, v := range r.Values {
		if r.Operator == batchv1.PodFailurePolicyOnExitCodesOpIn && v == 0 {
			errs = append(errs, field.Invalid(values.Index(j), v, "must not be 0 for the In operator"))
		}
		if seen[v] {
			errs = append(errs, field.Duplicate(values.Index(j), v))
		}
		seen[v] = true
	}
	if !slices.IsSorted(r.Values) {
		errs = append(errs, field.Invalid(values, r.Values, "must be ordered"))
	}
	return errs
}

// validateSuccessPolicy: 1 to 20 rules, each with a count or indexes (or
// both) that the job's completions can meet.
func validateSuccessPolicy(s *batchv1.JobSpec, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	rules := path.Child("rules")
	switch n := len(s.SuccessPolicy.Rules); {
	case n == 0:
		errs = append(errs, field.Required(rules, "at least one rules must be specified when the successPolicy is specified"))
	case n > maxSuccessPolicyRules:
		errs = append(errs, field.TooMany(rules, n, maxSuccessPolicyRules))
	}
	// Without completions (reported already) the rules cannot be measured.
	completions := int32(0)
	if s.Completions != nil {
		completions = *s.Completions
	}
	for i, rule := range s.SuccessPolicy.Rules {
		at := rules.Index(i)
		if rule.SucceededCount == nil && rule.SucceededIndexes == nil {
			errs = append(errs, field.Required(at, "at least one of succeededCount or succeededIndexes must be specified"))
		}
		var total int32
		if idx := rule.SucceededIndexes; idx != nil {
			if len(*idx) > maxSuccessPolicySucceededIndexesLength {
				errs = append(errs, field.TooLong(at.Child("succeededIndexes"), "", maxSuccessPolicySucceededIndexesLength))
			}
			var err error
			if total, err = countIndexes(*idx, completions); err != nil {
				errs = append(errs, field.Invalid(at.Child("succeededIndexes"), *idx, "error parsing succeededIndexes: "+err.Error()))
			}
		}
		if c := rule.SucceededCount; c != nil {
			count := at.Child("succeededCount")
			errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(int64(*c), count)...)
			if *c > completions {
				errs = append(errs, field.Invalid(count, *c, fmt.Sprintf("must be less than or equal to %d (the number of specified completions)", completions)))
			}
			if rule.SucceededIndexes != nil && *c > total {
				errs = append(errs, field.Invalid(count, *c, fmt.Sprintf("must be less than or equal to %d (the number of indexes in the specified succeededIndexes field)", total)))
			}
		}
	}
	return errs
}

// validatePodReplacementPolicy: Failed alone with a pod failure policy,
// otherwise Failed or TerminatingOrFailed.
func validatePodReplacementPolicy(s *batchv1.JobSpec, path *field.Path) field.ErrorList {
	p := s.PodReplacementPolicy
	switch {
	case p == nil:
	case s.PodFailurePolicy != nil:
		if *p != batchv1.Failed {
			return field.ErrorList{field.NotSupported(path, *p, []batchv1.PodReplacementPolicy{batchv1.Failed})}
		}
	case !slices.Contains(podReplacementPolicies, *p):
		return field.ErrorList{field.NotSupported(path, *p, podReplacementPolicies)}
	}
	return nil
}

// validateCompletionsUpdate: completions are immutable but for an indexed
// job, which may scale them with its parallelism (kube's elastic indexed
// jobs).
func validateCompletionsUpdate(s, old *batchv1.JobSpec, path *field.Path) field.ErrorList {
	if !isIndexed(s) {
		return apimachineryvalidation.ValidateImmutableField(s.Completions, old.Completions, path)
	}
	if s.Completions == nil || old.Completions != nil && *s.Completions == *old.Completions {
		return nil // a missing one is reported by validateJobSpec
	}
	if s.Parallelism == nil || *s.Completions != *s.Parallelism {
		return field.ErrorList{field.Invalid(path, s.Completions, "can only be modified in tandem with spec.parallelism")}
	}
	return nil
}

// validatePodTemplateUpdate: the template is immutable, but a suspended
// job with no active pods that never started (or was suspended since)
// may change where its pods go (node affinity, node selector,
// tolerations, scheduling gates, the template's labels and annotations)
// and its containers' resources, as kube 1.37's beta
// MutableSchedulingDirectivesForSuspendedJobs and
// MutablePodResourcesForSuspendedJobs allow.
func validatePodTemplateUpdate(s, o *batchv1.JobSpec, oldJob *batchv1.Job, path *field.Path) field.ErrorList {
	tpl := &s.Template
	mutable := o.Suspend != nil && *o.Suspend &&
		(oldJob.Status.StartTime == nil || conditionTrue(oldJob.Status.Conditions, batchv1.JobSuspended)) && oldJob.Status.Active == 0
	if !mutable {
		return apimachineryvalidation.ValidateImmutableField(tpl, &o.Template, path.Child("template"))
	}
	// The stored template with what may change taken from the new one:
	// what is left must be equal.
	was := o.Template.DeepCopy()
	switch a, oa := tpl.Spec.Affinity, was.Spec.Affinity; {
	case a == nil && oa != nil:
		// The affinity may go if it held only node affinity.
		oa.NodeAffinity = nil
		if *oa == (corev1.Affinity{}) {
			was.Spec.Affinity = nil
		}
	case a != nil && oa == nil:
		was.Spec.Affinity = &corev1.Affinity{NodeAffinity: a.NodeAffinity}
	case a != nil && oa != nil:
		oa.NodeAffinity = a.NodeAffinity
	}
	was.Spec.NodeSelector, was.Spec.Tolerations, was.Spec.SchedulingGates = tpl.Spec.NodeSelector, tpl.Spec.Tolerations, tpl.Spec.SchedulingGates
	was.Labels, was.Annotations = tpl.Labels, tpl.Annotations
	// kube's validatePodResourceUpdatesOnly: the containers' and init
	// containers' resources, matched by position and name.
	for _, pair := range []struct{ new, old []corev1.Container }{{tpl.Spec.Containers, was.Spec.Containers}, {tpl.Spec.InitContainers, was.Spec.InitContainers}} {
		if len(pair.new) != len(pair.old) {
			continue
		}
		for i := range pair.new {
			if pair.old[i].Name == pair.new[i].Name {
				pair.old[i].Resources = pair.new[i].Resources
			}
		}
	}
	return apimachineryvalidation.ValidateImmutableField(tpl.Spec, was.Spec, path.Child("template", "spec"))
}
