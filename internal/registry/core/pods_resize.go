package core

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/registry"
)

// Resize is pods/resize, in-place vertical scaling (GA since 1.35): the
// full pod, of which a write changes only the containers' and init
// containers' resources and resizePolicy, and the pod-level resources,
// as kube-apiserver 1.37's podResizeStrategy (dropNonResizeUpdates)
// keeps them; the rest of the request, metadata and status included, is
// dropped. A write that changes the spec counts a generation. The result
// is checked by kube's ValidatePodResize in place of the pod's update
// rules; kube's resize strategy has no warnings.
var Resize = &registry.Subresource{
	Name: "resize", Verbs: []string{"get", "patch", "update"}, TrackFields: true, ChangesSpec: true, NoWarnings: true,
	Write: func(_ *registry.Resource, in, old runtime.Object) (runtime.Object, error) {
		return resizeWrite(in.(*corev1.Pod), old.(*corev1.Pod)), nil
	},
	Validate: func(obj, old runtime.Object) field.ErrorList {
		return validatePodResize(obj.(*corev1.Pod), old.(*corev1.Pod))
	},
}

// resizeWrite is kube's dropNonResizeUpdates, and the pod-level
// resources kept by its PrepareForUpdate (PodLevelResourcesFixDefaulting):
// the stored pod with in's container resources and resize policies and
// in's pod-level resources (InPlacePodLevelResourcesVerticalScaling,
// on in 1.37). When containers were added, removed, renamed or reordered
// in is kept as it is, so that validation reports it. (Volumes are the
// stored ones: InPlacePodVerticalScalingMemoryBackedVolumes is alpha,
// off.)
func resizeWrite(in, old *corev1.Pod) *corev1.Pod {
	out := in
	if len(in.Spec.Containers) == len(old.Spec.Containers) && len(in.Spec.InitContainers) == len(old.Spec.InitContainers) {
		resources := in.Spec.Resources
		containers := resizeContainers(in.Spec.Containers, old.Spec.Containers)
		initContainers := resizeContainers(in.Spec.InitContainers, old.Spec.InitContainers)
		was := old.DeepCopy()
		out.Spec = was.Spec
		out.Spec.Resources = resources
		out.Status = was.Status
		metav1.ResetObjectMetaForStatus(&out.ObjectMeta, &was.ObjectMeta)
		out.Spec.Containers = containers
		out.Spec.InitContainers = initContainers
	}
	if out.Spec.Resources == nil && old.Spec.Resources != nil {
		// (for clients that do not know pod-level resources)
		out.Spec.Resources = old.Spec.Resources.DeepCopy()
	}
	return out
}

// resizeContainers is kube's dropNonResizeUpdatesForContainers: the old
// containers with the new ones' resources and resize policies; the new
// ones when a name differs.
func resizeContainers(in, old []corev1.Container) []corev1.Container {
	if len(in) == 0 {
		return in
	}
	out := make([]corev1.Container, len(old))
	for i := range old {
		old[i].DeepCopyInto(&out[i])
	}
	for i, c := range in {
		if out[i].Name != c.Name {
			return in
		}
		out[i].Resources = c.Resources
		out[i].ResizePolicy = c.ResizePolicy
	}
	return out
}

// PodQOS is kube's GetPodQOS: the class the pod's status records, or the
// one its spec gives.
func PodQOS(pod *corev1.Pod) corev1.PodQOSClass {
	if pod.Status.QOSClass != "" {
		return pod.Status.QOSClass
	}
	return qosClass(&pod.Spec)
}

