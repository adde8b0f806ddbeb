package batch

// A Job's status, as kube-apiserver 1.37 validates a write of it through
// the status subresource (ValidateJobUpdateStatus with the options of its
// status strategy). Since spec.managedBy lets a controller other than
// kube's job controller write a job's status, kube checks that each write
// keeps the status coherent: counters that only grow, terminal
// conditions that stay, times in order, index lists that parse. Most
// checks run only when the fields they read changed, so that a status
// that a spec change made stale (completions scaled down below its
// completed indexes) can still be written back by the controller.

import (
	"fmt"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"kapi/internal/registry"
	"kapi/internal/registry/core"
)

// jobStatusSubresource is the jobs' status subresource, with kube's checks of the
// status written in place of the spec's.
var jobStatusSubresource = registry.ValidatedStatus(func(obj, old runtime.Object) field.ErrorList {
	return validateJobStatusUpdate(obj.(*batchv1.Job), old.(*batchv1.Job))
})

// jobState is what the checks read of a job's conditions.
type jobState struct {
	complete, failed, failureTarget, successCriteriaMet, finished bool
}

func stateOf(j *batchv1.Job) jobState {
	cs := j.Status.Conditions
	s := jobState{
		complete: conditionTrue(cs, batchv1.JobComplete), failed: conditionTrue(cs, batchv1.JobFailed),
		failureTarget: conditionTrue(cs, batchv1.JobFailureTarget), successCriteriaMet: conditionTrue(cs, batchv1.JobSuccessCriteriaMet),
	}
	s.finished = s.complete || s.failed
	return s
}

// validateJobStatusUpdate is kube's ValidateJobStatusUpdate with the
// options its status strategy computes from the two jobs (kube's
// JobManagedBy feature, GA and always on since 1.35).
func validateJobStatusUpdate(job, old *batchv1.Job) field.ErrorList {
	path := field.NewPath("status")
	st, ost := &job.Status, &old.Status
	now, was := stateOf(job), stateOf(old)
	ch := statusChanges{
		finished: now.finished != was.finished, complete: now.complete != was.complete, failed: now.failed != was.failed,
		failureTarget: now.failureTarget != was.failureTarget, successCriteriaMet: now.successCriteriaMet != was.successCriteriaMet,
		completedIndexes: st.CompletedIndexes != ost.CompletedIndexes, failedIndexes: !ptr.Equal(st.FailedIndexes, ost.FailedIndexes),
		active: st.Active != ost.Active, startTime: !st.StartTime.Equal(ost.StartTime),
		completionTime: !st.CompletionTime.Equal(ost.CompletionTime),
		uncounted:      !equality.Semantic.DeepEqual(st.UncountedTerminatedPods, ost.UncountedTerminatedPods),
		ready:          !ptr.Equal(st.Ready, ost.Ready), terminating: !ptr.Equal(st.Terminating, ost.Terminating),
	}
	errs := validateJobStatus(job, now, ch, path)

	conditions := path.Child("conditions")
	for _, t := range []batchv1.JobConditionType{batchv1.JobFailed, batchv1.JobComplete, batchv1.JobFailureTarget} {
		if conditionTrue(ost.Conditions, t) && !conditionTrue(st.Conditions, t) {
			errs = append(errs, field.Invalid(conditions, field.OmitValueType{}, fmt.Sprintf("cannot disable the terminal %s=True condition", t)))
		}
	}
	if st.Failed < ost.Failed {
		errs = append(errs, field.Invalid(path.Child("failed"), st.Failed, "cannot decrease the failed counter"))
	}
	// An indexed job whose parallelism equals its completions may be
	// scaled down, and its succeeded count with it.
	scalable := isIndexed(&job.Spec) && ptr.Equal(job.Spec.Completions, job.Spec.Parallelism)
	if !scalable && st.Succeeded < ost.Succeeded {
		errs = append(errs, field.Invalid(path.Child("succeeded"), st.Succeeded, "cannot decrease the succeeded counter"))
	}
	if st.CompletionTime != nil && ost.CompletionTime != nil && ch.completionTime {
		errs = append(errs, field.Invalid(path.Child("completionTime"), st.CompletionTime, "field is immutable"))
	}
	// A job resuming (its Suspended condition turning False) restarts its
	// clock; otherwise a start time once set stays while the job runs.
	resuming := conditionTrue(ost.Conditions, batchv1.JobSuspended) && conditionIs(st.Conditions, batchv1.JobSuspended, corev1.ConditionFalse)
	if ch.startTime && !resuming && ost.StartTime != nil && (job.Spec.Suspend == nil || !*job.Spec.Suspend) {
		errs = append(errs, field.Invalid(path.Child("startTime"), st.StartTime, "field is immutable for unsuspended job once set"))
	}
	if was.successCriteriaMet && !now.successCriteriaMet {
		errs = append(errs, field.Invalid(conditions, field.OmitValueType{}, "cannot disable the SuccessCriteriaMet=True condition"))
	}
	if was.complete && !was.successCriteriaMet && now.successCriteriaMet {
		errs = append(errs, field.Invalid(conditions, field.OmitValueType{}, "cannot set SuccessCriteriaMet=True for Job already has Complete=true conditions"))
	}
	return errs
}

