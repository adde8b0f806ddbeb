package batch

import (
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"kapi/internal/registry/fieldtest"
)

func at(sec int64) *metav1.Time { return &metav1.Time{Time: time.Unix(sec, 0)} }

func conds(types ...batchv1.JobConditionType) []batchv1.JobCondition {
	var cs []batchv1.JobCondition
	for _, t := range types {
		cs = append(cs, batchv1.JobCondition{Type: t, Status: corev1.ConditionTrue})
	}
	return cs
}

// TestJobStatusUpdates: kube 1.37's checks of a status written through
// the status subresource, each checked only when what it reads changed.
func TestJobStatusUpdates(t *testing.T) {
	running := func(j *batchv1.Job) { j.Status.StartTime, j.Status.Active = at(100), 2 }
	perIndex := all(indexed(4, 2), func(j *batchv1.Job) { j.Spec.BackoffLimitPerIndex = ptr.To[int32](1) })
	cases := []struct {
		name   string
		stored func(*batchv1.Job)
		write  func(*batchv1.Job)
		want   string
	}{
		{"started", nil, running, ""},
		{"completes", running, func(j *batchv1.Job) {
			j.Status.Active, j.Status.Succeeded, j.Status.CompletionTime = 0, 1, at(200)
			j.Status.Conditions = conds(batchv1.JobSuccessCriteriaMet, batchv1.JobComplete)
		}, ""},
		{"fails", running, func(j *batchv1.Job) {
			j.Status.Active, j.Status.Failed = 0, 7
			j.Status.Conditions = conds(batchv1.JobFailureTarget, batchv1.JobFailed)
		}, ""},
		{"negative counts", nil, func(j *batchv1.Job) { j.Status.Active, j.Status.Ready = -1, ptr.To[int32](-1) },
			"status.active: Invalid value: -1: must be greater than or equal to 0\n" +
				"status.ready: Invalid value: -1: must be greater than or equal to 0"},
		{"complete without success criteria", running, func(j *batchv1.Job) {
			j.Status.Active, j.Status.CompletionTime, j.Status.Conditions = 0, at(200), conds(batchv1.JobComplete)
		}, "status.conditions: Invalid value: cannot set Complete=True condition without the SuccessCriteriaMet=true condition"},
		{"complete without completion time, still active", running, func(j *batchv1.Job) {
			j.Status.Conditions = conds(batchv1.JobSuccessCriteriaMet, batchv1.JobComplete)
		}, "status.completionTime: Required value: completionTime is required for Complete jobs\n" +
			"status.active: Invalid value: 2: active>0 is invalid for finished job"},
		{"failed without failure target", running, func(j *batchv1.Job) {
			j.Status.Active, j.Status.Conditions = 0, conds(batchv1.JobFailed)
		}, "status.conditions: Invalid value: cannot set Failed=True condition without the FailureTarget=true condition"},
		{"completion time without Complete", running, func(j *batchv1.Job) { j.Status.CompletionTime = at(200) },
			"status.completionTime: Invalid value: \"1970-01-01T00:03:20Z\": cannot set completionTime when there is no Complete=True condition"},
		{"completion before start", func(j *batchv1.Job) {
			j.Status.StartTime, j.Status.Succeeded, j.Status.CompletionTime = at(100), 1, at(200)
			j.Status.Conditions = conds(batchv1.JobSuccessCriteriaMet, batchv1.JobComplete)
		}, func(j *batchv1.Job) { j.Status.CompletionTime = at(50) },
			"status.completionTime: Invalid value: \"1970-01-01T00:00:50Z\": must be equal to or after `startTime`\n" +
				"status.completionTime: Invalid value: \"1970-01-01T00:00:50Z\": field is immutable"},
		{"terminal condition taken back", func(j *batchv1.Job) {
			j.Status.StartTime, j.Status.Conditions = at(100), conds(batchv1.JobFailureTarget, batchv1.JobFailed)
		}, func(j *batchv1.Job) { j.Status.Conditions = nil },
			"status.conditions: Invalid value: cannot disable the terminal Failed=True condition\n" +
				"status.conditions: Invalid value: cannot disable the terminal FailureTarget=True condition"},
		{"counters go down", func(j *batchv1.Job) { j.Status.Failed, j.Status.Succeeded = 3, 2 }, func(j *batchv1.Job) { j.Status.Failed, j.Status.Succeeded = 2, 1 },
			"status.failed: Invalid value: 2: cannot decrease the failed counter\n" +
				"status.succeeded: Invalid value: 1: cannot decrease the succeeded counter"},
		{"an elastic indexed job scaled down", all(indexed(4, 4), func(j *batchv1.Job) { j.Status.Succeeded = 3 }),
			func(j *batchv1.Job) { j.Status.Succeeded = 2 }, ""},
		{"start time of a running job", running, func(j *batchv1.Job) { j.Status.StartTime = at(150) },
			"status.startTime: Invalid value: \"1970-01-01T00:02:30Z\": field is immutable for unsuspended job once set"},
		{"start time of a resuming job", all(running, func(j *batchv1.Job) {
			j.Status.Active, j.Status.Conditions = 0, conds(batchv1.JobSuspended)
		}), func(j *batchv1.Job) {
			j.Status.StartTime = at(150)
			j.Status.Conditions[0].Status = corev1.ConditionFalse
		}, ""},
		{"more ready than active", running, func(j *batchv1.Job) { j.Status.Ready = ptr.To[int32](3) },
			"status.ready: Invalid value: 3: cannot set more ready pods than active"},
		{"uncounted pods", running, func(j *batchv1.Job) {
			j.Status.UncountedTerminatedPods = &batchv1.UncountedTerminatedPods{Succeeded: []types.UID{"a", ""}, Failed: []types.UID{"a"}}
		}, "status.uncountedTerminatedPods.succeeded[1]: Invalid value: \"\": must not be empty\n" +
			"status.uncountedTerminatedPods.failed[0]: Duplicate value: \"a\""},
		{"completed indexes", indexed(4, 2), func(j *batchv1.Job) { j.Status.CompletedIndexes = "0,2-3" }, ""},
		{"completed indexes out of range", indexed(4, 2), func(j *batchv1.Job) { j.Status.CompletedIndexes = "0,3-4" },
			`status.completedIndexes: Invalid value: "0,3-4": error parsing completedIndexes: too large index: "4"`},
		{"completed indexes of a job not indexed", nil, func(j *batchv1.Job) { j.Status.CompletedIndexes = "0" },
			`status.completedIndexes: Invalid value: "0": cannot set non-empty completedIndexes when non-indexed completion mode`},
		{"stale completed indexes kept", all(indexed(4, 2), func(j *batchv1.Job) {
			j.Status.CompletedIndexes = "0-5" // completions were scaled down after
		}), func(j *batchv1.Job) { j.Status.Active = 1 }, ""},
		{"failed indexes", perIndex, func(j *batchv1.Job) { j.Status.CompletedIndexes, j.Status.FailedIndexes = "0,3", ptr.To("1-2") }, ""},
		{"failed indexes overlap", perIndex, func(j *batchv1.Job) { j.Status.CompletedIndexes, j.Status.FailedIndexes = "0,2-3", ptr.To("1-2") },
			`status.failedIndexes: Invalid value: "1-2": failedIndexes and completedIndexes overlap at index: 2`},
		{"failed indexes without per-index backoff", indexed(4, 2), func(j *batchv1.Job) { j.Status.FailedIndexes = ptr.To("1") },
			`status.failedIndexes: Invalid value: "1": cannot set non-null failedIndexes when backoffLimitPerIndex is null`},
		{"success criteria taken back", func(j *batchv1.Job) { j.Status.Conditions = conds(batchv1.JobSuccessCriteriaMet) },
			func(j *batchv1.Job) { j.Status.Conditions = nil },
			"status.conditions: Invalid value: cannot disable the SuccessCriteriaMet=True condition"},
		{"success criteria and failure target", running, func(j *batchv1.Job) {
			j.Status.Conditions = conds(batchv1.JobSuccessCriteriaMet, batchv1.JobFailureTarget)
		}, "status.conditions: Invalid value: cannot set SuccessCriteriaMet=True and FailureTarget=true conditions"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			old := job(c.stored)
			jobHooks.PrepareCreate(old)
			if errs := jobHooks.Validate(old, nil); len(errs) > 0 {
				t.Fatal(errs)
			}
			nj := old.DeepCopy()
			c.write(nj)
			if got := fieldtest.Lines(jobStatusSubresource.Validate(nj, old)); got != c.want {
				t.Errorf("got\n%s\nwant\n%s", got, c.want)
			}
		})
	}
}
