package admission

import (
	"context"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/version"
	ndf "k8s.io/component-helpers/nodedeclaredfeatures"
	ndftypes "k8s.io/component-helpers/nodedeclaredfeatures/types"
	"k8s.io/component-helpers/resource"
)

// The plugins below check a change of a pod already bound to a node
// against that node, as kube-apiserver 1.37's do: an update whose
// generation moved (a change of spec), read from the node as the cache
// has it.

// PodResizeValidator is kube-apiserver's plugin of the same name (1.36+):
// a write of pods/resize that changes a bound pod is refused when the
// node is not a Linux node (its kubernetes.io/os label says otherwise)
// or when the pod's requests of cpu or memory exceed the node's
// allocatable.
type PodResizeValidator struct {
	Nodes Objects
}

// Validate checks the resize.
func (p *PodResizeValidator) Validate(ctx context.Context, a *Attributes) error {
	if a.Subresource != "resize" {
		return nil
	}
	pod, _ := changedBoundPod(a)
	if pod == nil {
		return nil
	}
	node, err := nodeOf(ctx, a, p.Nodes, pod.Spec.NodeName)
	if err != nil {
		return err
	}
	if os, ok := node.Labels[corev1.LabelOSStable]; ok && os != "linux" {
		return forbiddenWithCause(a, fmt.Errorf("pod resize is only supported on linux nodes, node %q is %q", node.Name, os), "UnsupportedPlatform")
	}
	requests := resource.PodRequests(pod, resource.PodResourcesOptions{})
	allocatable := node.Status.Allocatable
	cpu, mem := requests[corev1.ResourceCPU], requests[corev1.ResourceMemory]
	var msg []string
	if cpu.Cmp(*allocatable.Cpu()) > 0 {
		msg = append(msg, fmt.Sprintf("cpu, requested: %d, allocatable: %d", cpu.MilliValue(), allocatable.Cpu().MilliValue()))
	}
	if mem.Cmp(*allocatable.Memory()) > 0 {
		msg = append(msg, fmt.Sprintf("memory, requested: %d, allocatable: %d", mem.Value(), allocatable.Memory().Value()))
	}
	if len(msg) > 0 {
		return forbiddenWithCause(a, fmt.Errorf("node didn't have enough allocatable resources: %s", strings.Join(msg, "; ")), "NodeCapacity")
	}
	return nil
}

// NodeDeclaredFeatureValidator is kube-apiserver's plugin of the same
// name (GA in 1.37), for pods: an update of a bound pod (of the pod
// itself or through pods/resize) that needs a feature of the node's
// kubelet (a resize of pod-level resources, of a non-sidecar init
// container, of a memory-backed volume; the features kube's
// component-helpers framework, which this uses, infers) is refused when
// the node does not declare it in status.declaredFeatures. (kube's check
// of ResourceSlices is behind DRANodeAllocatableResources, an alpha gate,
// and is left out.)
type NodeDeclaredFeatureValidator struct {
	Nodes Objects
	// Version is the server's version: features kube made part of every
	// kubelet by then are not asked of nodes.
	Version *version.Version
}

// Validate checks the update.
func (p *NodeDeclaredFeatureValidator) Validate(ctx context.Context, a *Attributes) error {
	if a.Subresource != "" && a.Subresource != "resize" {
		return nil
	}
	pod, old := changedBoundPod(a)
	if pod == nil {
		return nil
	}
	reqs, err := ndf.DefaultFramework.InferForPodUpdate(&ndftypes.PodInfo{Spec: &old.Spec, Status: &old.Status},
		&ndftypes.PodInfo{Spec: &pod.Spec, Status: &pod.Status}, p.Version)
	if err != nil {
		return Forbidden(a, fmt.Errorf("failed to infer pod capability requirements: %w", err))
	}
	if reqs.IsEmpty() {
		return nil
	}
	node, err := nodeOf(ctx, a, p.Nodes, pod.Spec.NodeName)
	if err != nil {
		return err
	}
	result, err := ndf.DefaultFramework.MatchNode(reqs, node)
	if err != nil {
		return Forbidden(a, fmt.Errorf("failed to match pod requirements against node %q: %w", node.Name, err))
	}
	if !result.IsMatch {
		return Forbidden(a, fmt.Errorf("pod update requires features %s which are not available on node %q",
			strings.Join(result.UnsatisfiedRequirements, ", "), node.Name))
	}
	return nil
}

// changedBoundPod is the new and the stored pod of an update of a pod
// bound to a node that changes its generation; nil for any other write.
func changedBoundPod(a *Attributes) (pod, old *corev1.Pod) {
	if a.Operation != Update || !is(a, "", "pods") {
		return nil, nil
	}
	pod, ok := a.Object.(*corev1.Pod)
	old, okOld := a.OldObject.(*corev1.Pod)
	if !ok || !okOld || pod.Spec.NodeName == "" || pod.Generation == old.Generation {
		return nil, nil
	}
	return pod, old
}

// nodeOf reads the pod's node; one that is missing forbids the update,
// as in kube.
func nodeOf(ctx context.Context, a *Attributes, nodes Objects, name string) (*corev1.Node, error) {
	obj, err := nodes.Get(ctx, "", name)
	if apierrors.IsNotFound(err) {
		return nil, Forbidden(a, fmt.Errorf("node %q not found", name))
	}
	if err != nil {
		return nil, Forbidden(a, fmt.Errorf("failed to get node %q: %w", name, err))
	}
	node, ok := obj.(*corev1.Node)
	if !ok {
		return nil, fmt.Errorf("expected a node but got a %T", obj)
	}
	return node, nil
}

// forbiddenWithCause is Forbidden with a cause of the given type, as
// kube's resize validator gives its refusals.
func forbiddenWithCause(a *Attributes, err error, cause metav1.CauseType) error {
	forbidden := Forbidden(a, err)
	var status *apierrors.StatusError
	if errors.As(forbidden, &status) && status.ErrStatus.Details != nil {
		status.ErrStatus.Details.Causes = append(status.ErrStatus.Details.Causes, metav1.StatusCause{Type: cause})
	}
	return forbidden
}
