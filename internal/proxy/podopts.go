package proxy

import (
	"context"
	"fmt"
	"net/url"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// The options of pods/log, exec, attach and portforward come in the
// query, read as kube's parameter codec reads them (its generated
// url.Values conversions): the first value of a parameter counts, a
// boolean is false only when absent, "false" or "0", a number that does
// not parse is a 400 with strconv's message (registry.QueryBool).

func queryInt64(q url.Values, key string) (*int64, error) {
	v, ok := q[key]
	if !ok || len(v) == 0 || v[0] == "" {
		return nil, nil
	}
	n, err := strconv.ParseInt(v[0], 10, 64)
	if err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	return &n, nil
}

// pod reads the pod ns/name.
func (k *Kubelets) pod(ctx context.Context, ns, name string) (*corev1.Pod, error) {
	obj, err := k.objects.Get(ctx, podsGVR, ns, name)
	if err != nil {
		return nil, err
	}
	return obj.(*corev1.Pod), nil
}

// containerOf is the container a log, exec or attach is for, as kube's
// validateContainer: the one named (which must be one of the pod's init,
// regular or ephemeral containers), or the pod's only container; with
// several, the client must choose and is told the names.
func containerOf(pod *corev1.Pod, name string) (string, error) {
	if name != "" {
		for _, c := range allContainers(pod) {
			if c == name {
				return name, nil
			}
		}
		return "", apierrors.NewBadRequest(fmt.Sprintf("container %s is not valid for pod %s", name, pod.Name))
	}
	switch len(pod.Spec.Containers) {
	case 1:
		return pod.Spec.Containers[0].Name, nil
	case 0:
		return "", apierrors.NewBadRequest(fmt.Sprintf("a container name must be specified for pod %s", pod.Name))
	}
	return "", apierrors.NewBadRequest(fmt.Sprintf("a container name must be specified for pod %s, choose one of: %s", pod.Name, allContainers(pod)))
}

// allContainers names the pod's containers in kube's VisitContainers
// order: init, regular, ephemeral.
func allContainers(pod *corev1.Pod) []string {
	var names []string
	for _, c := range pod.Spec.InitContainers {
		names = append(names, c.Name)
	}
	for _, c := range pod.Spec.Containers {
		names = append(names, c.Name)
	}
	for _, c := range pod.Spec.EphemeralContainers {
		names = append(names, c.Name)
	}
	return names
}

// noHost is kube's answer to an exec, attach or port-forward for a pod
// not yet scheduled.
func noHost(name string) error {
	return apierrors.NewBadRequest(fmt.Sprintf("pod %s does not have a host assigned", name))
}
