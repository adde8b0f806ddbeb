package admission

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// RuntimeClass is kube-apiserver's plugin of the same name: a pod created
// with spec.runtimeClassName gets the class's overhead and its
// scheduling (node selector and tolerations merged into the pod's); an
// unknown class, an overhead other than the class's and a node selector
// that contradicts it are refused.
type RuntimeClass struct {
	RuntimeClasses Objects
}

// Admit sets overhead and scheduling.
func (p *RuntimeClass) Admit(ctx context.Context, a *Attributes) error {
	pod, rc, err := p.objects(ctx, a)
	if err != nil || pod == nil || rc == nil {
		return err
	}
	if rc.Overhead != nil {
		if len(pod.Spec.Overhead) > 0 && !apiequality.Semantic.DeepEqual(rc.Overhead.PodFixed, pod.Spec.Overhead) {
			return Forbidden(a, fmt.Errorf("pod rejected: Pod's Overhead doesn't match RuntimeClass's defined Overhead"))
		}
		pod.Spec.Overhead = rc.Overhead.PodFixed.DeepCopy()
	}
	if s := rc.Scheduling; s != nil {
		selector := pod.Spec.NodeSelector
		if selector == nil {
			if len(s.NodeSelector) > 0 {
				selector = make(map[string]string, len(s.NodeSelector))
			}
			for k, v := range s.NodeSelector {
				selector[k] = v
			}
		} else {
			for k, v := range s.NodeSelector {
				if podValue, ok := selector[k]; ok && podValue != v {
					return Forbidden(a, fmt.Errorf("conflict: runtimeClass.scheduling.nodeSelector[%s] = %s; pod.spec.nodeSelector[%s] = %s", k, v, k, podValue))
				}
				selector[k] = v
			}
		}
		pod.Spec.NodeSelector = selector
		pod.Spec.Tolerations = mergeTolerations(pod.Spec.Tolerations, s.Tolerations)
	}
	return nil
}

// Validate checks the pod's overhead against its class's.
func (p *RuntimeClass) Validate(ctx context.Context, a *Attributes) error {
	pod, rc, err := p.objects(ctx, a)
	if err != nil || pod == nil {
		return err
	}
	if rc != nil && rc.Overhead != nil {
		if !apiequality.Semantic.DeepEqual(rc.Overhead.PodFixed, pod.Spec.Overhead) {
			return Forbidden(a, fmt.Errorf("pod rejected: Pod's Overhead doesn't match RuntimeClass's defined Overhead"))
		}
	} else if pod.Spec.Overhead != nil {
		return Forbidden(a, fmt.Errorf("pod rejected: Pod Overhead set without corresponding RuntimeClass defined Overhead"))
	}
	return nil
}

// objects are the pod created and its RuntimeClass (nil when it names
// none); pod is nil when the plugin does not look at the write.
func (p *RuntimeClass) objects(ctx context.Context, a *Attributes) (*corev1.Pod, *nodev1.RuntimeClass, error) {
	if a.Operation != Create || !is(a, "", "pods") || a.Subresource != "" {
		return nil, nil, nil
	}
	pod, ok := a.Object.(*corev1.Pod)
	if !ok {
		return nil, nil, apierrors.NewBadRequest("Resource was marked with kind Pod but was unable to be converted")
	}
	if pod.Spec.RuntimeClassName == nil {
		return pod, nil, nil
	}
	obj, err := p.RuntimeClasses.Get(ctx, "", *pod.Spec.RuntimeClassName)
	if apierrors.IsNotFound(err) {
		return pod, nil, Forbidden(a, fmt.Errorf("pod rejected: RuntimeClass %q not found", *pod.Spec.RuntimeClassName))
	}
	if err != nil {
		return nil, nil, err
	}
	rc, ok := obj.(*nodev1.RuntimeClass)
	if !ok {
		return nil, nil, apierrors.NewInternalError(fmt.Errorf("a RuntimeClass is a %T", obj))
	}
	return pod, rc, nil
}

// mergeTolerations is kube's: the tolerations of both, leaving out one
// that another of them tolerates a superset of (the first of two equal
// ones stays).
func mergeTolerations(first, second []corev1.Toleration) []corev1.Toleration {
	all := append(append([]corev1.Toleration{}, first...), second...)
	var merged []corev1.Toleration
next:
	for i, t := range all {
		for _, m := range merged {
			if tolerationSuperset(m, t) {
				continue next
			}
		}
		for _, later := range all[i+1:] {
			if !apiequality.Semantic.DeepEqual(&t, &later) && tolerationSuperset(later, t) {
				continue next
			}
		}
		merged = append(merged, *t.DeepCopy())
	}
	return merged
}

// tolerationSuperset reports whether ss tolerates everything t does.
func tolerationSuperset(ss, t corev1.Toleration) bool {
	if apiequality.Semantic.DeepEqual(&t, &ss) {
		return true
	}
	if t.Key != ss.Key && (ss.Key != "" || ss.Operator != corev1.TolerationOpExists) {
		return false
	}
	if t.Effect != ss.Effect && ss.Effect != "" {
		return false
	}
	if ss.Effect == corev1.TaintEffectNoExecute && ss.TolerationSeconds != nil &&
		(t.TolerationSeconds == nil || *t.TolerationSeconds > *ss.TolerationSeconds) {
		return false
	}
	switch ss.Operator {
	case corev1.TolerationOpEqual, "":
		return t.Operator == corev1.TolerationOpEqual && t.Value == ss.Value
	case corev1.TolerationOpExists:
		return true
	default:
		return false
	}
}
