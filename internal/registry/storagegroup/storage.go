// Package storagegroup holds the rows of storage.k8s.io, v1 (named so as
// not to be mistaken for internal/storage, the etcd layer).
package storagegroup

import (
	"kapi/internal/registry"
)

const group = "storage.k8s.io"

// Resources returns the storage.k8s.io/v1 rows. kube-apiserver answers a
// delete of the cluster-wide storage objects with the object itself.
func Resources() []*registry.Resource {
	return []*registry.Resource{
		{Group: group, Version: "v1", Name: "csidrivers", Kind: "CSIDriver", ShortNames: []string{"csid"},
			ReturnDeletedObject: true, Hooks: csiDriverHooks, Table: csiDriverTable},
		{Group: group, Version: "v1", Name: "csinodes", Kind: "CSINode", Subresources: []*registry.Subresource{registry.Status},
			ReturnDeletedObject: true, Table: csiNodeTable, Hooks: &registry.Hooks{Validate: validateCSINode}},
		{Group: group, Version: "v1", Name: "csistoragecapacities", Kind: "CSIStorageCapacity", Namespaced: true,
			Table: csiStorageCapacityTable, Hooks: csiStorageCapacityHooks},
		{Group: group, Version: "v1", Name: "storageclasses", Kind: "StorageClass", ShortNames: []string{"sc"},
			ReturnDeletedObject: true, Hooks: storageClassHooks, Table: storageClassTable},
		{Group: group, Version: "v1", Name: "volumeattachments", Kind: "VolumeAttachment", Subresources: []*registry.Subresource{registry.Status},
			ReturnDeletedObject: true, Table: volumeAttachmentTable, Hooks: volumeAttachmentHooks},
		{Group: group, Version: "v1", Name: "volumeattributesclasses", Kind: "VolumeAttributesClass",
			ShortNames: []string{"vac"}, ReturnDeletedObject: true, Hooks: volumeAttributesClassHooks, Table: volumeAttributesClassTable},
	}
}
