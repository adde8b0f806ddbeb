package e2e

import (
	"context"
	"net/http"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// causes returns the field paths of an Invalid error's causes.
func causes(t *testing.T, err error) map[string]metav1.CauseType {
	t.Helper()
	if !apierrors.IsInvalid(err) {
		t.Fatalf("want 422 Invalid, got %v", err)
	}
	out := map[string]metav1.CauseType{}
	for _, c := range err.(apierrors.APIStatus).Status().Details.Causes {
		out[c.Field] = c.Type
	}
	return out
}

// TestTypeValidation: invalid workloads get 422 with kube-apiserver's
// field paths, defaults appear on what is stored, and immutable fields stay.
func TestTypeValidation(t *testing.T) {
	k := startKapi(t)
	ctx := context.Background()
	c := k.client

	labels := map[string]string{"app": "web"}
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: appsv1.DeploymentSpec{
		Selector: &metav1.LabelSelector{MatchLabels: labels},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "nginx"}}}}}}
	_, err := c.AppsV1().Deployments("default").Create(ctx, dep, metav1.CreateOptions{})
	if got := causes(t, err); got["spec.template.spec.containers[0].image"] != metav1.CauseTypeFieldValueRequired {
		t.Errorf("deployment without image: %v", got)
	}

	dep.Spec.Template.Spec.Containers[0].Image = "nginx"
	dep.Spec.Template.Labels = map[string]string{"app": "db"}
	_, err = c.AppsV1().Deployments("default").Create(ctx, dep, metav1.CreateOptions{})
	if got := causes(t, err); got["spec.template.metadata.labels"] != metav1.CauseTypeFieldValueInvalid {
		t.Errorf("selector mismatch: %v", got)
	}

	dep.Spec.Template.Labels = labels
	out, err := c.AppsV1().Deployments("default").Create(ctx, dep, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *out.Spec.Replicas != 1 || out.Spec.Strategy.RollingUpdate.MaxSurge.String() != "25%" ||
		out.Spec.Template.Spec.Containers[0].TerminationMessagePath != "/dev/termination-log" ||
		out.Spec.Template.Spec.Containers[0].ImagePullPolicy != corev1.PullAlways {
		t.Errorf("deployment defaults: %+v", out.Spec)
	}

	// Admission (the namespace's default ServiceAccount) before validation.
	k.waitDefaultServiceAccount(t, "default")
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: corev1.PodSpec{Containers: []corev1.Container{
		{Name: "c", Image: "x", Ports: []corev1.ContainerPort{{ContainerPort: 70000}}}, {Name: "c", Image: "y"}}}}
	_, err = c.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{})
	got := causes(t, err)
	if got["spec.containers[0].ports[0].containerPort"] != metav1.CauseTypeFieldValueInvalid ||
		got["spec.containers[1].name"] != metav1.CauseTypeFieldValueDuplicate {
		t.Errorf("pod: %v", got)
	}

	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "pi"}, Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{
		Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "pi", Image: "perl"}}}}}}
	job, err = c.BatchV1().Jobs("default").Create(ctx, job, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *job.Spec.BackoffLimit != 6 || job.Spec.Selector.MatchLabels[batchv1.ControllerUidLabel] != string(job.UID) {
		t.Errorf("job defaults: %+v", job.Spec)
	}
	job.Spec.Template.Spec.Containers[0].Image = "perl:2"
	_, err = c.BatchV1().Jobs("default").Update(ctx, job, metav1.UpdateOptions{})
	if got := causes(t, err); got["spec.template"] != metav1.CauseTypeFieldValueInvalid {
		t.Errorf("job template change: %v", got)
	}

	cj := &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Name: "cj"}, Spec: batchv1.CronJobSpec{Schedule: "not a schedule",
		JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: job.Spec.Template}}}}
	cj.Spec.JobTemplate.Spec.Template.Labels = nil
	_, err = c.BatchV1().CronJobs("default").Create(ctx, cj, metav1.CreateOptions{})
	if got := causes(t, err); got["spec.schedule"] != metav1.CauseTypeFieldValueInvalid {
		t.Errorf("cron job: %v", got)
	}

	yes := true
	cm, err := c.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "frozen"},
		Data: map[string]string{"k": "v"}, Immutable: &yes}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cm.Data["k"] = "w"
	_, err = c.CoreV1().ConfigMaps("default").Update(ctx, cm, metav1.UpdateOptions{})
	if got := causes(t, err); got["data"] != metav1.CauseTypeForbidden {
		t.Errorf("immutable config map: %v", got)
	}

	rb, err := c.RbacV1().RoleBindings("default").Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "rb"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
		Subjects: []rbacv1.Subject{{Kind: "User", Name: "alice"}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rb.Subjects[0].APIGroup != rbacv1.GroupName {
		t.Errorf("subject apiGroup not defaulted: %+v", rb.Subjects)
	}
	rb.RoleRef.Name = "edit"
	_, err = c.RbacV1().RoleBindings("default").Update(ctx, rb, metav1.UpdateOptions{})
	if got := causes(t, err); got["roleRef"] != metav1.CauseTypeFieldValueInvalid {
		t.Errorf("roleRef change: %v", got)
	}
}

