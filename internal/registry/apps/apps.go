// Package apps holds the rows of the apps group, v1: the workload
// controllers' objects.
package apps

import (
	"kapi/internal/registry"
)

// Resources returns the apps/v1 rows. The workloads are in the "all"
// category, count generations and have status subresources, each
// validated as kube validates the status alone (status.go); all but
// daemon sets scale.
func Resources() []*registry.Resource {
	return []*registry.Resource{
		{Group: "apps", Version: "v1", Name: "controllerrevisions", Kind: "ControllerRevision", Namespaced: true,
			Hooks: controllerRevisionHooks, Table: controllerRevisionTable},
		{Group: "apps", Version: "v1", Name: "daemonsets", Kind: "DaemonSet", Namespaced: true,
			ShortNames: []string{"ds"}, Categories: []string{"all"}, Subresources: []*registry.Subresource{daemonSetStatus},
			Generation: true, Hooks: daemonSetHooks, Table: daemonSetTable},
		{Group: "apps", Version: "v1", Name: "deployments", Kind: "Deployment", Namespaced: true,
			ShortNames: []string{"deploy"}, Categories: []string{"all"},
			Subresources: []*registry.Subresource{deploymentStatus, registry.ScaleSubresource},
			Generation:   true, Hooks: deploymentHooks, Table: DeploymentTable},
		{Group: "apps", Version: "v1", Name: "replicasets", Kind: "ReplicaSet", Namespaced: true,
			ShortNames: []string{"rs"}, Categories: []string{"all"}, Subresources: []*registry.Subresource{replicaSetStatus, registry.ScaleSubresource},
			Generation: true, Hooks: replicaSetHooks, Table: replicaSetTable},
		{Group: "apps", Version: "v1", Name: "statefulsets", Kind: "StatefulSet", Namespaced: true,
			ShortNames: []string{"sts"}, Categories: []string{"all"}, Subresources: []*registry.Subresource{statefulSetStatus, registry.ScaleSubresource},
			Generation: true, Hooks: statefulSetHooks, Table: statefulSetTable},
	}
}
