package core

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// RoundResourceLists are kube's SetDefaults_ResourceList, which its
// generated defaulters run on every ResourceList of core/v1 (a
// container's requests and limits, a pod's overhead, a claim's requests
// and capacity, a node's capacity, a quota's hard and used, a limit
// range's bounds): each quantity rounded up to milli units, so that
// "100u" is stored as "1m".
func RoundResourceLists(lists ...corev1.ResourceList) {
	for _, l := range lists {
		for k, q := range l {
			q.RoundUp(resource.Milli)
			l[k] = q
		}
	}
}

// roundRequirements rounds a set of requirements' requests and limits;
// nil is none.
func roundRequirements(r *corev1.ResourceRequirements) {
	if r != nil {
		RoundResourceLists(r.Limits, r.Requests)
	}
}