// TestFieldSelectors: pods by status.phase and spec.nodeName, an empty
// value still selectable, and an unsupported field a 400.
func TestFieldSelectors(t *testing.T) {
	k := startKapi(t)
	ctx := context.Background()
	pods := k.client.CoreV1().Pods("default")
	for _, p := range []struct{ name, node string }{{"a", "n1"}, {"b", "n2"}, {"c", ""}} {
		_, err := pods.Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: p.name},
			Spec: corev1.PodSpec{NodeName: p.node, Containers: []corev1.Container{{Name: "c", Image: "x"}}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
	}
	b, err := pods.Get(ctx, "b", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b.Status.Phase = corev1.PodRunning
	if _, err := pods.UpdateStatus(ctx, b, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	names := func(sel string) []string {
		list, err := pods.List(ctx, metav1.ListOptions{FieldSelector: sel})
		if err != nil {
			t.Fatalf("%s: %v", sel, err)
		}
		var out []string
		for _, p := range list.Items {
			out = append(out, p.Name)
		}
		return out
	}
	for sel, want := range map[string]string{
		"status.phase=Running":                   "b",
		"status.phase=Pending":                   "a,c",
		"spec.nodeName=n1":                       "a",
		"spec.nodeName=":                         "c",
		"spec.nodeName!=n1,status.phase=Pending": "c",
		"spec.schedulerName=default-scheduler":   "a,b,c",
	} {
		got := ""
		for i, n := range names(sel) {
			if i > 0 {
				got += ","
			}
			got += n
		}
		if got != want {
			t.Errorf("%s: got %q, want %q", sel, got, want)
		}
	}
	code, st, _ := k.do(t, "GET", "/api/v1/namespaces/default/pods?fieldSelector=spec.image%3Dx", "", nil)
	if code != http.StatusBadRequest || st == nil || st.Message != "field label not supported: spec.image" {
		t.Errorf("unsupported field: %d %+v", code, st)
	}
	if _, err := k.client.CoreV1().Secrets("default").List(ctx, metav1.ListOptions{FieldSelector: "type=Opaque"}); err != nil {
		t.Errorf("secrets by type: %v", err)
	}
	if _, err := k.client.CoreV1().Events("default").List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.kind=Pod,reason="}); err != nil {
		t.Errorf("events by involvedObject: %v", err)
	}
	// events.k8s.io names them after its own fields, as kube converts them
	// (TestFieldLabelConversions).
	if _, err := k.client.EventsV1().Events("default").List(ctx, metav1.ListOptions{FieldSelector: "regarding.name=a"}); err != nil {
		t.Errorf("events.k8s.io by regarding: %v", err)
	}
}
