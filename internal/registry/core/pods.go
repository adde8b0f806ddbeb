package core

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/registry"
	"kapi/internal/request"
)

// podHooks: a new pod is defaulted as kube-apiserver defaults it and starts
// Pending with its QoS class; its spec is validated, and after creation
// only the images, the active deadline and added tolerations may change
// (and a negative grace period stored before it was defaulted, to 1).
var podHooks = &registry.Hooks{
	Default: func(obj runtime.Object) {
		pod := obj.(*corev1.Pod)
		defaultPod(pod)
		podStatusAliases(&pod.Status)
	},
	PrepareForCreate: func(obj runtime.Object) {
		pod := obj.(*corev1.Pod)
		pod.Status = corev1.PodStatus{Phase: corev1.PodPending, QOSClass: qosClass(&pod.Spec)}
	},
	PrepareForCreateBy: func(ctx context.Context, obj runtime.Object) { appArmorFromAnnotations(ctx, obj.(*corev1.Pod)) },
	Validate: func(obj, old runtime.Object) field.ErrorList {
		pod := obj.(*corev1.Pod)
		var opts podValidationOptions
		if old != nil {
			opts.storedResources = sameResources(&pod.Spec, &old.(*corev1.Pod).Spec)
			securityRatchets(&opts, &old.(*corev1.Pod).Spec)
		}
		errs := validatePodSpec(&pod.Spec, field.NewPath("spec"), opts)
		if old != nil {
			errs = append(errs, validatePodSpecUpdate(&pod.Spec, &old.(*corev1.Pod).Spec)...)
		} else if len(pod.Spec.EphemeralContainers) > 0 {
			errs = append(errs, field.Forbidden(field.NewPath("spec", "ephemeralContainers"), "cannot be set on create"))
		}
		return errs
	},
	Warnings: podWarnings,
}

// sameResources: s states the resources of was, every container's, the
// pod's and its overhead (an update of a pod other than a resize).
func sameResources(s, was *corev1.PodSpec) bool {
	if len(s.Containers) != len(was.Containers) || len(s.InitContainers) != len(was.InitContainers) ||
		!equality.Semantic.DeepEqual(s.Resources, was.Resources) || !equality.Semantic.DeepEqual(s.Overhead, was.Overhead) {
		return false
	}
	for _, l := range [][2][]corev1.Container{{s.Containers, was.Containers}, {s.InitContainers, was.InitContainers}} {
		for i := range l[0] {
			if !equality.Semantic.DeepEqual(l[0][i].Resources, l[1][i].Resources) {
				return false
			}
		}
	}
	return true
}

// appArmorFromAnnotations gives a new pod's containers the AppArmor
// profiles that only their deprecated annotations name, as kube-apiserver
// does for kubelets that read the fields alone; a profile equal to the
// pod's stays unset. The annotation is warned about, here (kube's place,
// before validation) rather than with the other warnings.
func appArmorFromAnnotations(ctx context.Context, pod *corev1.Pod) {
	if pod.Spec.OS != nil && pod.Spec.OS.Name == corev1.Windows {
		return
	}
	var podProfile *corev1.AppArmorProfile
	if pod.Spec.SecurityContext != nil {
		podProfile = pod.Spec.SecurityContext.AppArmorProfile
	}
	VisitContainers(&pod.Spec, nil, func(c *corev1.Container, _ *field.Path) {
		key := corev1.DeprecatedAppArmorBetaContainerAnnotationKeyPrefix + c.Name
		annotation, ok := pod.Annotations[key]
		if !ok || (c.SecurityContext != nil && c.SecurityContext.AppArmorProfile != nil) {
			return
		}
		profile := appArmorProfileOf(annotation)
		if profile != nil && equality.Semantic.DeepEqual(profile, podProfile) {
			return
		}
		if profile != nil {
			if c.SecurityContext == nil {
				c.SecurityContext = &corev1.SecurityContext{}
			}
			c.SecurityContext.AppArmorProfile = profile
		}
		request.AddWarning(ctx, fmt.Sprintf(`%s: deprecated since v1.30; use the "appArmorProfile" field instead`, field.NewPath("metadata", "annotations").Key(key)))
	})
}

