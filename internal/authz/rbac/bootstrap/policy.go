package bootstrap

import (
	rbacv1 "k8s.io/api/rbac/v1"
)

// Labels that gather the rules of the aggregated user-facing roles.
const (
	aggregateToAdmin = "rbac.authorization.k8s.io/aggregate-to-admin"
	aggregateToEdit  = "rbac.authorization.k8s.io/aggregate-to-edit"
	aggregateToView  = "rbac.authorization.k8s.io/aggregate-to-view"
)

// ClusterRoles are the ClusterRoles kube-apiserver creates, the
// controllers' included. Each call returns new objects.
func ClusterRoles() []rbacv1.ClusterRole {
	return append(append(userRoles(), componentRoles()...), controllerRoles()...)
}

// ClusterRoleBindings are the ClusterRoleBindings kube-apiserver creates.
func ClusterRoleBindings() []rbacv1.ClusterRoleBinding {
	return append([]rbacv1.ClusterRoleBinding{
		clusterBinding("cluster-admin", groups("system:masters")...),
		clusterBinding("system:basic-user", groups("system:authenticated")...),
		clusterBinding("system:discovery", groups("system:authenticated")...),
		clusterBinding("system:public-info-viewer", groups("system:authenticated", "system:unauthenticated")...),
		clusterBinding("system:monitoring", groups("system:monitoring")...),
		clusterBinding("system:service-account-issuer-discovery", groups("system:serviceaccounts")...),
		clusterBinding("system:cluster-trust-bundle-discovery", groups("system:serviceaccounts")...),
		clusterBinding("system:kube-controller-manager", users("system:kube-controller-manager")...),
		clusterBinding("system:kube-scheduler", users("system:kube-scheduler")...),
		clusterBinding("system:volume-scheduler", users("system:kube-scheduler")...),
		clusterBinding("system:node-proxier", users("system:kube-proxy")...),
		clusterBinding("system:kube-dns", serviceAccount("kube-system", "kube-dns")),
		// Kept with no subjects since the Node authorizer replaced it, so
		// that reconciliation can tighten older clusters.
		clusterBinding("system:node"),
	}, controllerBindings()...)
}

// userRoles: cluster-admin, the aggregated admin/edit/view and their
// parts, and what every user gets (discovery, basic-user, public info).
func userRoles() []rbacv1.ClusterRole {
	return []rbacv1.ClusterRole{
		clusterRole("cluster-admin", rule("*").in("*").on("*"), rule("*").urls("*")),
		clusterRole("system:discovery", rule("get").urls("/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez",
			"/openapi", "/openapi/*", "/readyz", "/version", "/version/")),
		clusterRole("system:basic-user",
			rule("create").in(authzGroup).on("selfsubjectaccessreviews", "selfsubjectrulesreviews"),
			rule("create").in(authn).on("selfsubjectreviews")),
		clusterRole("system:public-info-viewer", rule("get").urls("/healthz", "/livez", "/readyz", "/version", "/version/")),
		clusterRole("system:monitoring", rule("get").urls("/flagz", "/healthz", "/healthz/*", "/livez", "/livez/*",
			"/metrics", "/metrics/slis", "/readyz", "/readyz/*", "/statusz"),
			rule("get").in(core).on("nodes/metrics")),
		clusterRole("system:service-account-issuer-discovery", rule("get").urls("/.well-known/openid-configuration",
			"/.well-known/openid-configuration/", "/openid/v1/jwks", "/openid/v1/jwks/")),
		clusterRole("system:cluster-trust-bundle-discovery", rule(read...).in(certificates).on("clustertrustbundles")),

		aggregated("admin", aggregateToAdmin),
		aggregated("edit", aggregateToEdit, aggregateToAdmin, "true"),
		aggregated("view", aggregateToView, aggregateToEdit, "true"),
		aggregateToAdminRole(),
		aggregateToEditRole(),
		aggregateToViewRole(),
	}
}

