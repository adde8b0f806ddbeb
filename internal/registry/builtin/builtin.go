// Package builtin assembles the catalogue of built-in resources from the
// rows of every group.
package builtin

import (
	"fmt"

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
	"kapi/internal/registry/schemas"
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
	return Typed(all...)
}

// Find is the built-in row of resource name in group, its preferred
// version; nil when there is none.
func Find(group, name string) *registry.Resource {
	for _, r := range Resources() {
		if r.Group == group && r.Name == name {
			return r
		}
	}
	return nil
}

// Typed gives rows of built-in kinds their Type, from their Go types: the
// stored rows of Resources, and the computed ones (access reviews,
// TokenReview) the server makes. Conversions between the versions of a
// kind are the rows' own (Convert).
func Typed(rows ...*registry.Resource) []*registry.Resource {
	conv := registry.NewConvertor(rows)
	for _, r := range rows {
		t, err := registry.GoType(r.GVK(), schemas.Builtin, conv)
		if err != nil {
			panic(fmt.Sprintf("catalogue row %s: %v", r.GVR(), err))
		}
		r.Type = t
	}
	return rows
}
