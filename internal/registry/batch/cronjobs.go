package batch

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	batchv1 "k8s.io/api/batch/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"kapi/internal/registry"
	"kapi/internal/registry/core"
)

// cronJobHooks: concurrencyPolicy Allow, not suspended, 3 successful and 1
// failed job kept (batch/v1 SetDefaults_CronJob), the job template's pods
// defaulted; the schedule must parse as a standard cron line (with the
// parser kube-apiserver uses) and the job template must be valid. As for
// Jobs, the template's spec.scheduling (alpha in kube 1.37) is dropped
// unless the stored cron job has it.
var cronJobHooks = &registry.Hooks{
	Default:          func(obj runtime.Object) { defaultCronJob(obj.(*batchv1.CronJob)) },
	PrepareForCreate: func(obj runtime.Object) { dropDisabledFields(&obj.(*batchv1.CronJob).Spec.JobTemplate.Spec, nil) },
	PrepareForUpdate: func(obj, old runtime.Object) {
		dropDisabledFields(&obj.(*batchv1.CronJob).Spec.JobTemplate.Spec, &old.(*batchv1.CronJob).Spec.JobTemplate.Spec)
	},
	Validate: func(obj, old runtime.Object) field.ErrorList {
		if old == nil {
			return validateCronJob(obj.(*batchv1.CronJob), nil)
		}
		return validateCronJob(obj.(*batchv1.CronJob), old.(*batchv1.CronJob))
	},
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

// validateCronJob is kube's ValidateCronJobCreate (old nil) and
// ValidateCronJobUpdate after the metadata. An update may keep what kube
// let through before: a name over 52 characters, TZ in a schedule that
// had it, a time zone it did not change.
func validateCronJob(cj, old *batchv1.CronJob) field.ErrorList {
	spec := field.NewPath("spec")
	s := &cj.Spec
	var errs field.ErrorList
	if old == nil && len(cj.Name) > maxCronJobNameLength {
		errs = append(errs, field.Invalid(field.NewPath("metadata", "name"), cj.Name, "must be no more than 52 characters"))
	}
	if s.Schedule == "" {
		errs = append(errs, field.Required(spec.Child("schedule"), ""))
	} else {
		errs = append(errs, validateSchedule(s.Schedule, old != nil && strings.Contains(old.Spec.Schedule, "TZ"), s.TimeZone, spec.Child("schedule"))...)
	}
	if d := s.StartingDeadlineSeconds; d != nil {
		errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(*d, spec.Child("startingDeadlineSeconds"))...)
	}
	if old == nil || !ptr.Equal(old.Spec.TimeZone, s.TimeZone) {
		errs = append(errs, validateTimeZone(s.TimeZone, spec.Child("timeZone"))...)
	}
	switch s.ConcurrencyPolicy {
	case batchv1.AllowConcurrent, batchv1.ForbidConcurrent, batchv1.ReplaceConcurrent:
	case "":
		errs = append(errs, field.Required(spec.Child("concurrencyPolicy"), ""))
	default:
		errs = append(errs, field.NotSupported(spec.Child("concurrencyPolicy"), s.ConcurrencyPolicy,
			[]string{string(batchv1.AllowConcurrent), string(batchv1.ForbidConcurrent), string(batchv1.ReplaceConcurrent)}))
	}
	errs = append(errs, validateJobTemplate(&s.JobTemplate, spec.Child("jobTemplate"))...)
	return append(errs, core.NonNegative(spec, core.OptionalCount32("successfulJobsHistoryLimit", s.SuccessfulJobsHistoryLimit),
		core.OptionalCount32("failedJobsHistoryLimit", s.FailedJobsHistoryLimit))...)
}

// validateSchedule: a standard cron line (the parser kube uses), without
// TZ or CRON_TZ, which the timeZone field replaced, unless the stored
// schedule had it (allowTZ), and then not with a timeZone too.
func validateSchedule(schedule string, allowTZ bool, timeZone *string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if _, err := parseCron(schedule); err != nil {
		errs = append(errs, field.Invalid(path, schedule, err.Error()))
	}
	switch hasTZ := strings.Contains(schedule, "TZ"); {
	case allowTZ && hasTZ && timeZone != nil:
		errs = append(errs, field.Invalid(path, schedule, "cannot use both timeZone field and TZ or CRON_TZ in schedule"))
	case !allowTZ && hasTZ:
		errs = append(errs, field.Invalid(path, schedule, "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"))
	}
	return errs
}

// parseCron is kube's ParseCronScheduleWithPanicRecovery: the cron
// parser panics on some lines.
func parseCron(schedule string) (_ cron.Schedule, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("invalid schedule format: %v", r)
		}
	}()
	return cron.ParseStandard(schedule)
}

// validTimeZonePart is a part of an IANA time zone name (kube's
// tolerance for legacy names included).
var validTimeZonePart = regexp.MustCompile(`^[A-Za-z\.\-_0-9+]{1,14}$`)

// validateTimeZone: nil, or a time zone name this machine's zone
// database knows, never Local.
func validateTimeZone(tz *string, path *field.Path) field.ErrorList {
	if tz == nil {
		return nil
	}
	if *tz == "" {
		return field.ErrorList{field.Invalid(path, tz, "timeZone must be nil or non-empty string")}
	}
	for _, part := range strings.Split(*tz, "/") {
		if part == "." || part == ".." || strings.HasPrefix(part, "-") || !validTimeZonePart.MatchString(part) {
			return field.ErrorList{field.Invalid(path, tz, fmt.Sprintf("unknown time zone %s", *tz))}
		}
	}
	var errs field.ErrorList
	if strings.EqualFold(*tz, "Local") {
		errs = append(errs, field.Invalid(path, tz, "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones"))
	}
	if _, err := time.LoadLocation(*tz); err != nil {
		errs = append(errs, field.Invalid(path, tz, err.Error()))
	}
	return errs
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