// statusChanges: which parts of the status a write changed.
type statusChanges struct {
	finished, complete, failed, failureTarget, successCriteriaMet      bool
	completedIndexes, failedIndexes, active, startTime, completionTime bool
	uncounted, ready, terminating                                      bool
}

// validateJobStatus is kube's validateJobStatus: the status on its own,
// each rule checked when the fields it reads changed.
func validateJobStatus(job *batchv1.Job, s jobState, ch statusChanges, path *field.Path) field.ErrorList {
	st := &job.Status
	errs := core.NonNegative(path, core.Count32("active", st.Active), core.Count32("succeeded", st.Succeeded), core.Count32("failed", st.Failed),
		core.OptionalCount32("ready", st.Ready), core.OptionalCount32("terminating", st.Terminating))
	errs = append(errs, validateUncounted(st.UncountedTerminatedPods, path.Child("uncountedTerminatedPods"))...)

	conditions := path.Child("conditions")
	invalid := func(when bool, p *field.Path, value any, msg string) {
		if when {
			errs = append(errs, field.Invalid(p, value, msg))
		}
	}
	omit := field.OmitValueType{}
	invalid((ch.complete || ch.failed) && s.complete && s.failed, conditions, omit, "cannot set Complete=True and Failed=true conditions")
	invalid((ch.complete || ch.failureTarget) && s.complete && s.failureTarget, conditions, omit, "cannot set Complete=True and FailureTarget=true conditions")
	invalid((ch.complete || ch.completionTime) && st.CompletionTime != nil && !s.complete, path.Child("completionTime"), st.CompletionTime,
		"cannot set completionTime when there is no Complete=True condition")
	if (ch.complete || ch.completionTime) && st.CompletionTime == nil && s.complete {
		errs = append(errs, field.Required(path.Child("completionTime"), "completionTime is required for Complete jobs"))
	}
	invalid((ch.startTime || ch.completionTime) && st.StartTime != nil && st.CompletionTime != nil && st.CompletionTime.Before(st.StartTime),
		path.Child("completionTime"), st.CompletionTime, "must be equal to or after `startTime`")
	invalid((ch.failed || ch.failedIndexes) && s.failed && !s.failureTarget, conditions, omit,
		"cannot set Failed=True condition without the FailureTarget=true condition")
	invalid((ch.complete || ch.successCriteriaMet) && s.complete && !s.successCriteriaMet, conditions, omit,
		"cannot set Complete=True condition without the SuccessCriteriaMet=true condition")
	invalid((ch.finished || ch.active) && st.Active > 0 && s.finished, path.Child("active"), st.Active, "active>0 is invalid for finished job")
	// A suspended job of no completions finishes without ever starting.
	zeroSuspended := job.Spec.Suspend != nil && *job.Spec.Suspend && job.Spec.Completions != nil && *job.Spec.Completions == 0
	if (ch.finished || ch.startTime) && !zeroSuspended && st.StartTime == nil && s.finished {
		errs = append(errs, field.Required(path.Child("startTime"), "startTime is required for finished job"))
	}
	if u := st.UncountedTerminatedPods; (ch.finished || ch.uncounted) && s.finished && u != nil && len(u.Failed)+len(u.Succeeded) > 0 {
		errs = append(errs, field.Invalid(path.Child("uncountedTerminatedPods"), u, "must be empty for finished job"))
	}
	errs = append(errs, validateStatusIndexes(job, ch, path)...)
	invalid((ch.finished || ch.terminating) && st.Terminating != nil && *st.Terminating > 0 && s.finished,
		path.Child("terminating"), st.Terminating, "terminating>0 is invalid for finished job")
	if (ch.ready || ch.active) && st.Ready != nil && *st.Ready > st.Active {
		errs = append(errs, field.Invalid(path.Child("ready"), *st.Ready, "cannot set more ready pods than active"))
	}
	invalid(s.successCriteriaMet && s.failed, conditions, omit, "cannot set SuccessCriteriaMet=True and Failed=true conditions")
	invalid(s.successCriteriaMet && s.failureTarget, conditions, omit, "cannot set SuccessCriteriaMet=True and FailureTarget=true conditions")
	invalid(job.Spec.SuccessPolicy != nil && !s.successCriteriaMet && s.complete, conditions, omit,
		"cannot set Complete=True for Job with SuccessPolicy unless SuccessCriteriaMet=True")
	return errs
}

