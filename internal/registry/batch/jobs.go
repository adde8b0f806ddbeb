package batch

import (
	"fmt"
	"maps"
	"strconv"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
// it is made at validation, as kube's job strategy does), then kube's
// validation (ValidateJobCreate, ValidateJobUpdate; jobs_validation.go).
// spec.scheduling needs the alpha WorkloadWithJob feature, off in kube
// 1.37 by default: it is dropped unless the stored job has it, as kube's
// DropDisabledFields does.
var jobHooks = &registry.Hooks{
	Default:          func(obj runtime.Object) { defaultJob(obj.(*batchv1.Job)) },
	PrepareForCreate: func(obj runtime.Object) { dropDisabledFields(&obj.(*batchv1.Job).Spec, nil) },
	PrepareForUpdate: func(obj, old runtime.Object) {
		dropDisabledFields(&obj.(*batchv1.Job).Spec, &old.(*batchv1.Job).Spec)
	},
	Validate: func(obj, old runtime.Object) field.ErrorList {
		job := obj.(*batchv1.Job)
		if old == nil {
			if job.Spec.ManualSelector == nil || !*job.Spec.ManualSelector {
				generateSelector(job)
			}
			return validateJobCreate(job)
		}
		return validateJobUpdate(job, old.(*batchv1.Job))
	},
	Warnings: func(obj, old runtime.Object) []string {
		job := obj.(*batchv1.Job)
		return core.WorkloadWarnings(obj, old, job.Name, func() []string { return jobSpecWarnings(field.NewPath("spec"), &job.Spec) })
	},
}

// dropDisabledFields is kube's job.DropDisabledFields, which Jobs and
// CronJobs' templates share: spec.scheduling needs the alpha
// WorkloadWithJob feature, off, so it goes unless the stored spec (old;
// nil on create) has it.
func dropDisabledFields(s, old *batchv1.JobSpec) {
	if old == nil || old.Scheduling == nil {
		s.Scheduling = nil
	}
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

// jobFields: jobs select on status.successful, as in kube-apiserver.
func jobFields(obj runtime.Object) map[string]string {
	return map[string]string{"status.successful": strconv.Itoa(int(obj.(*batchv1.Job).Status.Succeeded))}
}

func int32Ptr(v int32) *int32 { return &v }
