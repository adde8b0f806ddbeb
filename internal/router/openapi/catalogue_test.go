package openapi

import "kapi/internal/registry"

// gaResources is kube-apiserver 1.37's GA catalogue, written out here so
// the tests cover every group and subresource whatever the state of
// registry/builtin (which these tests also build).
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
		{Version: "v1", Name: "namespaces", Kind: "Namespace", Verbs: noCollection, Subresources: []string{"status", "finalize"}},
		{Version: "v1", Name: "nodes", Kind: "Node", Subresources: []string{"status", "proxy"}},
		{Version: "v1", Name: "persistentvolumeclaims", Kind: "PersistentVolumeClaim", Namespaced: true, ReturnDeletedObject: true, Subresources: []string{"status"}},
		{Version: "v1", Name: "persistentvolumes", Kind: "PersistentVolume", Subresources: []string{"status"}},
		{Version: "v1", Name: "pods", Kind: "Pod", Namespaced: true, ReturnDeletedObject: true,
			Subresources: []string{"status", "binding", "eviction", "ephemeralcontainers", "resize", "log", "exec", "attach", "portforward", "proxy"}},
		{Version: "v1", Name: "podtemplates", Kind: "PodTemplate", Namespaced: true},
		{Version: "v1", Name: "replicationcontrollers", Kind: "ReplicationController", Namespaced: true, Subresources: []string{"status", "scale"}},
		{Version: "v1", Name: "resourcequotas", Kind: "ResourceQuota", Namespaced: true, Subresources: []string{"status"}},
		{Version: "v1", Name: "secrets", Kind: "Secret", Namespaced: true},
		{Version: "v1", Name: "serviceaccounts", Kind: "ServiceAccount", Namespaced: true, Subresources: []string{"token"}},
		{Version: "v1", Name: "services", Kind: "Service", Namespaced: true, Subresources: []string{"status", "proxy"}},

		{Group: "apps", Version: "v1", Name: "controllerrevisions", Kind: "ControllerRevision", Namespaced: true},
		{Group: "apps", Version: "v1", Name: "daemonsets", Kind: "DaemonSet", Namespaced: true, Subresources: []string{"status"}},
		{Group: "apps", Version: "v1", Name: "deployments", Kind: "Deployment", Namespaced: true, Subresources: []string{"status", "scale"}},
		{Group: "apps", Version: "v1", Name: "replicasets", Kind: "ReplicaSet", Namespaced: true, Subresources: []string{"status", "scale"}},
		{Group: "apps", Version: "v1", Name: "statefulsets", Kind: "StatefulSet", Namespaced: true, Subresources: []string{"status", "scale"}},

		{Group: "batch", Version: "v1", Name: "cronjobs", Kind: "CronJob", Namespaced: true, Subresources: []string{"status"}},
		{Group: "batch", Version: "v1", Name: "jobs", Kind: "Job", Namespaced: true, Subresources: []string{"status"}},
		{Group: "autoscaling", Version: "v1", Name: "horizontalpodautoscalers", Kind: "HorizontalPodAutoscaler", Namespaced: true, Subresources: []string{"status"}},
		{Group: "autoscaling", Version: "v2", Name: "horizontalpodautoscalers", Kind: "HorizontalPodAutoscaler", Namespaced: true, Subresources: []string{"status"}},
		{Group: "policy", Version: "v1", Name: "poddisruptionbudgets", Kind: "PodDisruptionBudget", Namespaced: true, Subresources: []string{"status"}},

		{Group: "networking.k8s.io", Version: "v1", Name: "ingressclasses", Kind: "IngressClass"},
		{Group: "networking.k8s.io", Version: "v1", Name: "ingresses", Kind: "Ingress", Namespaced: true, Subresources: []string{"status"}},
		{Group: "networking.k8s.io", Version: "v1", Name: "networkpolicies", Kind: "NetworkPolicy", Namespaced: true},
		{Group: "networking.k8s.io", Version: "v1", Name: "ipaddresses", Kind: "IPAddress"},
		{Group: "networking.k8s.io", Version: "v1", Name: "servicecidrs", Kind: "ServiceCIDR", Subresources: []string{"status"}},

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
		{Group: "storage.k8s.io", Version: "v1", Name: "volumeattachments", Kind: "VolumeAttachment", Subresources: []string{"status"}},
		{Group: "storage.k8s.io", Version: "v1", Name: "volumeattributesclasses", Kind: "VolumeAttributesClass"},

		{Group: "scheduling.k8s.io", Version: "v1", Name: "priorityclasses", Kind: "PriorityClass"},
		{Group: "node.k8s.io", Version: "v1", Name: "runtimeclasses", Kind: "RuntimeClass"},
		{Group: "certificates.k8s.io", Version: "v1", Name: "certificatesigningrequests", Kind: "CertificateSigningRequest", Subresources: []string{"status", "approval"}},

		{Group: "admissionregistration.k8s.io", Version: "v1", Name: "mutatingwebhookconfigurations", Kind: "MutatingWebhookConfiguration"},
		{Group: "admissionregistration.k8s.io", Version: "v1", Name: "validatingwebhookconfigurations", Kind: "ValidatingWebhookConfiguration"},
		{Group: "admissionregistration.k8s.io", Version: "v1", Name: "validatingadmissionpolicies", Kind: "ValidatingAdmissionPolicy", Subresources: []string{"status"}},
		{Group: "admissionregistration.k8s.io", Version: "v1", Name: "validatingadmissionpolicybindings", Kind: "ValidatingAdmissionPolicyBinding"},
		{Group: "admissionregistration.k8s.io", Version: "v1", Name: "mutatingadmissionpolicies", Kind: "MutatingAdmissionPolicy"},
		{Group: "admissionregistration.k8s.io", Version: "v1", Name: "mutatingadmissionpolicybindings", Kind: "MutatingAdmissionPolicyBinding"},

		{Group: "flowcontrol.apiserver.k8s.io", Version: "v1", Name: "flowschemas", Kind: "FlowSchema", Subresources: []string{"status"}},
		{Group: "flowcontrol.apiserver.k8s.io", Version: "v1", Name: "prioritylevelconfigurations", Kind: "PriorityLevelConfiguration", Subresources: []string{"status"}},

		{Group: "resource.k8s.io", Version: "v1", Name: "deviceclasses", Kind: "DeviceClass"},
		{Group: "resource.k8s.io", Version: "v1", Name: "resourceclaims", Kind: "ResourceClaim", Namespaced: true, Subresources: []string{"status"}},
		{Group: "resource.k8s.io", Version: "v1", Name: "resourceclaimtemplates", Kind: "ResourceClaimTemplate", Namespaced: true},
		{Group: "resource.k8s.io", Version: "v1", Name: "resourceslices", Kind: "ResourceSlice"},

		{Group: "authentication.k8s.io", Version: "v1", Name: "selfsubjectreviews", Kind: "SelfSubjectReview", Verbs: create},
		{Group: "authentication.k8s.io", Version: "v1", Name: "tokenreviews", Kind: "TokenReview", Verbs: create},
		{Group: "authorization.k8s.io", Version: "v1", Name: "localsubjectaccessreviews", Kind: "LocalSubjectAccessReview", Namespaced: true, Verbs: create},
		{Group: "authorization.k8s.io", Version: "v1", Name: "selfsubjectaccessreviews", Kind: "SelfSubjectAccessReview", Verbs: create},
		{Group: "authorization.k8s.io", Version: "v1", Name: "selfsubjectrulesreviews", Kind: "SelfSubjectRulesReview", Verbs: create},
		{Group: "authorization.k8s.io", Version: "v1", Name: "subjectaccessreviews", Kind: "SubjectAccessReview", Verbs: create},

		{Group: "storagemigration.k8s.io", Version: "v1", Name: "storageversionmigrations", Kind: "StorageVersionMigration", Subresources: []string{"status"}},

		{Group: "apiextensions.k8s.io", Version: "v1", Name: "customresourcedefinitions", Kind: "CustomResourceDefinition", Subresources: []string{"status"}},
		{Group: "apiregistration.k8s.io", Version: "v1", Name: "apiservices", Kind: "APIService", Subresources: []string{"status"}},
	}
	out := make([]*registry.Resource, len(rows))
	for i := range rows {
		out[i] = &rows[i]
	}
	return out
}
