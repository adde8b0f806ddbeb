package e2e

import (
	"context"
	"net/http"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/server"
)

// TestAllowPrivileged: with kube-apiserver's default
// (--allow-privileged=false) a privileged Pod, a Deployment whose
// template has a privileged init container, and a privileged ephemeral
// container added to a pod are refused with kube's 422 and nothing is
// stored; unprivileged ones are created. With AllowPrivileged the
// privileged ones are created.
func TestAllowPrivileged(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const ns = "default"
	privilegedPod := func(name string, privileged bool) *corev1.Pod {
		p := pod(name, nil)
		p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: &privileged}
		return p
	}
	privilegedDeployment := func(name string, privileged bool) *appsv1.Deployment {
		d := deployment(name, 1, nil)
		d.Spec.Template.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "busybox",
			SecurityContext: &corev1.SecurityContext{Privileged: &privileged}}}
		return d
	}
	invalid := func(what string, err error, want, path string) {
		t.Helper()
		status, ok := err.(apierrors.APIStatus)
		if !ok || !apierrors.IsInvalid(err) || status.Status().Code != http.StatusUnprocessableEntity || err.Error() != want {
			t.Fatalf("%s: %v\nwant the 422 %s", what, err, want)
		}
		causes := status.Status().Details.Causes
		if len(causes) != 1 || causes[0].Field != path || causes[0].Type != metav1.CauseType(field.ErrorTypeForbidden) {
			t.Errorf("%s: causes %+v", what, causes)
		}
	}

	k := startKapi(t)
	k.waitDefaultServiceAccount(t, ns)
	pods, deployments := k.client.CoreV1().Pods(ns), k.client.AppsV1().Deployments(ns)

	_, err := pods.Create(ctx, privilegedPod("p", true), metav1.CreateOptions{})
	invalid("a privileged pod", err, `Pod "p" is invalid: spec.containers[0].securityContext.privileged: Forbidden: disallowed by cluster policy`,
		"spec.containers[0].securityContext.privileged")
	if _, err := pods.Get(ctx, "p", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the refused pod: %v", err)
	}
	_, err = deployments.Create(ctx, privilegedDeployment("d", true), metav1.CreateOptions{})
	invalid("a privileged deployment", err,
		`Deployment.apps "d" is invalid: spec.template.spec.initContainers[0].securityContext.privileged: Forbidden: disallowed by cluster policy`,
		"spec.template.spec.initContainers[0].securityContext.privileged")
	if _, err := deployments.Get(ctx, "d", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the refused deployment: %v", err)
	}

	// Unprivileged ones are created, privileged: false as well.
	u, err := pods.Create(ctx, privilegedPod("u", false), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("an unprivileged pod: %v", err)
	}
	if _, err := pods.Create(ctx, pod("plain", nil), metav1.CreateOptions{}); err != nil {
		t.Fatalf("a pod without a security context: %v", err)
	}
	if _, err := deployments.Create(ctx, privilegedDeployment("u", false), metav1.CreateOptions{}); err != nil {
		t.Fatalf("an unprivileged deployment: %v", err)
	}

	// Nor can an update make the pod's template privileged, nor a
	// privileged ephemeral container be added (kubectl debug --profile=sysadmin).
	d, err := deployments.Get(ctx, "u", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d.Spec.Template.Spec.InitContainers[0].SecurityContext.Privileged = ptr(true)
	_, err = deployments.Update(ctx, d, metav1.UpdateOptions{})
	invalid("an update of a deployment", err,
		`Deployment.apps "u" is invalid: spec.template.spec.initContainers[0].securityContext.privileged: Forbidden: disallowed by cluster policy`,
		"spec.template.spec.initContainers[0].securityContext.privileged")
	u.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
		Name: "debug", Image: "busybox", TerminationMessagePolicy: corev1.TerminationMessageReadFile, ImagePullPolicy: corev1.PullIfNotPresent,
		SecurityContext: &corev1.SecurityContext{Privileged: ptr(true)}}}}
	_, err = pods.UpdateEphemeralContainers(ctx, "u", u, metav1.UpdateOptions{})
	invalid("a privileged ephemeral container", err,
		`Pod "u" is invalid: spec.ephemeralContainers[0].securityContext.privileged: Forbidden: disallowed by cluster policy`,
		"spec.ephemeralContainers[0].securityContext.privileged")
	if got, err := pods.Get(ctx, "u", metav1.GetOptions{}); err != nil || len(got.Spec.EphemeralContainers) != 0 {
		t.Errorf("the pod after the refused ephemeral container: %v", err)
	}

	// --allow-privileged: all are created.
	k = startKapi(t, func(c *server.Config) { c.AllowPrivileged = true })
	k.waitDefaultServiceAccount(t, ns)
	pods, deployments = k.client.CoreV1().Pods(ns), k.client.AppsV1().Deployments(ns)
	if _, err := pods.Create(ctx, privilegedPod("p", true), metav1.CreateOptions{}); err != nil {
		t.Fatalf("a privileged pod with AllowPrivileged: %v", err)
	}
	if _, err := deployments.Create(ctx, privilegedDeployment("d", true), metav1.CreateOptions{}); err != nil {
		t.Fatalf("a privileged deployment with AllowPrivileged: %v", err)
	}
	u, err = pods.Create(ctx, privilegedPod("u", false), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	u.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
		Name: "debug", Image: "busybox", TerminationMessagePolicy: corev1.TerminationMessageReadFile, ImagePullPolicy: corev1.PullIfNotPresent,
		SecurityContext: &corev1.SecurityContext{Privileged: ptr(true)}}}}
	if _, err := pods.UpdateEphemeralContainers(ctx, "u", u, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("a privileged ephemeral container with AllowPrivileged: %v", err)
	}
}