// appArmorProfileOf is the profile a deprecated AppArmor annotation
// names; nil for a value that names none.
func appArmorProfileOf(annotation string) *corev1.AppArmorProfile {
	switch {
	case annotation == corev1.DeprecatedAppArmorBetaProfileNameUnconfined:
		return &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeUnconfined}
	case annotation == corev1.DeprecatedAppArmorBetaProfileRuntimeDefault:
		return &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeRuntimeDefault}
	}
	name, ok := strings.CutPrefix(annotation, corev1.DeprecatedAppArmorBetaProfileNamePrefix)
	if !ok || name == "" || strings.TrimSpace(name) != name || len(name) > maxLocalhostProfileLength {
		return nil
	}
	return &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeLocalhost, LocalhostProfile: &name}
}

// maxLocalhostProfileLength is the longest localhost AppArmor profile
// name kube's validation takes.
const maxLocalhostProfileLength = 4095

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
	// (a pod stored before kapi wrote the alias out, or set some of its
	// defaults, has them now, as kube defaults what it reads)
	mutated.DeprecatedServiceAccount = mutated.ServiceAccountName
	DefaultPodSpec(mutated)
	for i := range spec.Containers {
		mutated.Containers[i].Image = spec.Containers[i].Image
	}
	for i := range spec.InitContainers {
		mutated.InitContainers[i].Image = spec.InitContainers[i].Image
	}
	mutated.ActiveDeadlineSeconds = spec.ActiveDeadlineSeconds
	// A grace period stored negative (before kube, and kapi, made it 1
	// on create) may become 1, and change no other way.
	if g, was := spec.TerminationGracePeriodSeconds, old.TerminationGracePeriodSeconds; g != nil && *g == 1 && was != nil && *was < 0 {
		mutated.TerminationGracePeriodSeconds = g
	}
	errs := onlyAddedTolerations(spec.Tolerations, old.Tolerations)
	mutated.Tolerations = spec.Tolerations
	if !equality.Semantic.DeepEqual(mutated, spec) {
		errs = append(errs, field.Forbidden(field.NewPath("spec"), podUpdateForbidden))
	}
	return errs
}

// onlyAddedTolerations is kube's validateOnlyAddedTolerations: every
// stored toleration is still there, in any place, its tolerationSeconds
// alone changed at most (admission adds the node not-ready and
// unreachable tolerations again at the end of an update that leaves them
// out).
func onlyAddedTolerations(tolerations, old []corev1.Toleration) field.ErrorList {
	for _, o := range old {
		found := false
		for _, t := range tolerations {
			o.TolerationSeconds = t.TolerationSeconds
			if equality.Semantic.DeepEqual(o, t) {
				found = true
				break
			}
		}
		if !found {
			return field.ErrorList{field.Forbidden(field.NewPath("spec", "tolerations"), "existing toleration can not be modified except its tolerationSeconds")}
		}
	}
	return nil
}

// podFields are the pod fields kube-apiserver lets a field selector name
// (pkg/registry/core/pod.ToSelectableFields). kube takes status.podIPs as
// a label but gives it no value, so that only an empty value matches.
func podFields(obj runtime.Object) map[string]string {
	pod := obj.(*corev1.Pod)
	podIP := ""
	if len(pod.Status.PodIPs) > 0 {
		podIP = pod.Status.PodIPs[0].IP
	} else {
		podIP = pod.Status.PodIP
	}
	return map[string]string{
		"spec.nodeName":            pod.Spec.NodeName,
		"spec.restartPolicy":       string(pod.Spec.RestartPolicy),
		"spec.schedulerName":       pod.Spec.SchedulerName,
		"spec.serviceAccountName":  pod.Spec.ServiceAccountName,
		"spec.hostNetwork":         strconv.FormatBool(pod.Spec.HostNetwork),
		"status.phase":             string(pod.Status.Phase),
		"status.podIP":             podIP,
		"status.podIPs":            "",
		"status.nominatedNodeName": pod.Status.NominatedNodeName,
	}
}