// validateUncounted: the uids of terminated pods not yet counted are
// given, and each once across both lists.
func validateUncounted(u *batchv1.UncountedTerminatedPods, path *field.Path) field.ErrorList {
	if u == nil {
		return nil
	}
	var errs field.ErrorList
	seen := map[types.UID]bool{}
	for _, l := range []struct {
		name string
		uids []types.UID
	}{{"succeeded", u.Succeeded}, {"failed", u.Failed}} {
		for i, uid := range l.uids {
			p := path.Child(l.name).Index(i)
			switch {
			case uid == "":
				errs = append(errs, field.Invalid(p, uid, "must not be empty"))
			case seen[uid]:
				errs = append(errs, field.Duplicate(p, uid))
			default:
				seen[uid] = true
			}
		}
	}
	return errs
}

// validateStatusIndexes: changed index lists parse within completions;
// only an indexed job has completed ones, only one with per-index
// backoff limits failed ones, and the two never share an index.
func validateStatusIndexes(job *batchv1.Job, ch statusChanges, path *field.Path) field.ErrorList {
	st, spec := &job.Status, &job.Spec
	var errs field.ErrorList
	if ch.completedIndexes && spec.Completions != nil {
		if _, err := countIndexes(st.CompletedIndexes, *spec.Completions); err != nil {
			errs = append(errs, field.Invalid(path.Child("completedIndexes"), st.CompletedIndexes, "error parsing completedIndexes: "+err.Error()))
		}
	}
	if ch.failedIndexes && spec.Completions != nil && spec.BackoffLimitPerIndex != nil && st.FailedIndexes != nil {
		if _, err := countIndexes(*st.FailedIndexes, *spec.Completions); err != nil {
			errs = append(errs, field.Invalid(path.Child("failedIndexes"), st.FailedIndexes, "error parsing failedIndexes: "+err.Error()))
		}
	}
	if ch.completedIndexes && st.CompletedIndexes != "" && !isIndexed(spec) {
		errs = append(errs, field.Invalid(path.Child("completedIndexes"), st.CompletedIndexes, "cannot set non-empty completedIndexes when non-indexed completion mode"))
	}
	if ch.failedIndexes && spec.BackoffLimitPerIndex == nil && st.FailedIndexes != nil {
		errs = append(errs, field.Invalid(path.Child("failedIndexes"), *st.FailedIndexes, "cannot set non-null failedIndexes when backoffLimitPerIndex is null"))
	}
	if (ch.failedIndexes || ch.completedIndexes) && spec.Completions != nil && st.FailedIndexes != nil {
		if err := indexesOverlap(st.CompletedIndexes, *st.FailedIndexes, *spec.Completions); err != nil {
			errs = append(errs, field.Invalid(path.Child("failedIndexes"), *st.FailedIndexes, err.Error()))
		}
	}
	return errs
}
