package core

import (
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/registry"
)

// ForbidPrivileged returns row r, of one of the nine kinds whose objects
// hold a pod spec (Pod, PodTemplate, ReplicationController, Deployment,
// ReplicaSet, DaemonSet, StatefulSet, Job, CronJob), with a validation
// that also refuses what kube-apiserver refuses without
// --allow-privileged (its default): a container, regular, init or
// ephemeral, whose securityContext.privileged is true ("disallowed by
// cluster policy", at the container's path: spec.containers[0],
// spec.template.spec.initContainers[1],
// spec.jobTemplate.spec.template.spec.ephemeralContainers[0], ...), and
// Windows hostProcess containers (at the pod spec's path). The server
// applies it per server, where kube reads a process-wide setting.
//
// Kube checks privileged inside ValidateSecurityContext, so that its
// error sits among the container's others, and hostProcess inside
// ValidatePodSpec; kapi appends them after the kind's other errors. The
// same 422 results, its causes in another order.
//
// Kube validates the pod spec on create and on every update of the
// object (scale included), and on writes through pods/ephemeralcontainers
// and pods/resize, not on status writes: a status subresource keeps the
// row's former validation, the pod subresources that validate the pod
// get the check too (but for kube's early refusals, which stand alone: a
// static pod's, a Windows pod's resize). A row of another kind panics.
func ForbidPrivileged(r *registry.Resource) *registry.Resource {
	podSpec := func(obj runtime.Object) (*corev1.PodSpec, *field.Path, bool) {
		spec := field.NewPath("spec")
		switch o := obj.(type) {
		case *corev1.Pod:
			return &o.Spec, spec, true
		case *corev1.PodTemplate:
			return &o.Template.Spec, field.NewPath("template", "spec"), true
		case *corev1.ReplicationController:
			if o.Spec.Template == nil { // (which validation refuses)
				return nil, nil, true
			}
			return &o.Spec.Template.Spec, spec.Child("template", "spec"), true
		case *appsv1.Deployment:
			return &o.Spec.Template.Spec, spec.Child("template", "spec"), true
		case *appsv1.ReplicaSet:
			return &o.Spec.Template.Spec, spec.Child("template", "spec"), true
		case *appsv1.DaemonSet:
			return &o.Spec.Template.Spec, spec.Child("template", "spec"), true
		case *appsv1.StatefulSet:
			return &o.Spec.Template.Spec, spec.Child("template", "spec"), true
		case *batchv1.Job:
			return &o.Spec.Template.Spec, spec.Child("template", "spec"), true
		case *batchv1.CronJob:
			return &o.Spec.JobTemplate.Spec.Template.Spec, spec.Child("jobTemplate", "spec", "template", "spec"), true
		}
		return nil, nil, false
	}
	if r.Type == nil || r.Hooks == nil {
		panic("ForbidPrivileged: row " + r.GVR().String() + " has no type or hooks")
	}
	if _, _, ok := podSpec(r.Type.New()); !ok {
		panic("ForbidPrivileged: a " + r.Kind + " holds no pod spec")
	}
	// forbidden is kube's "disallowed by cluster policy" errors of the
	// pod spec obj holds, in kube's order of the containers.
	forbidden := func(obj runtime.Object) field.ErrorList {
		s, path, _ := podSpec(obj)
		if s == nil {
			return nil
		}
		var errs field.ErrorList
		var podHostProcess *bool
		if s.SecurityContext != nil && s.SecurityContext.WindowsOptions != nil {
			podHostProcess = s.SecurityContext.WindowsOptions.HostProcess
		}
		hostProcess := false
		check := func(sc *corev1.SecurityContext, p *field.Path) {
			if sc != nil && sc.Privileged != nil && *sc.Privileged {
				errs = append(errs, field.Forbidden(p.Child("securityContext", "privileged"), "disallowed by cluster policy"))
			}
			if sc != nil && sc.WindowsOptions != nil && sc.WindowsOptions.HostProcess != nil {
				hostProcess = hostProcess || *sc.WindowsOptions.HostProcess
			} else {
				hostProcess = hostProcess || (podHostProcess != nil && *podHostProcess)
			}
		}
		for i := range s.Containers {
			check(s.Containers[i].SecurityContext, path.Child("containers").Index(i))
		}
		for i := range s.InitContainers {
			check(s.InitContainers[i].SecurityContext, path.Child("initContainers").Index(i))
		}
		for i := range s.EphemeralContainers {
			check(s.EphemeralContainers[i].SecurityContext, path.Child("ephemeralContainers").Index(i))
		}
		if hostProcess { // kube's validateWindowsHostProcessPod
			errs = append(errs, field.Forbidden(path, "hostProcess containers are disallowed by cluster policy"))
		}
		return errs
	}
	with := func(validate func(obj, old runtime.Object) field.ErrorList) func(obj, old runtime.Object) field.ErrorList {
		return func(obj, old runtime.Object) field.ErrorList {
			var errs field.ErrorList
			if validate != nil {
				errs = validate(obj, old)
			}
			return append(errs, forbidden(obj)...)
		}
	}

	validate := r.Hooks.Validate
	hooks := *r.Hooks
	hooks.Validate = with(validate)
	out := r.WithHooks(&hooks)
	out.Subresources = slices.Clone(r.Subresources)
	for i, s := range out.Subresources {
		c := *s
		switch {
		case s.Name == "status" && s.Validate == nil:
			c.Validate = validate
		case r.Kind == "Pod" && (s.Name == "ephemeralcontainers" || s.Name == "resize") && s.Validate != nil:
			sub, checked := s.Validate, with(s.Validate)
			c.Validate = func(obj, old runtime.Object) field.ErrorList {
				was := old.(*corev1.Pod)
				_, static := was.Annotations[corev1.MirrorPodAnnotationKey]
				if static || (s.Name == "resize" && was.Spec.OS != nil && was.Spec.OS.Name == corev1.Windows) {
					return sub(obj, old)
				}
				return checked(obj, old)
			}
		default:
			continue
		}
		out.Subresources[i] = &c
	}
	return out
}
