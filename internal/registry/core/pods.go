package core

import (
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/registry"
)

// podHooks: a new pod is defaulted as kube-apiserver defaults it and starts
// Pending with its QoS class; its spec is validated, and after creation
// only the images, the active deadline, added tolerations and the grace
// period may change.
var podHooks = &registry.Hooks{
	PrepareForCreate: func(obj runtime.Object) {
		pod := obj.(*corev1.Pod)
		defaultPod(pod)
		pod.Status = corev1.PodStatus{Phase: corev1.PodPending, QOSClass: qosClass(&pod.Spec)}
	},
	PrepareForUpdate: func(obj, _ runtime.Object) {
		pod := obj.(*corev1.Pod)
		defaultPod(pod)
		podStatusAliases(&pod.Status)
	},
	Validate: func(obj, old runtime.Object) field.ErrorList {
		pod := obj.(*corev1.Pod)
		errs := ValidatePodSpec(&pod.Spec, field.NewPath("spec"))
		if old != nil {
			errs = append(errs, validatePodSpecUpdate(&pod.Spec, &old.(*corev1.Pod).Spec)...)
		} else if len(pod.Spec.EphemeralContainers) > 0 {
			errs = append(errs, field.Forbidden(field.NewPath("spec", "ephemeralContainers"), "cannot be set on create"))
		}
		return errs
	},
}

// podUpdateForbidden is kube-apiserver's message (without the diff it
// appends) for a change to a pod's spec beyond what may change.
const podUpdateForbidden = "pod updates may not change fields other than `spec.containers[*].image`," +
	"`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations)," +
	"`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"

// validatePodSpecUpdate copies what may change from the new spec onto the
// old one and reports any other difference.
func validatePodSpecUpdate(spec, old *corev1.PodSpec) field.ErrorList {
	if len(spec.Containers) != len(old.Containers) || len(spec.InitContainers) != len(old.InitContainers) {
		return field.ErrorList{field.Forbidden(field.NewPath("spec"), podUpdateForbidden)}
	}
	mutated := old.DeepCopy()
	// (a pod stored before kapi wrote the alias out has it now)
	mutated.DeprecatedServiceAccount = mutated.ServiceAccountName
	for i := range spec.Containers {
		mutated.Containers[i].Image = spec.Containers[i].Image
	}
	for i := range spec.InitContainers {
		mutated.InitContainers[i].Image = spec.InitContainers[i].Image
	}
	mutated.ActiveDeadlineSeconds = spec.ActiveDeadlineSeconds
	mutated.TerminationGracePeriodSeconds = spec.TerminationGracePeriodSeconds
	if len(spec.Tolerations) >= len(old.Tolerations) && equality.Semantic.DeepEqual(spec.Tolerations[:len(old.Tolerations)], old.Tolerations) {
		mutated.Tolerations = spec.Tolerations
	}
	if !equality.Semantic.DeepEqual(mutated, spec) {
		return field.ErrorList{field.Forbidden(field.NewPath("spec"), podUpdateForbidden)}
	}
	return nil
}

// podFields are the pod fields kube-apiserver lets a field selector name
// (pkg/registry/core/pod.ToSelectableFields).
func podFields(obj runtime.Object) map[string]string {
	pod := obj.(*corev1.Pod)
	podIP := ""
	if len(pod.Status.PodIPs) > 0 {
		podIP = pod.Status.PodIPs[0].IP
	} else {
		podIP = pod.Status.PodIP
	}
	podIPs := ""
	for i, ip := range pod.Status.PodIPs {
		if i > 0 {
			podIPs += ","
		}
		podIPs += ip.IP
	}
	return map[string]string{
		"spec.nodeName":            pod.Spec.NodeName,
		"spec.restartPolicy":       string(pod.Spec.RestartPolicy),
		"spec.schedulerName":       pod.Spec.SchedulerName,
		"spec.serviceAccountName":  pod.Spec.ServiceAccountName,
		"spec.hostNetwork":         strconv.FormatBool(pod.Spec.HostNetwork),
		"status.phase":             string(pod.Status.Phase),
		"status.podIP":             podIP,
		"status.podIPs":            podIPs,
		"status.nominatedNodeName": pod.Status.NominatedNodeName,
	}
}
