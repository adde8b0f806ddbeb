package registry

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Cell formatting that the tables of several groups share, as
// kube-apiserver's printers write it.

// ContainerCells lays out the CONTAINERS and IMAGES cells of a pod
// template: names and images, comma-separated, in order.
func ContainerCells(containers []corev1.Container) (names, images string) {
	n := make([]string, len(containers))
	im := make([]string, len(containers))
	for i, c := range containers {
		n[i], im[i] = c.Name, c.Image
	}
	return strings.Join(n, ","), strings.Join(im, ",")
}

// OrNone returns s, or "<none>" when it is empty.
func OrNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}