// validatePodResize is kube 1.37's ValidatePodResize (the metadata update
// is checked by the store), with its messages and field paths. Feature
// gates as 1.37.2 has them: InPlacePodLevelResourcesVerticalScaling and
// InPlacePodVerticalScalingInitContainers on (every init container can
// be resized), InPlacePodVerticalScalingMemoryBackedVolumes and
// DRANodeAllocatableResources off.
func validatePodResize(pod, old *corev1.Pod) field.ErrorList {
	specPath := field.NewPath("spec")
	// (kube's validatePodMetadataAndSpec of the new pod, resources
	// included, with the options of GetValidationOptionsFromPodSpecAndMeta:
	// huge pages that were not whole pages may stay so)
	errs := validatePodSpec(&pod.Spec, specPath, podValidationOptions{allowIndivisibleHugePages: usesIndivisibleHugePages(&old.Spec)})

	if _, ok := old.Annotations[corev1.MirrorPodAnnotationKey]; ok {
		return field.ErrorList{field.Forbidden(field.NewPath(""), "static pods cannot be resized")}
	}
	if old.Spec.OS != nil && old.Spec.OS.Name == corev1.Windows {
		return field.ErrorList{field.Forbidden(field.NewPath(""), "windows pods cannot be resized")}
	}
	if PodQOS(old) != qosClass(&pod.Spec) {
		errs = append(errs, field.Invalid(specPath, pod.Status.QOSClass, "Pod QOS Class may not change as a result of resizing"))
	}
	if !resizeSupported(old) {
		errs = append(errs, field.Forbidden(specPath, "Pod running on node without support for resize"))
	}

	// kube compares internal pod specs, which do not have the v1 alias
	// serviceAccount.
	spec, oldSpec := pod.Spec.DeepCopy(), old.Spec.DeepCopy()
	spec.DeprecatedServiceAccount, oldSpec.DeprecatedServiceAccount = "", ""

	podLevelSet := func(p *corev1.Pod) bool {
		return p.Spec.Resources != nil && len(p.Spec.Resources.Requests)+len(p.Spec.Resources.Limits) > 0
	}
	if podLevelSet(old) || podLevelSet(pod) {
		errs = append(errs, validatePodLevelResourcesResize(pod, old, spec, specPath)...)
	}

	if ordering := validateResizeContainerOrdering(pod, old, specPath); ordering != nil {
		return append(errs, ordering...)
	}

	for i := range old.Spec.InitContainers {
		errs = append(errs, validateContainerResize(&pod.Spec.InitContainers[i].Resources, &old.Spec.InitContainers[i].Resources,
			specPath.Child("initContainers").Index(i).Child("resources"))...)
	}
	for i := range old.Spec.Containers {
		errs = append(errs, validateContainerResize(&pod.Spec.Containers[i].Resources, &old.Spec.Containers[i].Resources,
			specPath.Child("containers").Index(i).Child("resources"))...)
	}

	// Only cpu and memory may change. (A changed resizePolicy is a
	// change too: kube copies it, then refuses it here.)
	for i := range spec.Containers {
		c := &spec.Containers[i]
		dropCPUMemoryResourcesFromContainer(c, &old.Spec.Containers[i])
		if !equality.Semantic.DeepEqual(*c, old.Spec.Containers[i]) {
			errs = append(errs, field.Forbidden(specPath, "only cpu and memory resources are mutable"))
		}
	}
	for i := range spec.InitContainers {
		c, was := &spec.InitContainers[i], &old.Spec.InitContainers[i]
		modified := !equality.Semantic.DeepEqual(*c, *was)
		sidecar := c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
		dropCPUMemoryResourcesFromContainer(c, was)
		if !equality.Semantic.DeepEqual(*c, *was) {
			errs = append(errs, field.Forbidden(specPath.Child("initContainers").Index(i), "only cpu and memory resources for init or sidecar containers are mutable"))
		}
		if modified && !sidecar {
			for _, p := range c.ResizePolicy {
				if p.RestartPolicy == corev1.RestartContainer {
					errs = append(errs, field.Forbidden(specPath.Child("initContainers").Index(i), "non-sidecar init containers with a resize policy of RestartContainer cannot be resized"))
				}
			}
		}
	}

	if !equality.Semantic.DeepEqual(pod.Spec.Volumes, old.Spec.Volumes) {
		errs = append(errs, field.Forbidden(specPath.Child("volumes"), "volumes are immutable on resize when InPlacePodVerticalScalingMemoryBackedVolumes feature gate is disabled"))
	}

	if len(errs) > 0 {
		return errs
	}
	if !equality.Semantic.DeepEqual(spec, oldSpec) {
		errs = append(errs, field.Forbidden(specPath, "only cpu and memory resources are mutable"))
	}
	return errs
}

// resizeSupported is kube's isPodResizeRequestSupported: the kubelet of
// a running pod reports its containers' resources when it can resize
// them.
func resizeSupported(pod *corev1.Pod) bool {
	for _, c := range pod.Status.ContainerStatuses {
		if c.State.Running != nil {
			return c.Resources != nil
		}
	}
	return true
}

