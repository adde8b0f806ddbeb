package batch

import (
	"reflect"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestJobAndCronJobTables(t *testing.T) {
	now := time.Date(2026, 5, 6, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *metav1.Time { v := metav1.NewTime(now.Add(-d)); return v.DeepCopy() }
	three, four := int32(3), int32(4)
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "pi", CreationTimestamp: *at(10 * time.Minute)},
		Spec: batchv1.JobSpec{Completions: &three, Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "pi", Image: "perl"}}}}},
		Status: batchv1.JobStatus{Succeeded: 3, StartTime: at(10 * time.Minute), CompletionTime: at(8 * time.Minute),
			Conditions: []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}}},
	}
	var jobs, cronjobs = Resources()[1], Resources()[0]
	want := []interface{}{"pi", "Complete", "3/3", "2m", "10m", "pi", "perl", "<none>"}
	if got := jobs.TableRow(job, now); !reflect.DeepEqual(got, want) {
		t.Errorf("job\n got %#v\nwant %#v", got, want)
	}
	job.Spec.Completions, job.Spec.Parallelism = nil, &four
	job.Status = batchv1.JobStatus{Succeeded: 1, StartTime: at(90 * time.Second)}
	if got := jobs.TableRow(job, now)[1:4]; !reflect.DeepEqual(got, []interface{}{"Running", "1/1 of 4", "90s"}) {
		t.Errorf("running job: %#v", got)
	}

	yes, tz := true, "Europe/Paris"
	cj := &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: "nightly", CreationTimestamp: *at(72 * time.Hour)},
		Spec:       batchv1.CronJobSpec{Schedule: "0 3 * * *", TimeZone: &tz, Suspend: &yes},
		Status:     batchv1.CronJobStatus{LastScheduleTime: at(9 * time.Hour), Active: []corev1.ObjectReference{{Name: "nightly-1"}}},
	}
	want = []interface{}{"nightly", "0 3 * * *", "Europe/Paris", "True", int64(1), "9h", "3d", "", "", "<none>"}
	if got := cronjobs.TableRow(cj, now); !reflect.DeepEqual(got, want) {
		t.Errorf("cronjob\n got %#v\nwant %#v", got, want)
	}
}
