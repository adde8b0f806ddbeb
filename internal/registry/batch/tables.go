package batch

import (
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"

	"kapi/internal/registry"
)

var (
	containersColumn = metav1.TableColumnDefinition{Name: "Containers", Type: "string", Priority: 1, Description: "Names of each container in the template."}
	imagesColumn     = metav1.TableColumnDefinition{Name: "Images", Type: "string", Priority: 1, Description: "Images referenced by each container in the template."}
	selectorColumn   = metav1.TableColumnDefinition{Name: "Selector", Type: "string", Priority: 1, Description: batchv1.JobSpec{}.SwaggerDoc()["selector"]}
)

// jobTable: NAME STATUS COMPLETIONS DURATION AGE.
var jobTable = &registry.TableDef{
	Columns: []metav1.TableColumnDefinition{
		{Name: "Status", Type: "string", Description: "Status of the job."},
		{Name: "Completions", Type: "string", Description: batchv1.JobStatus{}.SwaggerDoc()["succeeded"]},
		{Name: "Duration", Type: "string", Description: "Time required to complete the job."},
		registry.AgeColumn, containersColumn, imagesColumn, selectorColumn,
	},
	Row: func(obj runtime.Object, now time.Time) []interface{} {
		j := obj.(*batchv1.Job)
		names, images := registry.ContainerCells(j.Spec.Template.Spec.Containers)
		return []interface{}{jobStatus(j), jobCompletions(j), jobDuration(j, now), registry.Age(j, now),
			names, images, metav1.FormatLabelSelector(j.Spec.Selector)}
	},
}

// jobCompletions is succeeded/completions: "2/3", or "0/1 of 4" for a
// parallel job without a completion count.
func jobCompletions(j *batchv1.Job) string {
	if j.Spec.Completions != nil {
		return fmt.Sprintf("%d/%d", j.Status.Succeeded, *j.Spec.Completions)
	}
	if p := j.Spec.Parallelism; p != nil && *p > 1 {
		return fmt.Sprintf("%d/1 of %d", j.Status.Succeeded, *p)
	}
	return fmt.Sprintf("%d/1", j.Status.Succeeded)
}

// jobDuration runs from the start to completion, or to now while running.
func jobDuration(j *batchv1.Job, now time.Time) string {
	switch {
	case j.Status.StartTime == nil:
		return ""
	case j.Status.CompletionTime == nil:
		return duration.HumanDuration(now.Sub(j.Status.StartTime.Time))
	}
	return duration.HumanDuration(j.Status.CompletionTime.Sub(j.Status.StartTime.Time))
}

// jobStatus takes the first that holds, in this order: Complete, Failed,
// Terminating, Suspended, FailureTarget, Running.
func jobStatus(j *batchv1.Job) string {
	switch {
	case jobCondition(j, batchv1.JobComplete):
		return "Complete"
	case jobCondition(j, batchv1.JobFailed):
		return "Failed"
	case j.DeletionTimestamp != nil:
		return "Terminating"
	case jobCondition(j, batchv1.JobSuspended):
		return "Suspended"
	case jobCondition(j, batchv1.JobFailureTarget):
		return "FailureTarget"
	}
	return "Running"
}

// jobCondition reports whether the first condition of type t is True.
func jobCondition(j *batchv1.Job, t batchv1.JobConditionType) bool {
	for _, c := range j.Status.Conditions {
		if c.Type == t {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

var cronJobDocs = batchv1.CronJobSpec{}.SwaggerDoc()

var cronJobTable = &registry.TableDef{
	Columns: []metav1.TableColumnDefinition{
		{Name: "Schedule", Type: "string", Description: cronJobDocs["schedule"]},
		{Name: "Timezone", Type: "string", Description: cronJobDocs["timeZone"]},
		{Name: "Suspend", Type: "boolean", Description: cronJobDocs["suspend"]},
		{Name: "Active", Type: "integer", Description: batchv1.CronJobStatus{}.SwaggerDoc()["active"]},
		{Name: "Last Schedule", Type: "string", Description: batchv1.CronJobStatus{}.SwaggerDoc()["lastScheduleTime"]},
		registry.AgeColumn, containersColumn, imagesColumn, selectorColumn,
	},
	Row: func(obj runtime.Object, now time.Time) []interface{} {
		cj := obj.(*batchv1.CronJob)
		last := "<none>"
		if t := cj.Status.LastScheduleTime; t != nil {
			last = registry.HumanDuration(*t, now)
		}
		tz := "<none>"
		if cj.Spec.TimeZone != nil {
			tz = *cj.Spec.TimeZone
		}
		// Suspend prints as "True", "False" or "<unset>".
		suspend := "<unset>"
		if s := cj.Spec.Suspend; s != nil {
			suspend = "False"
			if *s {
				suspend = "True"
			}
		}
		tmpl := cj.Spec.JobTemplate.Spec
		names, images := registry.ContainerCells(tmpl.Template.Spec.Containers)
		return []interface{}{cj.Spec.Schedule, tz, suspend, int64(len(cj.Status.Active)), last,
			registry.Age(cj, now), names, images, metav1.FormatLabelSelector(tmpl.Selector)}
	},
}
