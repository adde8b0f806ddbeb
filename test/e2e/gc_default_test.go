package e2e

import (
	"context"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestGCDefaultPolicies checks what a delete that names no propagation
// policy does, kind by kind, as kube's DefaultGarbageCollectionPolicy: a
// v1 ReplicationController and a batch/v1 Job orphan their pods (the Job's
// delete warns so), a CronJob's Jobs go in the background, and an Event
// takes no collector's finalizer even when asked to orphan.
func TestGCDefaultPolicies(t *testing.T) {
	t.Parallel()
	k := startKapi(t)
	ctx := context.Background()

	t.Run("ReplicationController", func(t *testing.T) {
		t.Parallel()
		ns := gcNamespace(t, k, "gc-default-rc")
		rc, pods := gcOwnedRC(t, k, ns, "web", 2, 0)
		if err := k.client.CoreV1().ReplicationControllers(ns).Delete(ctx, rc.Name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		gcWaitGone(t, "the rc", func() error {
			_, err := k.client.CoreV1().ReplicationControllers(ns).Get(ctx, rc.Name, metav1.GetOptions{})
			return err
		})
		gcExpectOrphans(t, k, ns, len(pods))
	})

	t.Run("Job", func(t *testing.T) {
		t.Parallel()
		ns := gcNamespace(t, k, "gc-default-job")
		job := defaultPolicyJob(t, k, ns, "batch")
		gcPods(t, k, ns, "batch", 2, nil, nil, gcOwner("batch/v1", "Job", job))
		res := k.client.BatchV1().RESTClient().Delete().Namespace(ns).Resource("jobs").Name(job.Name).
			Body(&metav1.DeleteOptions{}).Do(ctx)
		if err := res.Error(); err != nil {
			t.Fatal(err)
		}
		var warned bool
		for _, w := range res.Warnings() {
			warned = warned || strings.HasPrefix(w.Text, "child pods are preserved by default when jobs are deleted;")
		}
		if !warned {
			t.Errorf("warnings %v, want kube's about the preserved pods", res.Warnings())
		}
		gcWaitGone(t, "the job", func() error {
			_, err := k.client.BatchV1().Jobs(ns).Get(ctx, job.Name, metav1.GetOptions{})
			return err
		})
		gcExpectOrphans(t, k, ns, 2)

		// An explicit policy is obeyed, and not warned about.
		bg := metav1.DeletePropagationBackground
		job = defaultPolicyJob(t, k, ns, "batch-bg")
		gcPods(t, k, ns, "batch-bg", 1, nil, nil, gcOwner("batch/v1", "Job", job))
		res = k.client.BatchV1().RESTClient().Delete().Namespace(ns).Resource("jobs").Name(job.Name).
			Body(&metav1.DeleteOptions{PropagationPolicy: &bg}).Do(ctx)
		if err := res.Error(); err != nil || len(res.Warnings()) != 0 {
			t.Fatalf("a background delete of a job: %v, warnings %v", err, res.Warnings())
		}
		if err := waitUntil(gcWait, func() bool {
			_, err := k.client.CoreV1().Pods(ns).Get(ctx, "batch-bg-0", metav1.GetOptions{})
			return apierrors.IsNotFound(err)
		}); err != nil {
			t.Fatal("the pod of a job deleted in the background stayed")
		}
	})

	t.Run("CronJob", func(t *testing.T) {
		t.Parallel()
		ns := gcNamespace(t, k, "gc-default-cronjob")
		cj, err := k.client.BatchV1().CronJobs(ns).Create(ctx, &batchv1.CronJob{
			ObjectMeta: metav1.ObjectMeta{Name: "nightly"},
			Spec: batchv1.CronJobSpec{Schedule: "0 0 * * *", Suspend: ptr(true),
				JobTemplate: batchv1.JobTemplateSpec{Spec: defaultPolicyJobSpec()}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "nightly-1",
			OwnerReferences: []metav1.OwnerReference{gcOwner("batch/v1", "CronJob", cj)}}, Spec: defaultPolicyJobSpec()}
		if _, err := k.client.BatchV1().Jobs(ns).Create(ctx, job, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := k.client.BatchV1().CronJobs(ns).Delete(ctx, cj.Name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := k.client.BatchV1().CronJobs(ns).Get(ctx, cj.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Fatalf("the cronjob after a delete: %v, want NotFound at once", err)
		}
		gcWaitGone(t, "the cronjob's job", func() error {
			_, err := k.client.BatchV1().Jobs(ns).Get(ctx, job.Name, metav1.GetOptions{})
			return err
		})
	})

	t.Run("Event", func(t *testing.T) {
		t.Parallel()
		ns := gcNamespace(t, k, "gc-default-event")
		ev, err := k.client.CoreV1().Events(ns).Create(ctx, &corev1.Event{
			ObjectMeta:     metav1.ObjectMeta{Name: "started"},
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: "web"},
			Reason:         "Started", Message: "started", Type: corev1.EventTypeNormal,
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		orphan := metav1.DeletePropagationOrphan
		if err := k.client.CoreV1().Events(ns).Delete(ctx, ev.Name, metav1.DeleteOptions{PropagationPolicy: &orphan}); err != nil {
			t.Fatal(err)
		}
		if got, err := k.client.CoreV1().Events(ns).Get(ctx, ev.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Fatalf("an event deleted with propagationPolicy=Orphan: %v %v, want NotFound at once", err, got)
		}
	})
}

// defaultPolicyJobSpec is a suspended Job's spec: nothing runs it.
func defaultPolicyJobSpec() batchv1.JobSpec {
	return batchv1.JobSpec{Suspend: ptr(true), Template: corev1.PodTemplateSpec{
		Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}}
}

func defaultPolicyJob(t *testing.T, k *kapi, ns, name string) *batchv1.Job {
	t.Helper()
	job, err := k.client.BatchV1().Jobs(ns).Create(context.Background(),
		&batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: defaultPolicyJobSpec()}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return job
}
