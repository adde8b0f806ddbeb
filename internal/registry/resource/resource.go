// Package resource holds the rows of resource.k8s.io/v1: dynamic resource
// allocation.
package resource

import (
	"strings"
	"time"

	resourcev1 "k8s.io/api/resource/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"kapi/internal/registry"
)

const group = "resource.k8s.io"

// Resources returns the resource.k8s.io/v1 rows, DeviceTaintRules
// included, which 1.37 serves in v1.
func Resources() []*registry.Resource {
	return []*registry.Resource{
		{Group: group, Version: "v1", Name: "deviceclasses", Kind: "DeviceClass", Generation: true, Table: ageOnly, Hooks: classHooks},
		{Group: group, Version: "v1", Name: "devicetaintrules", Kind: "DeviceTaintRule", Subresources: []*registry.Subresource{taintRuleStatus},
			Generation: true, Hooks: taintRuleHooks},
		{Group: group, Version: "v1", Name: "resourceclaims", Kind: "ResourceClaim", Namespaced: true,
			Subresources: []*registry.Subresource{claimStatus}, Table: resourceClaimTable, Hooks: claimHooks},
		{Group: group, Version: "v1", Name: "resourceclaimtemplates", Kind: "ResourceClaimTemplate", Namespaced: true,
			Table: ageOnly, Hooks: claimTemplateHooks},
		{Group: group, Version: "v1", Name: "resourceslices", Kind: "ResourceSlice", Generation: true,
			Fields: resourceSliceFields, Table: resourceSliceTable, Hooks: sliceHooks},
	}
}

// The status subresources of claims and taint rules: kube's status
// strategies keep the spec and, as metav1.ResetObjectMetaForStatus, the
// labels, annotations, finalizers and owners, and validate the status
// (ValidateResourceClaimStatusUpdate, ValidateDeviceTaintRuleStatusUpdate).
var (
	claimStatus     = withPrepare(registry.ValidatedStatus(validateClaimStatus, registry.StatusMetadataResets...), dropDeallocatedDevices)
	taintRuleStatus = registry.ValidatedStatus(validateTaintRuleStatus, registry.StatusMetadataResets...)
)

func withPrepare(s *registry.Subresource, prepare func(obj, old runtime.Object)) *registry.Subresource {
	s.PrepareForUpdate = prepare
	return s
}

// dropDeallocatedDevices is kube's dropDeallocatedStatusDevices: a status
// write that takes a device out of the allocation drops that device's
// status too.
func dropDeallocatedDevices(obj, old runtime.Object) {
	c, o := obj.(*resourcev1.ResourceClaim), old.(*resourcev1.ResourceClaim)
	gone := map[string]bool{}
	if o.Status.Allocation != nil {
		for _, r := range o.Status.Allocation.Devices.Results {
			gone[sharedDeviceID(r.Driver, r.Pool, r.Device, (*string)(r.ShareID))] = true
		}
	}
	if c.Status.Allocation != nil {
		for _, r := range c.Status.Allocation.Devices.Results {
			delete(gone, sharedDeviceID(r.Driver, r.Pool, r.Device, (*string)(r.ShareID)))
		}
	}
	kept := c.Status.Devices[:0]
	for _, d := range c.Status.Devices {
		if !gone[sharedDeviceID(d.Driver, d.Pool, d.Device, d.ShareID)] {
			kept = append(kept, d)
		}
	}
	c.Status.Devices = kept
	if len(kept) == 0 {
		c.Status.Devices = nil
	}
}

// ageOnly is NAME AGE, which kube-apiserver prints for device classes and
// claim templates.
var ageOnly = &registry.TableDef{
	Columns: []metav1.TableColumnDefinition{registry.AgeColumn},
	Row: func(obj runtime.Object, now time.Time) []interface{} {
		return []interface{}{registry.Age(obj, now)}
	},
}

// resourceClaimTable: NAME STATE AGE, the state a summary such as
// "allocated,reserved" or "pending".
var resourceClaimTable = &registry.TableDef{
	Columns: []metav1.TableColumnDefinition{
		{Name: "State", Type: "string", Description: "A summary of the current state (allocated, pending, reserved, etc.)."},
		registry.AgeColumn,
	},
	Row: func(obj runtime.Object, now time.Time) []interface{} {
		c := obj.(*resourcev1.ResourceClaim)
		var states []string
		if c.DeletionTimestamp != nil {
			states = append(states, "deleted")
		}
		switch {
		case c.Status.Allocation == nil && c.DeletionTimestamp == nil:
			states = append(states, "pending")
		case c.Status.Allocation != nil:
			states = append(states, "allocated")
			if len(c.Status.ReservedFor) > 0 {
				states = append(states, "reserved")
			}
		}
		return []interface{}{strings.Join(states, ","), registry.Age(c, now)}
	},
}

var sliceDocs = resourcev1.ResourceSliceSpec{}.SwaggerDoc()

var resourceSliceTable = &registry.TableDef{
	Columns: []metav1.TableColumnDefinition{
		{Name: "Node", Type: "string", Description: sliceDocs["nodeName"]},
		{Name: "Driver", Type: "string", Description: sliceDocs["driver"]},
		{Name: "Pool", Type: "string", Description: resourcev1.ResourcePool{}.SwaggerDoc()["name"]},
		registry.AgeColumn,
	},
	Row: func(obj runtime.Object, now time.Time) []interface{} {
		s := obj.(*resourcev1.ResourceSlice)
		node := ""
		if s.Spec.NodeName != nil {
			node = *s.Spec.NodeName
		}
		return []interface{}{node, s.Spec.Driver, s.Spec.Pool.Name, registry.Age(s, now)}
	},
}

// resourceSliceFields are kube's selectable fields of a ResourceSlice:
// its node (kubelets' DRA plugins watch theirs), driver and pool.
func resourceSliceFields(obj runtime.Object) map[string]string {
	s := obj.(*resourcev1.ResourceSlice)
	node := ""
	if s.Spec.NodeName != nil {
		node = *s.Spec.NodeName
	}
	return map[string]string{"spec.nodeName": node, "spec.driver": s.Spec.Driver, "spec.pool.name": s.Spec.Pool.Name}
}
