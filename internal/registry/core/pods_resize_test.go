package core

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// podLevel are pod-level resources of a Guaranteed pod with cpu cpu.
func podLevel(cpu string) *corev1.ResourceRequirements {
	l := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse("1Gi")}
	return &corev1.ResourceRequirements{Requests: l, Limits: l.DeepCopy()}
}

func resources(requests, limits map[corev1.ResourceName]string) corev1.ResourceRequirements {
	list := func(m map[corev1.ResourceName]string) corev1.ResourceList {
		if m == nil {
			return nil
		}
		l := corev1.ResourceList{}
		for n, q := range m {
			l[n] = resource.MustParse(q)
		}
		return l
	}
	return corev1.ResourceRequirements{Requests: list(requests), Limits: list(limits)}
}

// resizeErrors renders errors as kube's aggregate does: "path: detail".
func resizeErrors(errs field.ErrorList) string {
	if len(errs) == 0 {
		return ""
	}
	return errs.ToAggregate().Error()
}

// A resize write keeps the stored pod but for its containers' resources
// and resize policies and pod-level resources; its checks are kube's
// ValidatePodResize, with kube's messages.
func TestPodResize(t *testing.T) {
	cpu := func(req, lim string) corev1.ResourceRequirements {
		return resources(map[corev1.ResourceName]string{corev1.ResourceCPU: req, corev1.ResourceMemory: "128Mi"},
			map[corev1.ResourceName]string{corev1.ResourceCPU: lim, corev1.ResourceMemory: "128Mi"})
	}
	stored := func(mut ...func(*corev1.Pod)) *corev1.Pod {
		p := pod(func(p *corev1.Pod) {
			p.Labels = map[string]string{"app": "web"}
			p.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "busybox", Resources: cpu("100m", "100m")}}
			p.Spec.Containers[0].Resources = cpu("500m", "500m")
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "side", Image: "busybox", Resources: cpu("100m", "100m")})
		})
		podHooks.PrepareCreate(p)
		p.Generation = 1
		for _, m := range mut {
			m(p)
		}
		return p
	}
	// write runs the resize as the store does: Write, the row's
	// PrepareForUpdate, then the subresource's validation.
	write := func(old *corev1.Pod, mut func(*corev1.Pod)) (*corev1.Pod, string) {
		in := old.DeepCopy()
		mut(in)
		out, err := Resize.Write(nil, in, old)
		if err != nil {
			t.Fatal(err)
		}
		podHooks.PrepareUpdate(out, old)
		return out.(*corev1.Pod), resizeErrors(Resize.Validate(out, old))
	}

	old := stored()
	if old.Status.QOSClass != corev1.PodQOSGuaranteed {
		t.Fatalf("qos %q", old.Status.QOSClass)
	}
	// Resources change; the rest of the request is dropped.
	out, errs := write(old, func(p *corev1.Pod) {
		p.Spec.Containers[0].Resources = cpu("1", "1")
		p.Spec.InitContainers[0].Resources = cpu("200m", "200m")
		p.Spec.Containers[0].Image = "nginx:1.28"
		p.Spec.ActiveDeadlineSeconds = new(int64)
		p.Labels = map[string]string{"app": "db"}
		p.Status.Phase = corev1.PodRunning
	})
	if errs != "" {
		t.Fatalf("resize: %s", errs)
	}
	if q := out.Spec.Containers[0].Resources.Limits[corev1.ResourceCPU]; q.String() != "1" {
		t.Errorf("cpu limit %s", q.String())
	}
	if q := out.Spec.InitContainers[0].Resources.Requests[corev1.ResourceCPU]; q.String() != "200m" {
		t.Errorf("init container cpu request %s", q.String())
	}
	if out.Spec.Containers[0].Image != "nginx:1.27" || out.Spec.ActiveDeadlineSeconds != nil || out.Labels["app"] != "web" || out.Status.Phase != corev1.PodPending {
		t.Errorf("resize kept more than resources: image %q, deadline %v, labels %v, phase %q",
			out.Spec.Containers[0].Image, out.Spec.ActiveDeadlineSeconds, out.Labels, out.Status.Phase)
	}
	// Limits alone: requests default from them.
	out, errs = write(old, func(p *corev1.Pod) {
		p.Spec.Containers[0].Resources = resources(nil, map[corev1.ResourceName]string{corev1.ResourceCPU: "2", corev1.ResourceMemory: "256Mi"})
	})
	if q := out.Spec.Containers[0].Resources.Requests[corev1.ResourceCPU]; errs != "" || q.String() != "2" {
		t.Errorf("limits only: %s, cpu request %s", errs, q.String())
	}

	for _, c := range []struct {
		name string
		old  *corev1.Pod
		mut  func(*corev1.Pod)
		want string
	}{
		{"qos", old, func(p *corev1.Pod) { p.Spec.Containers[0].Resources = cpu("250m", "500m") },
			`spec: Invalid value: "Guaranteed": Pod QOS Class may not change as a result of resizing`},
		{"request above limit", old, func(p *corev1.Pod) { p.Spec.Containers[0].Resources = cpu("2", "1") },
			`[spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1, spec: Invalid value: "Guaranteed": Pod QOS Class may not change as a result of resizing]`},
		{"other resource", old, func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources.Requests[corev1.ResourceEphemeralStorage] = resource.MustParse("1Gi")
		}, `spec: Forbidden: only cpu and memory resources are mutable`},
		{"init container's other resource", old, func(p *corev1.Pod) {
			p.Spec.InitContainers[0].Resources.Limits[corev1.ResourceEphemeralStorage] = resource.MustParse("1Gi")
			p.Spec.InitContainers[0].Resources.Requests[corev1.ResourceEphemeralStorage] = resource.MustParse("1Gi")
		}, `spec.initContainers[0]: Forbidden: only cpu and memory resources for init or sidecar containers are mutable`},
		{"resize policy", old, func(p *corev1.Pod) {
			p.Spec.Containers[0].ResizePolicy = []corev1.ContainerResizePolicy{{ResourceName: corev1.ResourceCPU, RestartPolicy: corev1.RestartContainer}}
		}, `spec: Forbidden: only cpu and memory resources are mutable`},
		{"limits removed", stored(func(p *corev1.Pod) {
			p.Spec.Containers[1].Resources = resources(map[corev1.ResourceName]string{corev1.ResourceCPU: "100m"}, map[corev1.ResourceName]string{corev1.ResourceCPU: "200m"})
			p.Status.QOSClass = corev1.PodQOSBurstable
		}), func(p *corev1.Pod) {
			p.Spec.Containers[1].Resources.Limits = nil
		}, `spec.containers[1].resources.limits: Forbidden: resource limits cannot be removed`},
		{"requests and limits removed", old, func(p *corev1.Pod) { p.Spec.Containers[1].Resources = corev1.ResourceRequirements{} },
			`[spec: Invalid value: "Guaranteed": Pod QOS Class may not change as a result of resizing, spec.containers[1].resources.requests: Forbidden: resource requests cannot be removed, spec.containers[1].resources.limits: Forbidden: resource limits cannot be removed]`},
		{"container added", old, func(p *corev1.Pod) {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "more", Image: "busybox", Resources: cpu("1", "1")})
		}, `spec.containers: Forbidden: containers may not be added or removed on resize`},
		{"containers renamed", old, func(p *corev1.Pod) {
			p.Spec.Containers[0].Name, p.Spec.Containers[1].Name = "side", "c"
		}, `[spec.containers[0].name: Forbidden: containers may not be renamed or reordered on resize, spec.containers[1].name: Forbidden: containers may not be renamed or reordered on resize]`},
		{"init container removed", old, func(p *corev1.Pod) { p.Spec.InitContainers = nil },
			`spec.initContainers: Forbidden: initContainers may not be added or removed on resize`},
		{"static pod", stored(func(p *corev1.Pod) { p.Annotations = map[string]string{corev1.MirrorPodAnnotationKey: "x"} }),
			func(p *corev1.Pod) { p.Spec.Containers[0].Resources = cpu("250m", "500m") }, `[]: Forbidden: static pods cannot be resized`},
		{"windows pod", stored(func(p *corev1.Pod) { p.Spec.OS = &corev1.PodOS{Name: corev1.Windows} }),
			func(p *corev1.Pod) { p.Spec.Containers[0].Resources = cpu("1", "1") }, `[]: Forbidden: windows pods cannot be resized`},
		{"node without resize", stored(func(p *corev1.Pod) {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "c", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
		}), func(p *corev1.Pod) { p.Spec.Containers[0].Resources = cpu("1", "1") }, `spec: Forbidden: Pod running on node without support for resize`},
		{"pod-level resources removed", stored(func(p *corev1.Pod) {
			p.Spec.Resources = podLevel("2")
		}), func(p *corev1.Pod) {
			p.Spec.Resources.Limits = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")}
		},
			`[spec: Invalid value: "Guaranteed": Pod QOS Class may not change as a result of resizing, spec.resources.limits: Forbidden: pod-level resource limits cannot be removed]`},
		{"pod-level other resource", stored(func(p *corev1.Pod) {
			p.Spec.Resources = podLevel("2")
		}), func(p *corev1.Pod) {
			p.Spec.Resources.Limits[corev1.ResourceName("hugepages-2Mi")] = resource.MustParse("2Mi")
		}, `spec: Forbidden: only cpu and memory resources are mutable at pod-level`},
	} {
		if _, got := write(c.old, c.mut); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got, c.want)
		}
	}

	// Pod-level cpu may change; a request that drops them keeps them.
	withPodLevel := stored(func(p *corev1.Pod) {
		p.Spec.Resources = podLevel("2")
	})
	out, errs = write(withPodLevel, func(p *corev1.Pod) { p.Spec.Resources = podLevel("3") })
	if q := out.Spec.Resources.Limits[corev1.ResourceCPU]; errs != "" || q.String() != "3" {
		t.Errorf("pod-level cpu: %s, %s", errs, q.String())
	}
	out, errs = write(withPodLevel, func(p *corev1.Pod) { p.Spec.Resources = nil })
	if errs != "" || out.Spec.Resources == nil {
		t.Errorf("pod-level resources left out: %s, %v", errs, out.Spec.Resources)
	}
}

