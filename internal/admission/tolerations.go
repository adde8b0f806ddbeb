package admission

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// DefaultTolerationSeconds is how long a pod stays bound to a node that
// is not ready or unreachable: kube-apiserver's default (its flags
// --default-not-ready-toleration-seconds and
// --default-unreachable-toleration-seconds).
const DefaultTolerationSeconds = 300

// DefaultTolerations is kube-apiserver's DefaultTolerationSeconds plugin:
// a pod created or updated without a toleration of the NoExecute taints
// node.kubernetes.io/not-ready and node.kubernetes.io/unreachable gets
// one of 300 seconds for each.
type DefaultTolerations struct {
	NotReadySeconds, UnreachableSeconds int64
}

// Admit adds the tolerations.
func (p DefaultTolerations) Admit(_ context.Context, a *Attributes) error {
	if !is(a, "", "pods") || a.Subresource != "" || (a.Operation != Create && a.Operation != Update) {
		return nil
	}
	pod, ok := a.Object.(*corev1.Pod)
	if !ok {
		return apierrors.NewBadRequest(fmt.Sprintf("expected *api.Pod but got %T", a.Object))
	}
	notReady, unreachable := false, false
	for _, t := range pod.Spec.Tolerations {
		noExecute := t.Effect == corev1.TaintEffectNoExecute || t.Effect == ""
		notReady = notReady || (noExecute && (t.Key == corev1.TaintNodeNotReady || t.Key == ""))
		unreachable = unreachable || (noExecute && (t.Key == corev1.TaintNodeUnreachable || t.Key == ""))
	}
	seconds := func(s int64) *int64 {
		if s == 0 {
			s = DefaultTolerationSeconds
		}
		return &s
	}
	if !notReady {
		pod.Spec.Tolerations = append(pod.Spec.Tolerations, corev1.Toleration{Key: corev1.TaintNodeNotReady,
			Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: seconds(p.NotReadySeconds)})
	}
	if !unreachable {
		pod.Spec.Tolerations = append(pod.Spec.Tolerations, corev1.Toleration{Key: corev1.TaintNodeUnreachable,
			Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: seconds(p.UnreachableSeconds)})
	}
	return nil
}
