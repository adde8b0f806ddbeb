package core

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/registry"
)

// Binding is pods/binding, kube-apiserver's BindingREST: a POST of a v1
// Binding assigns the pod to the node it names (a scheduler's last
// step, client-go's Pods().Bind): spec.nodeName is set, the Binding's
// annotations and labels are merged into the pod's, its nominated node
// cleared, and the pod gets the condition PodScheduled. The Binding's uid
// and resourceVersion, when given, are preconditions. A pod already
// assigned, being deleted, or with scheduling gates is a 409. The answer
// is a Status of Success, 201.
func Binding(pods *registry.Store) *registry.Subresource {
	return registry.ActionSubresource("binding", corev1.SchemeGroupVersion.WithKind("Binding"),
		func() runtime.Object { return &corev1.Binding{} },
		func(ctx context.Context, ns, name string, body runtime.Object, opts *metav1.CreateOptions, validate registry.ValidateFunc) (runtime.Object, error) {
			b := body.(*corev1.Binding)
			if b.Name != name {
				return nil, apierrors.NewBadRequest("name in URL does not match name in Binding object")
			}
			return bind(ctx, pods, ns, b, len(opts.DryRun) > 0, validate)
		})
}

// LegacyBindings is the v1 resource "bindings", which schedulers older
// than pods/binding POST Bindings to: the same binding, of the pod the
// Binding names, in the namespace of the URL.
func LegacyBindings(pods *registry.Store) *registry.Resource {
	return &registry.Resource{Version: "v1", Name: "bindings", Kind: "Binding", Namespaced: true, Verbs: []string{"create"},
		Compute: func(ctx context.Context, obj runtime.Object, opts *metav1.CreateOptions, validate registry.ValidateFunc) (runtime.Object, error) {
			b := obj.(*corev1.Binding)
			return bind(ctx, pods, b.Namespace, b, len(opts.DryRun) > 0, validate)
		}}
}

// bind assigns the pod b names to b's target, once validate (validating
// admission, when the caller has not run it) admits b.
func bind(ctx context.Context, pods *registry.Store, ns string, b *corev1.Binding, dryRun bool, validate registry.ValidateFunc) (runtime.Object, error) {
	name := b.Name
	if errs := validateBinding(b); len(errs) > 0 {
		// kube returns the aggregate as a plain error: a 500 with no
		// reason.
		return nil, &apierrors.StatusError{ErrStatus: metav1.Status{Status: metav1.StatusFailure, Code: 500, Message: errs.ToAggregate().Error()}}
	}
	if err := validate.Check(ctx, b); err != nil {
		return nil, err
	}
	refused := func(msg string) error {
		return apierrors.NewConflict(schema.GroupResource{Resource: "pods/binding"}, name, errors.New(msg))
	}
	_, _, err := pods.Update(ctx, ns, name, bindingWrite, func(_ context.Context, old runtime.Object) (runtime.Object, error) {
		if old == nil {
			return nil, apierrors.NewNotFound(corev1.Resource("pods"), name)
		}
		pod := old.(*corev1.Pod)
		if err := pods.CheckPreconditions(name, pod, bindingPreconditions(b)); err != nil {
			return nil, err
		}
		switch {
		case pod.DeletionTimestamp != nil:
			return nil, refused(fmt.Sprintf("pod %s is being deleted, cannot be assigned to a host", pod.Name))
		case pod.Spec.NodeName != "":
			return nil, refused(fmt.Sprintf("pod %v is already assigned to node %q", pod.Name, pod.Spec.NodeName))
		case len(pod.Spec.SchedulingGates) != 0:
			return nil, refused(fmt.Sprintf("pod %v has non-empty .spec.schedulingGates", pod.Name))
		}
		pod.Spec.NodeName = b.Target.Name
		// kube 1.35+ (ClearingNominatedNodeNameAfterBinding): the
		// scheduler's hint is stale once the pod is bound.
		pod.Status.NominatedNodeName = ""
		pod.Annotations = mergeInto(pod.Annotations, b.Annotations)
		// Binding writes bypass the pod strategy, which drops the old
		// init container annotations; as in kube, so does the binding.
		for _, k := range []string{"pod.beta.kubernetes.io/init-containers", "pod.alpha.kubernetes.io/init-containers",
			"pod.beta.kubernetes.io/init-container-statuses", "pod.alpha.kubernetes.io/init-container-statuses"} {
			delete(pod.Annotations, k)
		}
		// The Binding's labels overwrite the pod's (kube 1.35+,
		// PodTopologyLabelsAdmission): the PodTopologyLabels plugin puts
		// the node's zone and region there.
		pod.Labels = mergeInto(pod.Labels, b.Labels)
		setPodCondition(&pod.Status, corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, ObservedGeneration: pod.Generation})
		return pod, nil
	}, nil, dryRun)
	if err != nil {
		return nil, err
	}
	return &metav1.Status{Status: metav1.StatusSuccess}, nil
}

// mergeInto sets add's keys in m, made when add has any.
func mergeInto(m, add map[string]string) map[string]string {
	if len(add) > 0 && m == nil {
		m = make(map[string]string, len(add))
	}
	for k, v := range add {
		m[k] = v
	}
	return m
}

