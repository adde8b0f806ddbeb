// Package builtin assembles the catalogue of built-in resources from the
// rows of every group.
package builtin

import (
	"kapi/internal/registry"
	"kapi/internal/registry/admissionregistration"
	"kapi/internal/registry/apiextensions"
	"kapi/internal/registry/apiregistration"
	"kapi/internal/registry/apps"
	"kapi/internal/registry/autoscaling"
	"kapi/internal/registry/batch"
	"kapi/internal/registry/certificates"
	"kapi/internal/registry/coordination"
	"kapi/internal/registry/core"
	"kapi/internal/registry/discovery"
	"kapi/internal/registry/events"
	"kapi/internal/registry/flowcontrol"
	"kapi/internal/registry/networking"
	"kapi/internal/registry/node"
	"kapi/internal/registry/policy"
	"kapi/internal/registry/rbac"
	"kapi/internal/registry/resource"
	"kapi/internal/registry/scheduling"
	"kapi/internal/registry/storagegroup"
	"kapi/internal/registry/storagemigration"
)

// Resources returns every built-in row, in discovery order: the groups in
// the order kube-apiserver lists them (core first, then its built-in
// groups, then the aggregator's and the CRD server's), a group's preferred
// version first.
func Resources() []*registry.Resource {
	var all []*registry.Resource
	for _, group := range [][]*registry.Resource{
		core.Resources(),
		apiregistration.Resources(),
		apps.Resources(),
		events.Resources(),
		autoscaling.Resources(),
		batch.Resources(),
		certificates.Resources(),
		networking.Resources(),
		policy.Resources(),
		rbac.Resources(),
		storagegroup.Resources(),
		admissionregistration.Resources(),
		apiextensions.Resources(),
		scheduling.Resources(),
		coordination.Resources(),
		node.Resources(),
		discovery.Resources(),
		flowcontrol.Resources(),
		resource.Resources(),
		storagemigration.Resources(),
	} {
		all = append(all, group...)
	}
	return all
}
