package openapi

import (
	authenticationv1 "k8s.io/api/authentication/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"kapi/internal/registry"
	"kapi/internal/registry/builtin"
)

// finalize is the namespace's finalize subresource, as documented.
var finalize = &registry.Subresource{Name: "finalize", Verbs: []string{"update"}}

// token is serviceaccounts/token, as documented.
var token = registry.ActionSubresource("token", authenticationv1.SchemeGroupVersion.WithKind("TokenRequest"),
	func() runtime.Object { return &authenticationv1.TokenRequest{} }, nil)

// gaResources is kube-apiserver 1.37's GA catalogue, written out here so
// the tests cover every group whatever the state of registry/builtin
// (which these tests also build), with the subresources kapi serves.
func gaResources() []*registry.Resource {
	create := []string{"create"}
	noCollection := []string{"create", "delete", "get", "list", "patch", "update", "watch"}
	type row = registry.Resource
	rows := []row{
		{Version: "v1", Name: "bindings", Kind: "Binding", Namespaced: true, Verbs: create},
		{Version: "v1", Name: "componentstatuses", Kind: "ComponentStatus", Verbs: []string{"get", "list"}},
		{Version: "v1", Name: "configmaps", Kind: "ConfigMap", Namespaced: true},
		{Version: "v1", Name: "endpoints", Kind: "Endpoints", Namespaced: true},
		{Version: "v1", Name: "events", Kind: "Event", Namespaced: true},
		{Version: "v1", Name: "limitranges", Kind: "LimitRange", Namespaced: true},
		{Version: "v1", Name: "namespaces", Kind: "Namespace", Verbs: noCollection, Subresources: []*registry.Subresource{registry.Status, finalize}},
		{Version: "v1", Name: "nodes", Kind: "Node", Subresources: []*registry.Subresource{registry.Status}},
		{Version: "v1", Name: "persistentvolumeclaims", Kind: "PersistentVolumeClaim", Namespaced: true, ReturnDeletedObject: true, Subresources: []*registry.Subresource{registry.Status}},
		{Version: "v1", Name: "persistentvolumes", Kind: "PersistentVolume", Subresources: []*registry.Subresource{registry.Status}},
		{Version: "v1", Name: "pods", Kind: "Pod", Namespaced: true, ReturnDeletedObject: true,
			Subresources: []*registry.Subresource{registry.Status}},
		{Version: "v1", Name: "podtemplates", Kind: "PodTemplate", Namespaced: true},
		{Version: "v1", Name: "replicationcontrollers", Kind: "ReplicationController", Namespaced: true, Subresources: []*registry.Subresource{registry.Status, registry.ScaleSubresource}},
		{Version: "v1", Name: "resourcequotas", Kind: "ResourceQuota", Namespaced: true, Subresources: []*registry.Subresource{registry.Status}},
		{Version: "v1", Name: "secrets", Kind: "Secret", Namespaced: true},
		{Version: "v1", Name: "serviceaccounts", Kind: "ServiceAccount", Namespaced: true, Subresources: []*registry.Subresource{token}},
		{Version: "v1", Name: "services", Kind: "Service", Namespaced: true, Subresources: []*registry.Subresource{registry.Status}},

		{Group: "apps", Version: "v1", Name: "controllerrevisions", Kind: "ControllerRevision", Namespaced: true},
		{Group: "apps", Version: "v1", Name: "daemonsets", Kind: "DaemonSet", Namespaced: true, Subresources: []*registry.Subresource{registry.Status}},
		{Group: "apps", Version: "v1", Name: "deployments", Kind: "Deployment", Namespaced: true, Subresources: []*registry.Subresource{registry.Status, registry.ScaleSubresource}},
		{Group: "apps", Version: "v1", Name: "replicasets", Kind: "ReplicaSet", Namespaced: true, Subresources: []*registry.Subresource{registry.Status, registry.ScaleSubresource}},
		{Group: "apps", Version: "v1", Name: "statefulsets", Kind: "StatefulSet", Namespaced: true, Subresources: []*registry.Subresource{registry.Status, registry.ScaleSubresource}},

		{Group: "batch", Version: "v1", Name: "cronjobs", Kind: "CronJob", Namespaced: true, Subresources: []*registry.Subresource{registry.Status}},
		{Group: "batch", Version: "v1", Name: "jobs", Kind: "Job", Namespaced: true, Subresources: []*registry.Subresource{registry.Status}},
		{Group: "autoscaling", Version: "v1", Name: "horizontalpodautoscalers", Kind: "HorizontalPodAutoscaler", Namespaced: true, Subresources: []*registry.Subresource{registry.Status}},
		{Group: "autoscaling", Version: "v2", Name: "horizontalpodautoscalers", Kind: "HorizontalPodAutoscaler", Namespaced: true, Subresources: []*registry.Subresource{registry.Status}},
		{Group: "policy", Version: "v1", Name: "poddisruptionbudgets", Kind: "PodDisruptionBudget", Namespaced: true, Subresources: []*registry.Subresource{registry.Status}},

		{Group: "networking.k8s.io", Version: "v1", Name: "ingressclasses", Kind: "IngressClass"},
		{Group: "networking.k8s.io", Version: "v1", Name: "ingresses", Kind: "Ingress", Namespaced: true, Subresources: []*registry.Subresource{registry.Status}},
		{Group: "networking.k8s.io", Version: "v1", Name: "networkpolicies", Kind: "NetworkPolicy", Namespaced: true},
		{Group: "networking.k8s.io", Version: "v1", Name: "ipaddresses", Kind: "IPAddress"},
		{Group: "networking.k8s.io", Version: "v1", Name: "servicecidrs", Kind: "ServiceCIDR", Subresources: []*registry.Subresource{registry.Status}},

		{Group: "rbac.authorization.k8s.io", Version: "v1", Name: "clusterrolebindings", Kind: "ClusterRoleBinding"},
		{Group: "rbac.authorization.k8s.io", Version: "v1", Name: "clusterroles", Kind: "ClusterRole"},
		{Group: "rbac.authorization.k8s.io", Version: "v1", Name: "rolebindings", Kind: "RoleBinding", Namespaced: true},
		{Group: "rbac.authorization.k8s.io", Version: "v1", Name: "roles", Kind: "Role", Namespaced: true},

		{Group: "coordination.k8s.io", Version: "v1", Name: "leases", Kind: "Lease", Namespaced: true},
		{Group: "discovery.k8s.io", Version: "v1", Name: "endpointslices", Kind: "EndpointSlice", Namespaced: true},
		{Group: "events.k8s.io", Version: "v1", Name: "events", Kind: "Event", Namespaced: true},

		{Group: "storage.k8s.io", Version: "v1", Name: "csidrivers", Kind: "CSIDriver"},
		{Group: "storage.k8s.io", Version: "v1", Name: "csinodes", Kind: "CSINode"},
		{Group: "storage.k8s.io", Version: "v1", Name: "csistoragecapacities", Kind: "CSIStorageCapacity", Namespaced: true},
		{Group: "storage.k8s.io", Version: "v1", Name: "storageclasses", Kind: "StorageClass"},
		{Group: "storage.k8s.io", Version: "v1", Name: "volumeattachments", Kind: "VolumeAttachment", Subresources: []*registry.Subresource{registry.Status}},
		{Group: "storage.k8s.io", Version: "v1", Name: "volumeattributesclasses", Kind: "VolumeAttributesClass"},

		{Group: "scheduling.k8s.io", Version: "v1", Name: "priorityclasses", Kind: "PriorityClass"},
		{Group: "node.k8s.io", Version: "v1", Name: "runtimeclasses", Kind: "RuntimeClass"},
		{Group: "certificates.k8s.io", Version: "v1", Name: "certificatesigningrequests", Kind: "CertificateSigningRequest", Subresources: []*registry.Subresource{registry.Status}},

		{Group: "admissionregistration.k8s.io", Version: "v1", Name: "mutatingwebhookconfigurations", Kind: "MutatingWebhookConfiguration"},
		{Group: "admissionregistration.k8s.io", Version: "v1", Name: "validatingwebhookconfigurations", Kind: "ValidatingWebhookConfiguration"},
		{Group: "admissionregistration.k8s.io", Version: "v1", Name: "validatingadmissionpolicies", Kind: "ValidatingAdmissionPolicy", Subresources: []*registry.Subresource{registry.Status}},
		{Group: "admissionregistration.k8s.io", Version: "v1", Name: "validatingadmissionpolicybindings", Kind: "ValidatingAdmissionPolicyBinding"},
		{Group: "admissionregistration.k8s.io", Version: "v1", Name: "mutatingadmissionpolicies", Kind: "MutatingAdmissionPolicy"},
		{Group: "admissionregistration.k8s.io", Version: "v1", Name: "mutatingadmissionpolicybindings", Kind: "MutatingAdmissionPolicyBinding"},

		{Group: "flowcontrol.apiserver.k8s.io", Version: "v1", Name: "flowschemas", Kind: "FlowSchema", Subresources: []*registry.Subresource{registry.Status}},
		{Group: "flowcontrol.apiserver.k8s.io", Version: "v1", Name: "prioritylevelconfigurations", Kind: "PriorityLevelConfiguration", Subresources: []*registry.Subresource{registry.Status}},

		{Group: "resource.k8s.io", Version: "v1", Name: "deviceclasses", Kind: "DeviceClass"},
		{Group: "resource.k8s.io", Version: "v1", Name: "resourceclaims", Kind: "ResourceClaim", Namespaced: true, Subresources: []*registry.Subresource{registry.Status}},
		{Group: "resource.k8s.io", Version: "v1", Name: "resourceclaimtemplates", Kind: "ResourceClaimTemplate", Namespaced: true},
		{Group: "resource.k8s.io", Version: "v1", Name: "resourceslices", Kind: "ResourceSlice"},

		{Group: "authentication.k8s.io", Version: "v1", Name: "selfsubjectreviews", Kind: "SelfSubjectReview", Verbs: create},
		{Group: "authentication.k8s.io", Version: "v1", Name: "tokenreviews", Kind: "TokenReview", Verbs: create},
		{Group: "authorization.k8s.io", Version: "v1", Name: "localsubjectaccessreviews", Kind: "LocalSubjectAccessReview", Namespaced: true, Verbs: create},
		{Group: "authorization.k8s.io", Version: "v1", Name: "selfsubjectaccessreviews", Kind: "SelfSubjectAccessReview", Verbs: create},
		{Group: "authorization.k8s.io", Version: "v1", Name: "selfsubjectrulesreviews", Kind: "SelfSubjectRulesReview", Verbs: create},
		{Group: "authorization.k8s.io", Version: "v1", Name: "subjectaccessreviews", Kind: "SubjectAccessReview", Verbs: create},

		{Group: "storagemigration.k8s.io", Version: "v1", Name: "storageversionmigrations", Kind: "StorageVersionMigration", Subresources: []*registry.Subresource{registry.Status}},

		{Group: "apiextensions.k8s.io", Version: "v1", Name: "customresourcedefinitions", Kind: "CustomResourceDefinition", Subresources: []*registry.Subresource{registry.Status}},
		{Group: "apiregistration.k8s.io", Version: "v1", Name: "apiservices", Kind: "APIService", Subresources: []*registry.Subresource{registry.Status}},
	}
	out := make([]*registry.Resource, len(rows))
	for i := range rows {
		out[i] = &rows[i]
	}
	return builtin.Typed(out...)
}

// catalogueOf publishes rows as the built-in resources of a catalogue.
func catalogueOf(rows []*registry.Resource) *registry.Catalogue {
	cat := registry.NewCatalogue()
	stores := make([]*registry.Store, len(rows))
	for i, r := range rows {
		stores[i] = registry.NewStore(r, nil)
	}
	if err := cat.Set(registry.BuiltinOwner, stores); err != nil {
		panic(err)
	}
	return cat
}
