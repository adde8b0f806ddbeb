package e2e

import (
	"context"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A pod, and a Deployment's pod template, whose container requests more
// cpu than its limit are refused with kube-apiserver's 422 and message;
// so are a negative quantity and a name no container can have. A valid
// pod is created.
func TestPodResourcesValidation(t *testing.T) {
	k := startKapi(t, withoutLoops(rootCAPublisher))
	ns := gcNamespace(t, k, "res")
	ctx := context.Background()
	list := func(kv ...string) corev1.ResourceList {
		l := corev1.ResourceList{}
		for i := 0; i < len(kv); i += 2 {
			l[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
		}
		return l
	}
	spec := func(r corev1.ResourceRequirements) corev1.PodSpec {
		return corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox", Resources: r}}}
	}
	above := corev1.ResourceRequirements{Requests: list("cpu", "2"), Limits: list("cpu", "1")}
	const msg = `spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1`

	check := func(t *testing.T, err error, want string, causes ...metav1.StatusCause) {
		t.Helper()
		if !apierrors.IsInvalid(err) {
			t.Fatalf("got %v, want 422 Invalid", err)
		}
		if err.Error() != want {
			t.Errorf("message\n%s\nwant\n%s", err.Error(), want)
		}
		got := err.(apierrors.APIStatus).Status()
		if got.Code != 422 || got.Details == nil || len(got.Details.Causes) != len(causes) {
			t.Fatalf("status %+v, want causes %+v", got, causes)
		}
		for i, c := range causes {
			if got.Details.Causes[i] != c {
				t.Errorf("cause %d: %+v, want %+v", i, got.Details.Causes[i], c)
			}
		}
	}

	t.Run("pod", func(t *testing.T) {
		_, err := k.client.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "above"}, Spec: spec(above)}, metav1.CreateOptions{})
		check(t, err, `Pod "above" is invalid: `+msg, metav1.StatusCause{Type: metav1.CauseTypeFieldValueInvalid,
			Message: `Invalid value: "2": must be less than or equal to cpu limit of 1`, Field: "spec.containers[0].resources.requests"})
	})

	t.Run("pod with several errors", func(t *testing.T) {
		_, err := k.client.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "several"},
			Spec: spec(corev1.ResourceRequirements{Requests: list("cpu", "-1", "foo", "1", "example.com/gpu", "500m"), Limits: list("example.com/gpu", "500m")})},
			metav1.CreateOptions{})
		const p = "spec.containers[0].resources."
		check(t, err, `Pod "several" is invalid: [`+
			p+`limits[example.com/gpu]: Invalid value: "500m": must be an integer, `+
			p+`requests[cpu]: Invalid value: "-1": must be greater than or equal to 0, `+
			p+`requests[example.com/gpu]: Invalid value: "500m": must be an integer, `+
			p+`requests[foo]: Invalid value: "foo": must be a standard resource type or fully qualified, `+
			p+`requests[foo]: Invalid value: "foo": must be a standard resource for containers]`,
			metav1.StatusCause{Type: metav1.CauseTypeFieldValueInvalid, Message: `Invalid value: "500m": must be an integer`, Field: p + "limits[example.com/gpu]"},
			metav1.StatusCause{Type: metav1.CauseTypeFieldValueInvalid, Message: `Invalid value: "-1": must be greater than or equal to 0`, Field: p + "requests[cpu]"},
			metav1.StatusCause{Type: metav1.CauseTypeFieldValueInvalid, Message: `Invalid value: "500m": must be an integer`, Field: p + "requests[example.com/gpu]"},
			metav1.StatusCause{Type: metav1.CauseTypeFieldValueInvalid, Message: `Invalid value: "foo": must be a standard resource type or fully qualified`, Field: p + "requests[foo]"},
			metav1.StatusCause{Type: metav1.CauseTypeFieldValueInvalid, Message: `Invalid value: "foo": must be a standard resource for containers`, Field: p + "requests[foo]"},
		)
	})

	t.Run("pod-level", func(t *testing.T) {
		s := spec(corev1.ResourceRequirements{Requests: list("cpu", "1500m")})
		s.Resources = &corev1.ResourceRequirements{Requests: list("cpu", "1"), Limits: list("cpu", "2")}
		_, err := k.client.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "podlevel"}, Spec: s}, metav1.CreateOptions{})
		check(t, err, `Pod "podlevel" is invalid: spec.resources.requests[cpu]: Invalid value: "1": must be greater than or equal to aggregate container requests of 1500m`,
			metav1.StatusCause{Type: metav1.CauseTypeFieldValueInvalid,
				Message: `Invalid value: "1": must be greater than or equal to aggregate container requests of 1500m`, Field: "spec.resources.requests[cpu]"})
	})

	t.Run("deployment", func(t *testing.T) {
		one := int32(1)
		labels := map[string]string{"app": "web"}
		_, err := k.client.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "above"},
			Spec: appsv1.DeploymentSpec{Replicas: &one, Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: spec(above)}}}, metav1.CreateOptions{})
		check(t, err, `Deployment.apps "above" is invalid: spec.template.`+msg, metav1.StatusCause{Type: metav1.CauseTypeFieldValueInvalid,
			Message: `Invalid value: "2": must be less than or equal to cpu limit of 1`, Field: "spec.template.spec.containers[0].resources.requests"})
	})

	t.Run("valid", func(t *testing.T) {
		if _, err := k.client.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "ok"},
			Spec: spec(corev1.ResourceRequirements{Requests: list("cpu", "500m", "memory", "64Mi"), Limits: list("cpu", "1", "example.com/gpu", "1")})},
			metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	})
}
