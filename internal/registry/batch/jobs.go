package batch

import (
	"fmt"
	"maps"
	"strconv"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/registry"
	"kapi/internal/registry/core"
)

// The labels a job without a manual selector gets on its pods, old and
// new spellings, as kube-apiserver's job strategy writes them.
const (
	legacyJobNameLabel       = "job-name"
	legacyControllerUIDLabel = "controller-uid"
)

// jobHooks: kube-apiserver's defaults (batch/v1 SetDefaults_Job), then on
// create the generated selector (which needs the final name and uid, so
// it is made at validation, as kube's job strategy does), then validation;
// after create the template and the other immutable fields stay.
var jobHooks = &registry.Hooks{
	Default: func(obj runtime.Object) { defaultJob(obj.(*batchv1.Job)) },
	Validate: func(obj, old runtime.Object) field.ErrorList {
		job := obj.(*batchv1.Job)
		if old == nil {
			if job.Spec.ManualSelector == nil || !*job.Spec.ManualSelector {
				generateSelector(job)
			}
			return validateJob(job)
		}
		o := old.(*batchv1.Job)
		return append(validateJob(job), validateJobUpdate(job, o)...)
	},
	Warnings: func(obj, old runtime.Object) []string {
		job := obj.(*batchv1.Job)
		return core.WorkloadWarnings(obj, old, job.Name, func() []string { return jobSpecWarnings(field.NewPath("spec"), &job.Spec) })
	},
}

// jobSpecWarnings are kube's warnings about a job's spec at path: an
// indexed job too large for its completed indexes to be tracked, and its
// template's.
func jobSpecWarnings(path *field.Path, s *batchv1.JobSpec) []string {
	var w []string
	if s.CompletionMode != nil && *s.CompletionMode == batchv1.IndexedCompletion &&
		s.Completions != nil && *s.Completions > 100_000 && s.Parallelism != nil && *s.Parallelism > 10_000 {
		w = append(w, fmt.Sprintf("%s: In Indexed Jobs with a number of completions higher than 10^5 and a parallelism higher than 10^4, Kubernetes might not be able to track completedIndexes when a big number of indexes fail", path))
	}
	return append(w, core.TemplateWarnings(path.Child("template"), &s.Template)...)
}

func defaultJob(job *batchv1.Job) {
	s := &job.Spec
	core.DefaultPodSpec(&s.Template.Spec)
	if s.Completions == nil && s.Parallelism == nil {
		s.Completions = int32Ptr(1)
	}
	if s.Parallelism == nil {
		s.Parallelism = int32Ptr(1)
	}
	if s.BackoffLimit == nil {
		s.BackoffLimit = int32Ptr(6)
	}
	if s.Template.Labels != nil && len(job.Labels) == 0 {
		job.Labels = s.Template.Labels
	}
	if s.CompletionMode == nil {
		m := batchv1.NonIndexedCompletion
		s.CompletionMode = &m
	}
	if s.Suspend == nil {
		f := false
		s.Suspend = &f
	}
	if s.PodReplacementPolicy == nil {
		p := batchv1.TerminatingOrFailed
		if s.PodFailurePolicy != nil {
			p = batchv1.Failed
		}
		s.PodReplacementPolicy = &p
	}
}

// generateSelector labels the pods with the job's name and uid and
// selects them by uid; labels the client set are kept (and then checked).
func generateSelector(job *batchv1.Job) {
	t := &job.Spec.Template
	if t.Labels == nil {
		t.Labels = map[string]string{}
	}
	for k, v := range map[string]string{legacyJobNameLabel: job.Name, batchv1.JobNameLabel: job.Name,
		legacyControllerUIDLabel: string(job.UID), batchv1.ControllerUidLabel: string(job.UID)} {
		if _, ok := t.Labels[k]; !ok {
			t.Labels[k] = v
		}
	}
	if job.Spec.Selector == nil {
		job.Spec.Selector = &metav1.LabelSelector{}
	}
	if job.Spec.Selector.MatchLabels == nil {
		job.Spec.Selector.MatchLabels = map[string]string{}
	}
	if _, ok := job.Spec.Selector.MatchLabels[batchv1.ControllerUidLabel]; !ok {
		job.Spec.Selector.MatchLabels[batchv1.ControllerUidLabel] = string(job.UID)
	}
	// kube-apiserver's defaulting, run again when the job is read back,
	// gives an unlabelled job its template's labels, these included.
	if len(job.Labels) == 0 {
		job.Labels = maps.Clone(t.Labels)
	}
}

