package e2e

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestLimitRanger: a namespace's LimitRange gives new pods' containers
// their default requests and limits (and says so in an annotation), and
// refuses containers and claims outside its bounds, with kube-apiserver's
// messages.
func TestLimitRanger(t *testing.T) {
	k := startKapi(t)
	ctx := context.Background()
	e := &webhookEnv{t: t, k: k}
	e.namespace(t, "limits")
	q := resource.MustParse
	if _, err := k.client.CoreV1().LimitRanges("limits").Create(ctx, &corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Name: "bounds"},
		Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{
			{Type: corev1.LimitTypeContainer, Default: corev1.ResourceList{corev1.ResourceCPU: q("500m")}, DefaultRequest: corev1.ResourceList{corev1.ResourceCPU: q("100m")},
				Max: corev1.ResourceList{corev1.ResourceCPU: q("1")}, MaxLimitRequestRatio: corev1.ResourceList{corev1.ResourceCPU: q("10")}},
			{Type: corev1.LimitTypePersistentVolumeClaim, Min: corev1.ResourceList{corev1.ResourceStorage: q("1Gi")}},
		}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pods := k.client.CoreV1().Pods("limits")
	var got *corev1.Pod
	settle(t, "the LimitRange", func() bool {
		pods.Delete(ctx, "plain", metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(0))})
		var err error
		got, err = pods.Create(ctx, pod("plain", nil), metav1.CreateOptions{})
		return err == nil && got.Annotations["kubernetes.io/limit-ranger"] != ""
	})
	res := got.Spec.Containers[0].Resources
	if res.Requests.Cpu().String() != "100m" || res.Limits.Cpu().String() != "500m" ||
		got.Annotations["kubernetes.io/limit-ranger"] != "LimitRanger plugin set: cpu request for container c; cpu limit for container c" {
		t.Fatalf("defaults: %+v, annotation %q", res, got.Annotations["kubernetes.io/limit-ranger"])
	}
	big := pod("big", corev1.ResourceList{corev1.ResourceCPU: q("100m")})
	big.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceCPU: q("2")}
	_, err := pods.Create(ctx, big, metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `pods "big" is forbidden: [maximum cpu usage per Container is 1, but limit is 2, cpu max limit to request ratio per Container is 10, but provided ratio is 20.000000]`) {
		t.Fatalf("a container beyond the maximum: %v", err)
	}
	_, err = k.client.CoreV1().PersistentVolumeClaims("limits").Create(ctx, &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "small"},
		Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: q("500Mi")}}}}, metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "minimum storage usage per PersistentVolumeClaim is 1Gi, but request is 500Mi") {
		t.Fatalf("a claim below the minimum: %v", err)
	}
}
