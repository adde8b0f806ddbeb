package core

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// podGracePeriod is kube-apiserver's CheckGracefulDelete for pods: the
// delete's gracePeriodSeconds, else the pod's
// terminationGracePeriodSeconds; but a pod that was never scheduled (no
// spec.nodeName) or has finished (Succeeded, Failed) has no kubelet to
// wait for and goes at once. kapi runs no kubelet, so a scheduled pod
// stays, marked, until a delete with gracePeriodSeconds=0 (kubectl delete
// --force --grace-period=0) removes it.
func podGracePeriod(obj runtime.Object, opts *metav1.DeleteOptions) int64 {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return 0
	}
	var period int64
	switch {
	case opts != nil && opts.GracePeriodSeconds != nil:
		period = *opts.GracePeriodSeconds
	case pod.Spec.TerminationGracePeriodSeconds != nil:
		period = *pod.Spec.TerminationGracePeriodSeconds
	}
	if pod.Spec.NodeName == "" || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		period = 0
	}
	return period
}
