package batch

import (
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"kapi/internal/registry/fieldtest"
)

func job(mut func(*batchv1.Job)) *batchv1.Job {
	j := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "pi", UID: "uid-1"}, Spec: batchv1.JobSpec{
		Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
			Containers: []corev1.Container{{Name: "pi", Image: "perl:5.34"}}}}}}
	if mut != nil {
		mut(j)
	}
	return j
}

func TestJobValidation(t *testing.T) {
	cases := []struct {
		name string
		mut  func(*batchv1.Job)
		want string
	}{
		{"valid", nil, ""},
		// kube's message for both: `Required value: valid values: "OnFailure", "Never"`.
		{"restart always", func(j *batchv1.Job) { j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyAlways },
			"spec.template.spec.restartPolicy: Required value"},
		{"restart defaulted to always", func(j *batchv1.Job) { j.Spec.Template.Spec.RestartPolicy = "" },
			"spec.template.spec.restartPolicy: Required value"},
		// The pod spec's check and the job's, as in kube.
		{"restart unknown", func(j *batchv1.Job) { j.Spec.Template.Spec.RestartPolicy = "Sometimes" },
			"spec.template.spec.restartPolicy: Unsupported value; spec.template.spec.restartPolicy: Unsupported value"},
		{"no containers", func(j *batchv1.Job) { j.Spec.Template.Spec.Containers = nil }, "spec.template.spec.containers: Required value"},
		{"negative backoff", func(j *batchv1.Job) { n := int32(-1); j.Spec.BackoffLimit = &n }, "spec.backoffLimit: Invalid value"},
		{"indexed without completions", func(j *batchv1.Job) {
			m := batchv1.IndexedCompletion
			j.Spec.CompletionMode, j.Spec.Parallelism = &m, new(int32)
		}, "spec.completions: Required value"},
		{"manual selector mismatch", func(j *batchv1.Job) {
			yes := true
			j.Spec.ManualSelector = &yes
			j.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"a": "b"}}
		}, "spec.template.metadata.labels: Invalid value"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			j := job(c.mut)
			jobHooks.PrepareCreate(j)
			if got := fieldtest.Paths(jobHooks.Validate(j, nil)); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestJobDefaultsAndImmutableTemplate(t *testing.T) {
	j := job(nil)
	jobHooks.PrepareCreate(j)
	if errs := jobHooks.Validate(j, nil); len(errs) > 0 {
		t.Fatal(errs)
	}
	s := j.Spec
	if *s.Completions != 1 || *s.Parallelism != 1 || *s.BackoffLimit != 6 || *s.CompletionMode != batchv1.NonIndexedCompletion ||
		*s.Suspend || *s.PodReplacementPolicy != batchv1.TerminatingOrFailed {
		t.Errorf("defaults: %+v", s)
	}
	if s.Selector.MatchLabels[batchv1.ControllerUidLabel] != "uid-1" || s.Template.Labels[batchv1.JobNameLabel] != "pi" ||
		s.Template.Labels["controller-uid"] != "uid-1" || j.Labels["job-name"] != "pi" {
		t.Errorf("generated selector: %+v %+v %v", s.Selector, s.Template.Labels, j.Labels)
	}
	nj := j.DeepCopy()
	nj.Spec.Template.Spec.Containers[0].Image = "perl:5.36"
	jobHooks.PrepareUpdate(nj, j)
	if got := fieldtest.Paths(jobHooks.Validate(nj, j)); got != "spec.template: Invalid value" {
		t.Errorf("template change: %q", got)
	}
	if !strings.Contains(jobHooks.Validate(nj, j)[0].Error(), "field is immutable") {
		t.Error("template change is not reported as immutable")
	}
}

func TestCronJobValidation(t *testing.T) {
	cj := func(schedule string, mut func(*batchv1.CronJob)) *batchv1.CronJob {
		c := &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Name: "hello"}, Spec: batchv1.CronJobSpec{Schedule: schedule,
			JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: job(nil).Spec.Template}}}}
		if mut != nil {
			mut(c)
		}
		return c
	}
	tz := func(z string) func(*batchv1.CronJob) { return func(c *batchv1.CronJob) { c.Spec.TimeZone = &z } }
	cases := []struct {
		name string
		obj  *batchv1.CronJob
		want string
	}{
		{"valid", cj("*/1 * * * *", nil), ""},
		{"descriptor", cj("@hourly", tz("Europe/Berlin")), ""},
		{"no schedule", cj("", nil), "spec.schedule: Required value"},
		{"bad schedule", cj("every minute", nil), "spec.schedule: Invalid value"},
		{"TZ in schedule", cj("TZ=UTC 0 * * * *", nil), "spec.schedule: Invalid value"},
		{"bad zone", cj("0 * * * *", tz("Mars/Olympus")), "spec.timeZone: Invalid value"},
		{"bad policy", cj("0 * * * *", func(c *batchv1.CronJob) { c.Spec.ConcurrencyPolicy = "Sometimes" }), "spec.concurrencyPolicy: Unsupported value"},
		{"selector", cj("0 * * * *", func(c *batchv1.CronJob) { c.Spec.JobTemplate.Spec.Selector = &metav1.LabelSelector{} }),
			"spec.jobTemplate.spec.selector: Invalid value"},
		{"template restart", cj("0 * * * *", func(c *batchv1.CronJob) { c.Spec.JobTemplate.Spec.Template.Spec.RestartPolicy = "" }),
			"spec.jobTemplate.spec.template.spec.restartPolicy: Required value"},
		{"long name", cj("0 * * * *", func(c *batchv1.CronJob) { c.Name = strings.Repeat("a", 53) }), "metadata.name: Invalid value"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cronJobHooks.PrepareCreate(c.obj)
			if got := fieldtest.Paths(cronJobHooks.Validate(c.obj, nil)); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
	c := cj("0 * * * *", nil)
	cronJobHooks.PrepareCreate(c)
	if c.Spec.ConcurrencyPolicy != batchv1.AllowConcurrent || *c.Spec.Suspend || *c.Spec.SuccessfulJobsHistoryLimit != 3 ||
		*c.Spec.FailedJobsHistoryLimit != 1 || c.Spec.JobTemplate.Spec.Template.Spec.SchedulerName != "default-scheduler" {
		t.Errorf("defaults: %+v", c.Spec)
	}
}
