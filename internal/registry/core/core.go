// Package core holds the rows of the core (legacy, "") group, v1, and what
// is particular to its types.
package core

import (
	"kapi/internal/registry"
)

// Resources returns the core/v1 rows of the catalogue.
//
// Where a row differs from the defaults it follows kube-apiserver's
// registry for the type (pkg/registry/core/*): its short names and
// categories, the etcd key prefixes of pkg/kubeapiserver's storage factory
// ("services/specs", "minions", "controllers"), the stores that answer a
// delete with the object, the name rule its validation applies, and its
// default garbage collection policy (a v1 ReplicationController orphans
// its pods, events take no collector's finalizers). Core events keep only
// the path-segment rule: kube-apiserver validates names more strictly for
// events.k8s.io only, for compatibility with old clients.
func Resources() []*registry.Resource {
	return []*registry.Resource{
		{Version: "v1", Name: "namespaces", Kind: "Namespace", ShortNames: []string{"ns"},
			Verbs:        []string{"create", "delete", "get", "list", "patch", "update", "watch"},
			Subresources: []*registry.Subresource{namespaceStatus, namespaceFinalize}, Names: registry.DNSLabel,
			ReturnDeletedObject: true, Hooks: namespaceHooks, Fields: namespaceFields, Table: namespaceTable},
		{Version: "v1", Name: "configmaps", Kind: "ConfigMap", Namespaced: true, ShortNames: []string{"cm"},
			Hooks: configMapHooks, Table: configMapTable},
		{Version: "v1", Name: "secrets", Kind: "Secret", Namespaced: true, Hooks: secretHooks, Fields: secretFields,
			Table: secretTable},
		{Version: "v1", Name: "pods", Kind: "Pod", Namespaced: true, ShortNames: []string{"po"},
			Categories: []string{"all"}, ReturnDeletedObject: true, Generation: true,
			// As kube-apiserver's: a status write cannot change a pod's
			// owner references (old kubelets corrupted them).
			Subresources: []*registry.Subresource{registry.StatusSubresource("metadata.ownerReferences"), EphemeralContainers, Resize},
			Hooks:        podHooks, Fields: podFields, FieldAliases: map[string]string{"spec.host": "spec.nodeName"}, Table: PodTable, GracePeriod: podGracePeriod},
		{Version: "v1", Name: "services", Kind: "Service", Namespaced: true, ShortNames: []string{"svc"},
			Categories: []string{"all"}, Subresources: []*registry.Subresource{serviceStatus}, Names: registry.DNSLabel, KeyPrefix: "services/specs",
			ReturnDeletedObject: true, Hooks: serviceHooks, Fields: serviceFields, Table: serviceTable},
		{Version: "v1", Name: "endpoints", Kind: "Endpoints", Namespaced: true, ShortNames: []string{"ep"},
			KeyPrefix: "services/endpoints", AllowCreateOnUpdate: true,
			Deprecation: "v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice", Table: endpointsTable},
		{Version: "v1", Name: "serviceaccounts", Kind: "ServiceAccount", Namespaced: true, ShortNames: []string{"sa"},
			ReturnDeletedObject: true, Table: serviceAccountTable, Hooks: &registry.Hooks{Warnings: serviceAccountWarnings}},
		{Version: "v1", Name: "events", Kind: "Event", Namespaced: true, ShortNames: []string{"ev"},
			Names: registry.PathSegment, Fields: EventFields, Table: EventTable, Hooks: eventHooks, AllowCreateOnUpdate: true,
			AnyFinalizers: true, GarbageCollection: registry.GCUnsupported}, // (kube checks a core event's metadata less than an events.k8s.io one's)
		{Version: "v1", Name: "nodes", Kind: "Node", ShortNames: []string{"no"}, Subresources: []*registry.Subresource{registry.Status},
			KeyPrefix: "minions", KeepStatusOnCreate: true, Hooks: nodeHooks, Fields: nodeFields, Table: nodeTable},
		{Version: "v1", Name: "persistentvolumes", Kind: "PersistentVolume", ShortNames: []string{"pv"},
			Subresources: []*registry.Subresource{registry.Status}, ReturnDeletedObject: true, Hooks: persistentVolumeHooks,
			Table: persistentVolumeTable},
		{Version: "v1", Name: "persistentvolumeclaims", Kind: "PersistentVolumeClaim", Namespaced: true,
			ShortNames: []string{"pvc"}, Subresources: []*registry.Subresource{registry.Status}, ReturnDeletedObject: true,
			Hooks: persistentVolumeClaimHooks, Table: persistentVolumeClaimTable},
		{Version: "v1", Name: "limitranges", Kind: "LimitRange", Namespaced: true, ShortNames: []string{"limits"}, Hooks: limitRangeHooks},
		{Version: "v1", Name: "resourcequotas", Kind: "ResourceQuota", Namespaced: true, ShortNames: []string{"quota"},
			Subresources: []*registry.Subresource{registry.Status}, Hooks: resourceQuotaHooks, Table: resourceQuotaTable},
		{Version: "v1", Name: "replicationcontrollers", Kind: "ReplicationController", Namespaced: true,
			ShortNames: []string{"rc"}, Categories: []string{"all"}, Subresources: []*registry.Subresource{replicationControllerStatus, registry.ScaleSubresource},
			KeyPrefix: "controllers", Generation: true, Hooks: replicationControllerHooks, GarbageCollection: registry.GCOrphan,
			Fields: replicationControllerFields, Table: replicationControllerTable},
		{Version: "v1", Name: "podtemplates", Kind: "PodTemplate", Namespaced: true, Generation: true, Hooks: podTemplateHooks,
			Table: podTemplateTable},
	}
}
