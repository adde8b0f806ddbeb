package quota

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// TestPodUsageDuringResize: a pod whose resize to less cpu its kubelet
// has not applied yet counts what the kubelet reports, the larger; once
// applied, what its spec asks.
func TestPodUsageDuringResize(t *testing.T) {
	cpu := func(v string) corev1.ResourceList {
		return corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(v)}
	}
	pod := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c",
		Resources: corev1.ResourceRequirements{Requests: cpu("500m"), Limits: cpu("500m")}}}},
		Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{Name: "c",
			Resources: &corev1.ResourceRequirements{Requests: cpu("2"), Limits: cpu("2")}}}}}
	for _, c := range []struct{ status, want string }{{"2", "2"}, {"500m", "500m"}} {
		pod.Status.ContainerStatuses[0].Resources = &corev1.ResourceRequirements{Requests: cpu(c.status), Limits: cpu(c.status)}
		out := corev1.ResourceList{}
		podUsage(pod, out)
		for _, name := range []corev1.ResourceName{"requests.cpu", "cpu", "limits.cpu"} {
			if q := out[name]; q.String() != c.want {
				t.Errorf("kubelet reports %s: %s %s, want %s", c.status, name, q.String(), c.want)
			}
		}
	}
}
