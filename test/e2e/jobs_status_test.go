package e2e

import (
	"context"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestJobChecks: a Job's pod failure policy and its status written
// through the status subresource get kube 1.37's checks, so that the
// status a job controller (kube's, or another named by spec.managedBy)
// writes stays coherent: a job finishes with the conditions that say why,
// and stays finished.
func TestJobChecks(t *testing.T) {
	k := startKapi(t)
	ctx := context.Background()
	jobs := k.client.BatchV1().Jobs("default")

	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "pi"}, Spec: batchv1.JobSpec{
		PodFailurePolicy: &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
			Action: batchv1.PodFailurePolicyActionFailJob, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
				Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{0, 42}}}}},
		Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
			Containers: []corev1.Container{{Name: "pi", Image: "perl"}}}}}}
	_, err := jobs.Create(ctx, job, metav1.CreateOptions{})
	if got := causes(t, err); got["spec.podFailurePolicy.rules[0].onExitCodes.values[0]"] != metav1.CauseTypeFieldValueInvalid || len(got) != 1 {
		t.Errorf("exit code 0 for In: %v", got)
	}
	job.Spec.PodFailurePolicy.Rules[0].OnExitCodes.Values = []int32{42}
	job, err = jobs.Create(ctx, job, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *job.Spec.PodReplacementPolicy != batchv1.Failed {
		t.Errorf("podReplacementPolicy with a pod failure policy: %s", *job.Spec.PodReplacementPolicy)
	}

	// The job controller starts the job, then says it met its success
	// criteria and completed, in one write.
	start := metav1.NewTime(time.Now().Add(-time.Minute).Truncate(time.Second))
	job.Status = batchv1.JobStatus{StartTime: &start, Active: 1}
	if job, err = jobs.UpdateStatus(ctx, job, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	done := metav1.NewTime(start.Add(30 * time.Second))
	complete := job.DeepCopy()
	complete.Status.Active, complete.Status.Succeeded, complete.Status.CompletionTime = 0, 1, &done
	complete.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}}
	_, err = jobs.UpdateStatus(ctx, complete, metav1.UpdateOptions{})
	if got := causes(t, err); got["status.conditions"] != metav1.CauseTypeFieldValueInvalid || len(got) != 1 {
		t.Errorf("Complete without SuccessCriteriaMet: %v", got)
	}
	complete.Status.Conditions = append([]batchv1.JobCondition{{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue}},
		complete.Status.Conditions...)
	if job, err = jobs.UpdateStatus(ctx, complete, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}

	// A finished job stays finished, and its counters do not go back.
	again := job.DeepCopy()
	again.Status.Conditions, again.Status.CompletionTime, again.Status.Succeeded, again.Status.Active = nil, nil, 0, 1
	_, err = jobs.UpdateStatus(ctx, again, metav1.UpdateOptions{})
	if got := causes(t, err); got["status.conditions"] != metav1.CauseTypeFieldValueInvalid || got["status.succeeded"] != metav1.CauseTypeFieldValueInvalid {
		t.Errorf("a finished job restarted: %v", got)
	}
	stored, err := jobs.Get(ctx, "pi", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if stored.Status.Succeeded != 1 || len(stored.Status.Conditions) != 2 {
		t.Errorf("a refused status write changed the job: %+v", stored.Status)
	}
}