func aggregateToAdminRole() rbacv1.ClusterRole {
	r := clusterRole("system:aggregate-to-admin",
		rule("create").in(authzGroup).on("localsubjectaccessreviews"),
		rule(readWrite...).in(rbacGroup).on("rolebindings", "roles"))
	r.Labels[aggregateToAdmin] = "true"
	return r
}

// aggregateToEditRole reads the escalating resources (secrets, exec) and
// writes what a namespace's user runs; not roles, quotas or status.
func aggregateToEditRole() rbacv1.ClusterRole {
	r := clusterRole("system:aggregate-to-edit",
		rule(read...).in(core).on("pods/attach", "pods/exec", "pods/portforward", "pods/proxy", "secrets", "services/proxy"),
		rule("impersonate").in(core).on("serviceaccounts"),
		rule(write...).in(core).on("pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy"),
		rule("create").in(core).on("pods/eviction"),
		rule(write...).in(core).on("configmaps", "events", "persistentvolumeclaims", "replicationcontrollers",
			"replicationcontrollers/scale", "secrets", "serviceaccounts", "services", "services/proxy"),
		rule("create").in(core).on("serviceaccounts/token"),
		rule(write...).in(apps).on("daemonsets", "deployments", "deployments/rollback", "deployments/scale",
			"replicasets", "replicasets/scale", "statefulsets", "statefulsets/scale"),
		rule(write...).in(autoscaling).on("horizontalpodautoscalers"),
		rule(write...).in(batch).on("cronjobs", "jobs"),
		rule(write...).in(extensions).on("daemonsets", "deployments", "deployments/rollback", "deployments/scale",
			"ingresses", "networkpolicies", "replicasets", "replicasets/scale", "replicationcontrollers/scale"),
		rule(write...).in(policy).on("poddisruptionbudgets"),
		rule(write...).in(networking).on("ingresses", "networkpolicies"),
		rule(readWrite...).in(coordination).on("leases"),
		rule(write...).in(events).on("events"),
		rule(write...).in(resourceGroup).on("resourceclaims", "resourceclaimtemplates"),
	)
	r.Labels[aggregateToEdit] = "true"
	return r
}

// aggregateToViewRole reads what is not an escalation (no secrets).
func aggregateToViewRole() rbacv1.ClusterRole {
	r := clusterRole("system:aggregate-to-view",
		rule(read...).in(core).on("configmaps", "endpoints", "persistentvolumeclaims", "persistentvolumeclaims/status",
			"pods", "replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts", "services", "services/status"),
		rule(read...).in(core).on("bindings", "events", "limitranges", "namespaces/status", "pods/log", "pods/status",
			"replicationcontrollers/status", "resourcequotas", "resourcequotas/status"),
		rule(read...).in(core).on("namespaces"),
		rule(read...).in(discoveryK8s).on("endpointslices"),
		rule(read...).in(apps).on("controllerrevisions", "daemonsets", "daemonsets/status", "deployments",
			"deployments/scale", "deployments/status", "replicasets", "replicasets/scale", "replicasets/status",
			"statefulsets", "statefulsets/scale", "statefulsets/status"),
		rule(read...).in(autoscaling).on("horizontalpodautoscalers", "horizontalpodautoscalers/status"),
		rule(read...).in(batch).on("cronjobs", "cronjobs/status", "jobs", "jobs/status"),
		rule(read...).in(extensions).on("daemonsets", "daemonsets/status", "deployments", "deployments/scale",
			"deployments/status", "ingresses", "ingresses/status", "networkpolicies", "replicasets",
			"replicasets/scale", "replicasets/status", "replicationcontrollers/scale"),
		rule(read...).in(policy).on("poddisruptionbudgets", "poddisruptionbudgets/status"),
		rule(read...).in(networking).on("ingresses", "ingresses/status", "networkpolicies"),
		rule(read...).in(events).on("events"),
		rule(read...).in(resourceGroup).on("resourceclaims", "resourceclaims/status", "resourceclaimtemplates"),
	)
	r.Labels[aggregateToView] = "true"
	return r
}