// validatePodLevelResourcesResize is kube's: pod-level resources cannot
// be removed, and only their cpu and memory may change. spec (a copy of
// the new spec) gets the old cpu and memory for the comparison that
// follows.
func validatePodLevelResourcesResize(pod, old *corev1.Pod, spec *corev1.PodSpec, specPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if old.Spec.Resources != nil && pod.Spec.Resources == nil {
		return append(errs, field.Forbidden(specPath.Child("resources"), "pod-level resources cannot be removed"))
	}
	if old.Spec.Resources != nil {
		if resourcesRemoved(pod.Spec.Resources.Requests, old.Spec.Resources.Requests) {
			errs = append(errs, field.Forbidden(specPath.Child("resources", "requests"), "pod-level resource requests cannot be removed"))
		}
		if resourcesRemoved(pod.Spec.Resources.Limits, old.Spec.Resources.Limits) {
			errs = append(errs, field.Forbidden(specPath.Child("resources", "limits"), "pod-level resource limits cannot be removed"))
		}
	}
	spec.Resources = dropCPUMemoryResourceRequirementsUpdates(spec.Resources, old.Spec.Resources)
	if !equality.Semantic.DeepEqual(spec.Resources, old.Spec.Resources) {
		errs = append(errs, field.Forbidden(specPath, "only cpu and memory resources are mutable at pod-level"))
	}
	return errs
}

// validateResizeContainerOrdering is kube's
// validatePodResizeContainerOrdering.
func validateResizeContainerOrdering(pod, old *corev1.Pod, specPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, l := range []struct {
		name     string
		now, was []corev1.Container
	}{{"containers", pod.Spec.Containers, old.Spec.Containers}, {"initContainers", pod.Spec.InitContainers, old.Spec.InitContainers}} {
		if len(l.now) != len(l.was) {
			errs = append(errs, field.Forbidden(specPath.Child(l.name), l.name+" may not be added or removed on resize"))
			continue
		}
		for i, c := range l.was {
			if l.now[i].Name != c.Name {
				errs = append(errs, field.Forbidden(specPath.Child(l.name).Index(i).Child("name"), l.name+" may not be renamed or reordered on resize"))
			}
		}
	}
	return errs
}

// validateContainerResize is kube's: requests and limits cannot be
// removed.
func validateContainerResize(now, was *corev1.ResourceRequirements, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if resourcesRemoved(now.Requests, was.Requests) {
		errs = append(errs, field.Forbidden(path.Child("requests"), "resource requests cannot be removed"))
	}
	if resourcesRemoved(now.Limits, was.Limits) {
		errs = append(errs, field.Forbidden(path.Child("limits"), "resource limits cannot be removed"))
	}
	return errs
}

func resourcesRemoved(now, was corev1.ResourceList) bool {
	if len(was) > len(now) {
		return true
	}
	for name := range was {
		if _, ok := now[name]; !ok {
			return true
		}
	}
	return false
}

// dropCPUMemoryUpdates is l with the cpu and memory of was.
func dropCPUMemoryUpdates(l, was corev1.ResourceList) corev1.ResourceList {
	var out corev1.ResourceList
	if l == nil {
		if was == nil {
			return nil
		}
		out = corev1.ResourceList{}
	} else {
		out = l.DeepCopy()
	}
	delete(out, corev1.ResourceCPU)
	delete(out, corev1.ResourceMemory)
	if q, ok := was[corev1.ResourceCPU]; ok {
		out[corev1.ResourceCPU] = q
	}
	if q, ok := was[corev1.ResourceMemory]; ok {
		out[corev1.ResourceMemory] = q
	}
	return out
}

func dropCPUMemoryResourcesFromContainer(c, was *corev1.Container) {
	c.Resources = corev1.ResourceRequirements{
		Limits:   dropCPUMemoryUpdates(c.Resources.Limits, was.Resources.Limits),
		Requests: dropCPUMemoryUpdates(c.Resources.Requests, was.Resources.Requests),
		Claims:   c.Resources.Claims,
	}
}

// dropCPUMemoryResourceRequirementsUpdates is kube's, for pod-level
// resources: nil when nothing but the cpu and memory of resources the
// old pod did not have is left.
func dropCPUMemoryResourceRequirementsUpdates(r, was *corev1.ResourceRequirements) *corev1.ResourceRequirements {
	if r == nil {
		return nil
	}
	var oldReqs, oldLims corev1.ResourceList
	if was != nil {
		oldReqs, oldLims = was.Requests, was.Limits
	}
	r.Requests = dropCPUMemoryUpdates(r.Requests, oldReqs)
	r.Limits = dropCPUMemoryUpdates(r.Limits, oldLims)
	if was == nil && len(r.Requests) == 0 && len(r.Limits) == 0 && len(r.Claims) == 0 {
		return nil
	}
	return r
}
