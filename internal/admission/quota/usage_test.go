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

// TestClaimStorageUsage: a claim counts its storage request, or what
// its status says was allocated when that is more (kube's
// getStorageUsage), in whole bytes.
func TestClaimStorageUsage(t *testing.T) {
	gold := "gold"
	c := &corev1.PersistentVolumeClaim{Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: &gold,
		Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}}}
	wants(t, "a request", Usage(volumeClaimsRow, c), "count/persistentvolumeclaims=1", "persistentvolumeclaims=1",
		"requests.storage=1Gi", "gold.storageclass.storage.k8s.io/persistentvolumeclaims=1",
		"gold.storageclass.storage.k8s.io/requests.storage=1Gi")
	c.Status.AllocatedResources = corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("2Gi")}
	wants(t, "more allocated", Usage(volumeClaimsRow, c), "count/persistentvolumeclaims=1", "persistentvolumeclaims=1",
		"requests.storage=2Gi", "gold.storageclass.storage.k8s.io/persistentvolumeclaims=1",
		"gold.storageclass.storage.k8s.io/requests.storage=2Gi")
	c.Status.AllocatedResources = corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("512Mi")}
	c.Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("1500m")
	if q := Usage(volumeClaimsRow, c)[corev1.ResourceRequestsStorage]; q.Cmp(resource.MustParse("512Mi")) != 0 {
		t.Errorf("less requested than allocated: requests.storage %s, want 512Mi", q.String())
	}
	c.Status.AllocatedResources = nil
	if q := Usage(volumeClaimsRow, c)[corev1.ResourceRequestsStorage]; q.Cmp(resource.MustParse("2")) != 0 {
		t.Errorf("a request of 1500m bytes: requests.storage %s, want 2", q.String())
	}
}

// TestTerminalPodUsage: a pod that has ended counts in count/pods only,
// as kube's PodUsageFunc.
func TestTerminalPodUsage(t *testing.T) {
	cpu := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}
	pod := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Resources: corev1.ResourceRequirements{Requests: cpu}}}},
		Status: corev1.PodStatus{Phase: corev1.PodSucceeded}}
	got := usage(podsRow, pod)
	if len(got) != 1 || got["count/pods"] != resource.MustParse("1") {
		t.Errorf("a succeeded pod uses %v, want count/pods 1 alone", got)
	}
	pod.Status.Phase = corev1.PodRunning
	if got := usage(podsRow, pod); got[corev1.ResourcePods] != resource.MustParse("1") || got[corev1.ResourceRequestsCPU] != resource.MustParse("1") {
		t.Errorf("a running pod uses %v", got)
	}
}