func validateJob(job *batchv1.Job) field.ErrorList {
	spec := field.NewPath("spec")
	s := &job.Spec
	var errs field.ErrorList
	if s.Selector == nil {
		errs = append(errs, field.Required(spec.Child("selector"), ""))
	} else {
		errs = append(errs, metav1validation.ValidateLabelSelector(s.Selector, metav1validation.LabelSelectorValidationOptions{}, spec.Child("selector"))...)
		if sel, err := metav1.LabelSelectorAsSelector(s.Selector); err == nil && !sel.Matches(labels.Set(s.Template.Labels)) {
			errs = append(errs, field.Invalid(spec.Child("template", "metadata", "labels"), s.Template.Labels, "`selector` does not match template `labels`"))
		}
	}
	return append(errs, validateJobSpec(s, spec)...)
}

// validateJobSpec is what a Job and a CronJob's job template share: the
// counts, the completion mode, and a pod template whose pods do not
// restart Always.
func validateJobSpec(s *batchv1.JobSpec, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for name, v := range map[string]*int32{"parallelism": s.Parallelism, "completions": s.Completions,
		"backoffLimit": s.BackoffLimit, "ttlSecondsAfterFinished": s.TTLSecondsAfterFinished} {
		if v != nil {
			errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(int64(*v), path.Child(name))...)
		}
	}
	if d := s.ActiveDeadlineSeconds; d != nil {
		errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(*d, path.Child("activeDeadlineSeconds"))...)
	}
	if m := s.CompletionMode; m != nil {
		switch *m {
		case batchv1.NonIndexedCompletion:
		case batchv1.IndexedCompletion:
			if s.Completions == nil {
				errs = append(errs, field.Required(path.Child("completions"), fmt.Sprintf("when completion mode is %s", batchv1.IndexedCompletion)))
			}
		default:
			errs = append(errs, field.NotSupported(path.Child("completionMode"), *m,
				[]string{string(batchv1.NonIndexedCompletion), string(batchv1.IndexedCompletion)}))
		}
	}
	errs = append(errs, core.ValidatePodTemplateSpec(&s.Template, path.Child("template"))...)
	if rp := s.Template.Spec.RestartPolicy; rp != corev1.RestartPolicyOnFailure && rp != corev1.RestartPolicyNever {
		errs = append(errs, field.NotSupported(path.Child("template", "spec", "restartPolicy"), rp,
			[]string{string(corev1.RestartPolicyOnFailure), string(corev1.RestartPolicyNever)}))
	}
	return errs
}

// validateJobUpdate: the selector, completions, completion mode, failure
// policies and the pod template are immutable; a suspended job that never
// started may still change where its pods are scheduled.
func validateJobUpdate(job, old *batchv1.Job) field.ErrorList {
	spec := field.NewPath("spec")
	s, o := &job.Spec, &old.Spec
	errs := apimachineryvalidation.ValidateImmutableField(s.Selector, o.Selector, spec.Child("selector"))
	if o.CompletionMode == nil || *o.CompletionMode != batchv1.IndexedCompletion {
		errs = append(errs, apimachineryvalidation.ValidateImmutableField(s.Completions, o.Completions, spec.Child("completions"))...)
	}
	errs = append(errs, apimachineryvalidation.ValidateImmutableField(s.CompletionMode, o.CompletionMode, spec.Child("completionMode"))...)
	errs = append(errs, apimachineryvalidation.ValidateImmutableField(s.PodFailurePolicy, o.PodFailurePolicy, spec.Child("podFailurePolicy"))...)
	errs = append(errs, apimachineryvalidation.ValidateImmutableField(s.BackoffLimitPerIndex, o.BackoffLimitPerIndex, spec.Child("backoffLimitPerIndex"))...)
	t, ot := s.Template.DeepCopy(), o.Template.DeepCopy()
	if o.Suspend != nil && *o.Suspend && old.Status.StartTime == nil {
		for _, x := range []*corev1.PodTemplateSpec{t, ot} {
			x.Labels, x.Annotations = nil, nil
			x.Spec.NodeSelector, x.Spec.Affinity, x.Spec.Tolerations, x.Spec.SchedulingGates = nil, nil, nil, nil
		}
	}
	if !equality.Semantic.DeepEqual(t, ot) {
		errs = append(errs, field.Invalid(spec.Child("template"), s.Template, "field is immutable"))
	}
	return errs
}

// jobFields: jobs select on status.successful, as in kube-apiserver.
func jobFields(obj runtime.Object) map[string]string {
	return map[string]string{"status.successful": strconv.Itoa(int(obj.(*batchv1.Job).Status.Succeeded))}
}

func int32Ptr(v int32) *int32 { return &v }