// The QoS class of a new pod is kube 1.37's: of cpu and memory only, and
// of pod-level resources when set.
func TestPodQOSClass(t *testing.T) {
	for _, c := range []struct {
		name string
		mut  func(*corev1.Pod)
		want corev1.PodQOSClass
	}{
		{"none", nil, corev1.PodQOSBestEffort},
		{"ephemeral storage only", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources = resources(map[corev1.ResourceName]string{corev1.ResourceEphemeralStorage: "1Gi"}, nil)
		}, corev1.PodQOSBestEffort},
		{"limits", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources = resources(nil, map[corev1.ResourceName]string{corev1.ResourceCPU: "1", corev1.ResourceMemory: "1Gi"})
		}, corev1.PodQOSGuaranteed},
		{"cpu only", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources = resources(nil, map[corev1.ResourceName]string{corev1.ResourceCPU: "1"})
		}, corev1.PodQOSBurstable},
		{"pod level", func(p *corev1.Pod) {
			p.Spec.Resources = &corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("1Gi")},
				Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("1Gi")}}
		}, corev1.PodQOSGuaranteed},
	} {
		p := pod(c.mut)
		podHooks.PrepareCreate(p)
		if p.Status.QOSClass != c.want {
			t.Errorf("%s: %q, want %q", c.name, p.Status.QOSClass, c.want)
		}
	}
}
