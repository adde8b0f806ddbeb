package batch

import (
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	batchv1 "k8s.io/api/batch/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/registry"
	"kapi/internal/registry/core"
)

// cronJobHooks: concurrencyPolicy Allow, not suspended, 3 successful and 1
// failed job kept (batch/v1 SetDefaults_CronJob), the job template's pods
// defaulted; the schedule must parse as a standard cron line (with the
// parser kube-apiserver uses) and the job template must be valid.
var cronJobHooks = &registry.Hooks{
	Default:  func(obj runtime.Object) { defaultCronJob(obj.(*batchv1.CronJob)) },
	Validate: func(obj, _ runtime.Object) field.ErrorList { return validateCronJob(obj.(*batchv1.CronJob)) },
	Warnings: func(obj, old runtime.Object) []string {
		cj := obj.(*batchv1.CronJob)
		return core.WorkloadWarnings(obj, old, cj.Name, func() []string {
			return jobSpecWarnings(field.NewPath("spec", "jobTemplate", "spec"), &cj.Spec.JobTemplate.Spec)
		})
	},
}

func defaultCronJob(cj *batchv1.CronJob) {
	s := &cj.Spec
	core.DefaultPodSpec(&s.JobTemplate.Spec.Template.Spec)
	if s.ConcurrencyPolicy == "" {
		s.ConcurrencyPolicy = batchv1.AllowConcurrent
	}
	if s.Suspend == nil {
		f := false
		s.Suspend = &f
	}
	if s.SuccessfulJobsHistoryLimit == nil {
		s.SuccessfulJobsHistoryLimit = int32Ptr(3)
	}
	if s.FailedJobsHistoryLimit == nil {
		s.FailedJobsHistoryLimit = int32Ptr(1)
	}
}

// maxCronJobNameLength leaves room for the 11 characters a job's name adds
// to its cron job's (a dash and a scheduled time).
const maxCronJobNameLength = 52

func validateCronJob(cj *batchv1.CronJob) field.ErrorList {
	spec := field.NewPath("spec")
	s := &cj.Spec
	var errs field.ErrorList
	if len(cj.Name) > maxCronJobNameLength {
		errs = append(errs, field.Invalid(field.NewPath("metadata", "name"), cj.Name, "must be no more than 52 characters"))
	}
	switch {
	case s.Schedule == "":
		errs = append(errs, field.Required(spec.Child("schedule"), ""))
	case strings.Contains(s.Schedule, "TZ"):
		errs = append(errs, field.Invalid(spec.Child("schedule"), s.Schedule, "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"))
	default:
		if _, err := cron.ParseStandard(s.Schedule); err != nil {
			errs = append(errs, field.Invalid(spec.Child("schedule"), s.Schedule, err.Error()))
		}
	}
	if tz := s.TimeZone; tz != nil {
		switch _, err := time.LoadLocation(*tz); {
		case *tz == "":
			errs = append(errs, field.Invalid(spec.Child("timeZone"), *tz, "timeZone must be nil or non-empty string"))
		case strings.EqualFold(*tz, "Local"):
			errs = append(errs, field.Invalid(spec.Child("timeZone"), *tz, "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones"))
		case err != nil:
			errs = append(errs, field.Invalid(spec.Child("timeZone"), *tz, err.Error()))
		}
	}
	switch s.ConcurrencyPolicy {
	case batchv1.AllowConcurrent, batchv1.ForbidConcurrent, batchv1.ReplaceConcurrent:
	case "":
		errs = append(errs, field.Required(spec.Child("concurrencyPolicy"), ""))
	default:
		errs = append(errs, field.NotSupported(spec.Child("concurrencyPolicy"), s.ConcurrencyPolicy,
			[]string{string(batchv1.AllowConcurrent), string(batchv1.ForbidConcurrent), string(batchv1.ReplaceConcurrent)}))
	}
	if d := s.StartingDeadlineSeconds; d != nil {
		errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(*d, spec.Child("startingDeadlineSeconds"))...)
	}
	for name, v := range map[string]*int32{"successfulJobsHistoryLimit": s.SuccessfulJobsHistoryLimit, "failedJobsHistoryLimit": s.FailedJobsHistoryLimit} {
		if v != nil {
			errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(int64(*v), spec.Child(name))...)
		}
	}
	return append(errs, validateJobTemplate(&s.JobTemplate, spec.Child("jobTemplate"))...)
}

// validateJobTemplate: a job spec whose selector the jobs will generate.
func validateJobTemplate(t *batchv1.JobTemplateSpec, path *field.Path) field.ErrorList {
	errs := metav1validation.ValidateLabels(t.Labels, path.Child("metadata", "labels"))
	errs = append(errs, apimachineryvalidation.ValidateAnnotations(t.Annotations, path.Child("metadata", "annotations"))...)
	errs = append(errs, validateJobSpec(&t.Spec, path.Child("spec"))...)
	if t.Spec.Selector != nil {
		errs = append(errs, field.Invalid(path.Child("spec", "selector"), t.Spec.Selector, "`selector` will be auto-generated"))
	}
	if m := t.Spec.ManualSelector; m != nil && *m {
		errs = append(errs, field.NotSupported(path.Child("spec", "manualSelector"), m, []string{"nil", "false"}))
	}
	return errs
}