// bindingPreconditions are the Binding's uid and resourceVersion, those
// it gives.
func bindingPreconditions(b *corev1.Binding) *metav1.Preconditions {
	var p metav1.Preconditions
	if b.UID != "" {
		p.UID = &b.UID
	}
	if b.ResourceVersion != "" {
		p.ResourceVersion = &b.ResourceVersion
	}
	return &p
}

// bindingWrite stores the pod a binding made whole, its spec and status
// together, past the pod's update rules (nodeName may not change in an
// update), as kube's BindingREST writes the storage directly. It is no
// subresource of the row: only Binding writes through it.
var bindingWrite = &registry.Subresource{
	Name:     "binding",
	Write:    func(_ *registry.Resource, in, _ runtime.Object) (runtime.Object, error) { return in, nil },
	Validate: func(obj, old runtime.Object) field.ErrorList { return nil },
}

// validateBinding is kube's ValidatePodBinding.
func validateBinding(b *corev1.Binding) field.ErrorList {
	var errs field.ErrorList
	if b.Target.Kind != "" && b.Target.Kind != "Node" {
		errs = append(errs, field.NotSupported(field.NewPath("target", "kind"), b.Target.Kind, []string{"Node", "<empty>"}))
	}
	if b.Target.Name == "" {
		errs = append(errs, field.Required(field.NewPath("target", "name"), ""))
	}
	return errs
}

// EphemeralContainers is pods/ephemeralcontainers (kubectl debug): the
// pod, of which a write changes only spec.ephemeralContainers, counting a
// generation (kube's updatePodGeneration). Ephemeral containers can be
// added, never changed or removed; the pod is validated whole, as kube's
// ValidatePodEphemeralContainersUpdate.
var EphemeralContainers = &registry.Subresource{
	Name: "ephemeralcontainers", Verbs: []string{"get", "patch", "update"}, TrackFields: true, ChangesSpec: true,
	Write: func(_ *registry.Resource, in, old runtime.Object) (runtime.Object, error) {
		out := old.(*corev1.Pod).DeepCopy()
		out.Spec.EphemeralContainers = in.(*corev1.Pod).Spec.EphemeralContainers
		return out, nil
	},
	Validate: func(obj, old runtime.Object) field.ErrorList {
		pod, was := obj.(*corev1.Pod), old.(*corev1.Pod)
		if _, static := was.Annotations[corev1.MirrorPodAnnotationKey]; static {
			return field.ErrorList{field.Forbidden(field.NewPath(""), "static pods do not support ephemeral containers")}
		}
		errs := ValidatePodSpec(&pod.Spec, field.NewPath("spec"))
		path := field.NewPath("spec", "ephemeralContainers")
		now := map[string]*corev1.EphemeralContainer{}
		for i := range pod.Spec.EphemeralContainers {
			now[pod.Spec.EphemeralContainers[i].Name] = &pod.Spec.EphemeralContainers[i]
		}
		for _, e := range was.Spec.EphemeralContainers {
			if n, ok := now[e.Name]; !ok {
				errs = append(errs, field.Forbidden(path, fmt.Sprintf("existing ephemeral containers %q may not be removed\n", e.Name)))
			} else if !equality.Semantic.DeepEqual(e, *n) {
				errs = append(errs, field.Forbidden(path, fmt.Sprintf("existing ephemeral containers %q may not be changed\n", e.Name)))
			}
		}
		return errs
	},
}

// validateEphemeralContainers checks what only ephemeral containers
// must not have (kube's allow list: no ports, resources, lifecycle,
// probes or subPath mounts) and that a target container exists; their
// names, images and mounts are checked with the others'.
func validateEphemeralContainers(s *corev1.PodSpec, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	targets := map[string]bool{}
	for _, list := range [][]corev1.Container{s.InitContainers, s.Containers} {
		for _, c := range list {
			targets[c.Name] = true
		}
	}
	const msg = "cannot be set for an Ephemeral Container"
	for i := range s.EphemeralContainers {
		e, p := &s.EphemeralContainers[i], path.Index(i)
		for _, f := range []struct {
			name string
			set  bool
		}{
			{"ports", len(e.Ports) > 0}, {"resources", len(e.Resources.Limits)+len(e.Resources.Requests)+len(e.Resources.Claims) > 0},
			{"resizePolicy", len(e.ResizePolicy) > 0}, {"lifecycle", e.Lifecycle != nil}, {"livenessProbe", e.LivenessProbe != nil},
			{"readinessProbe", e.ReadinessProbe != nil}, {"startupProbe", e.StartupProbe != nil},
			{"restartPolicy", e.RestartPolicy != nil}, {"restartPolicyRules", len(e.RestartPolicyRules) > 0},
		} {
			if f.set {
				errs = append(errs, field.Forbidden(p.Child(f.name), msg))
			}
		}
		for j, m := range e.VolumeMounts {
			if m.SubPath != "" {
				errs = append(errs, field.Forbidden(p.Child("volumeMounts").Index(j).Child("subPath"), msg))
			}
			if m.SubPathExpr != "" {
				errs = append(errs, field.Forbidden(p.Child("volumeMounts").Index(j).Child("subPathExpr"), msg))
			}
		}
		if e.TargetContainerName != "" && !targets[e.TargetContainerName] {
			errs = append(errs, field.NotFound(p.Child("targetContainerName"), e.TargetContainerName))
		}
	}
	return errs
}