// componentRoles are the roles of the other control-plane components and
// of nodes.
func componentRoles() []rbacv1.ClusterRole {
	return []rbacv1.ClusterRole{
		clusterRole("system:auth-delegator",
			rule("create").in(authn).on("tokenreviews"),
			rule("create").in(authzGroup).on("subjectaccessreviews")),
		clusterRole("system:certificates.k8s.io:certificatesigningrequests:nodeclient",
			rule("create").in(certificates).on("certificatesigningrequests/nodeclient")),
		clusterRole("system:certificates.k8s.io:certificatesigningrequests:selfnodeclient",
			rule("create").in(certificates).on("certificatesigningrequests/selfnodeclient")),
		signerApprover("kube-apiserver-client-approver", "kubernetes.io/kube-apiserver-client"),
		signerApprover("kube-apiserver-client-kubelet-approver", "kubernetes.io/kube-apiserver-client-kubelet"),
		signerApprover("kubelet-serving-approver", "kubernetes.io/kubelet-serving"),
		signerApprover("legacy-unknown-approver", "kubernetes.io/legacy-unknown"),
		clusterRole("system:heapster",
			rule(read...).in(core).on("events", "namespaces", "nodes", "pods"),
			rule(read...).in(extensions).on("deployments")),
		clusterRole("system:kube-aggregator", rule(read...).in(core).on("endpoints", "services")),
		clusterRole("system:kube-controller-manager",
			eventsRule(),
			rule("create").in(coordination).on("leases"),
			rule("get", "update").in(coordination).named("kube-controller-manager").on("leases"),
			rule("create").in(core).on("secrets", "serviceaccounts"),
			rule("delete").in(core).on("secrets"),
			rule("get").in(core).on("configmaps", "namespaces", "secrets", "serviceaccounts"),
			rule("update").in(core).on("secrets", "serviceaccounts"),
			rule("create").in(authn).on("tokenreviews"),
			rule("create").in(authzGroup).on("subjectaccessreviews"),
			rule("list", "watch").in("*").on("*"),
			rule("create").in(core).on("serviceaccounts/token")),
		clusterRole("system:kube-dns", rule("list", "watch").in(core).on("endpoints", "services")),
		clusterRole("system:kube-scheduler", schedulerRules()...),
		clusterRole("system:kubelet-api-admin",
			rule(read...).in(core).on("nodes"),
			rule("proxy").in(core).on("nodes"),
			rule("*").in(core).on("nodes/log", "nodes/metrics", "nodes/proxy", "nodes/stats"),
			rule("*").in(core).on("nodes/configz", "nodes/healthz", "nodes/pods")),
		clusterRole("system:node", nodeRules()...),
		clusterRole("system:node-bootstrapper",
			rule("create", "get", "list", "watch").in(certificates).on("certificatesigningrequests")),
		clusterRole("system:node-problem-detector",
			rule("get").in(core).on("nodes"),
			rule("patch").in(core).on("nodes/status"),
			eventsRule()),
		clusterRole("system:node-proxier",
			rule("list", "watch").in(core).on("endpoints", "services"),
			rule(read...).in(core).on("nodes"),
			eventsRule(),
			rule("list", "watch").in(discoveryK8s).on("endpointslices"),
			rule("list", "watch").in(networking).on("servicecidrs")),
		clusterRole("system:persistent-volume-provisioner",
			rule("create", "delete", "get", "list", "watch").in(core).on("persistentvolumes"),
			rule("get", "list", "update", "watch").in(core).on("persistentvolumeclaims"),
			rule(read...).in(storage).on("storageclasses"),
			rule("watch").in(core).on("events"),
			eventsRule()),
		clusterRole("system:volume-scheduler",
			rule("get", "list", "patch", "update", "watch").in(core).on("persistentvolumes"),
			rule(read...).in(storage).on("storageclasses"),
			rule("get", "list", "patch", "update", "watch").in(core).on("persistentvolumeclaims")),
	}
}

func signerApprover(name, signer string) rbacv1.ClusterRole {
	return clusterRole("system:certificates.k8s.io:"+name, rule("approve").in(certificates).named(signer).on("signers"))
}

func schedulerRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		eventsRule(),
		rule("create").in(coordination).on("leases"),
		rule("get", "list", "update", "watch").in(coordination).named("kube-scheduler").on("leases"),
		rule(readWrite...).in(coordination).on("leasecandidates"),
		rule(read...).in(core).on("nodes"),
		rule("delete", "get", "list", "watch").in(core).on("pods"),
		rule("create").in(core).on("bindings", "pods/binding"),
		rule("patch", "update").in(core).on("pods/status"),
		rule("update").in(core).on("pods/finalizers"),
		rule(read...).in(core).on("replicationcontrollers", "services"),
		rule(read...).in(apps, extensions).on("replicasets"),
		rule(read...).in(apps).on("statefulsets"),
		rule(read...).in(policy).on("poddisruptionbudgets"),
		rule(read...).in(core).on("persistentvolumeclaims", "persistentvolumes"),
		rule("create").in(authn).on("tokenreviews"),
		rule("create").in(authzGroup).on("subjectaccessreviews"),
		rule(read...).in(storage).on("csinodes"),
		rule(read...).in(core).on("namespaces"),
		rule(read...).in(storage).on("csidrivers"),
		rule(read...).in(storage).on("csistoragecapacities"),
		// Dynamic resource allocation, GA and on by default since 1.34.
		rule(read...).in(resourceGroup).on("resourceclaims"),
		rule("update").in(resourceGroup).on("resourceclaims/status"),
		rule(read...).in(resourceGroup).on("resourceslices"),
		rule(read...).in(resourceGroup).on("deviceclasses"),
		rule(read...).in(resourceGroup).on("devicetaintrules"),
		rule("create", "delete", "patch", "update").in(resourceGroup).on("resourceclaims"),
		rule("patch", "update").in(resourceGroup).on("resourceclaims/binding"),
		rule(read...).in(resourceGroup).on("resourceclaims/status"),
		rule("patch").in(resourceGroup).on("resourceclaims/status"),
		rule(read...).in(storage).on("volumeattachments"),
	}
}

// nodeRules are what a kubelet holds; kube-apiserver's Node authorizer and
// NodeRestriction admission narrow them to the node's own objects.
func nodeRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		rule("create").in(authn).on("tokenreviews"),
		rule("create").in(authzGroup).on("localsubjectaccessreviews", "subjectaccessreviews"),
		rule(read...).in(core).on("services"),
		rule("create", "get", "list", "watch").in(core).on("nodes"),
		rule("patch", "update").in(core).on("nodes/status"),
		rule("patch", "update").in(core).on("nodes"),
		rule("create", "patch", "update").in(core).on("events"),
		rule(read...).in(core).on("pods"),
		rule("create", "delete").in(core).on("pods"),
		rule("patch", "update").in(core).on("pods/status"),
		rule("create").in(core).on("pods/eviction"),
		rule(read...).in(core).on("configmaps", "secrets"),
		rule("get").in(core).on("persistentvolumeclaims", "persistentvolumes"),
		rule("get").in(core).on("endpoints"),
		rule("create", "get", "list", "watch").in(certificates).on("certificatesigningrequests"),
		rule("create", "delete", "get", "patch", "update").in(coordination).on("leases"),
		rule("get").in(storage).on("volumeattachments"),
		rule("create").in(core).on("serviceaccounts/token"),
		rule("get", "patch", "update").in(core).on("persistentvolumeclaims/status"),
		rule(read...).in(storage).on("csidrivers"),
		rule("create", "delete", "get", "patch", "update").in(storage).on("csinodes"),
		rule(read...).in(nodeGroup).on("runtimeclasses"),
		// Dynamic resource allocation, GA and on by default since 1.34.
		rule("get").in(resourceGroup).on("resourceclaims"),
		rule("deletecollection").in(resourceGroup).on("resourceslices"),
		rule("get").in(core).on("serviceaccounts"),
		rule(read...).in(certificates).on("clustertrustbundles"),
		rule("create", "get", "list", "watch").in(certificates).on("podcertificaterequests"),
		rule("create", "patch", "update").in(events).on("events"),
	}
}
