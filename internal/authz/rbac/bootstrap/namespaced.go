package bootstrap

import (
	rbacv1 "k8s.io/api/rbac/v1"
)

// Roles are the Roles kube-apiserver creates in kube-system and
// kube-public (leader election, bootstrap tokens, the cluster-info
// ConfigMap).
func Roles() []rbacv1.Role {
	role := func(ns, name string, rules ...rbacv1.PolicyRule) rbacv1.Role {
		r := rbacv1.Role{ObjectMeta: meta(name), Rules: rules}
		r.Namespace = ns
		return r
	}
	leaderLocking := func(name string) rbacv1.Role {
		return role("kube-system", name,
			rule("create", "get", "list", "update", "watch").in(coordination).on("leases"),
			rule("create", "get", "list", "update", "watch").in(coordination).on("leasecandidates"))
	}
	return []rbacv1.Role{
		role("kube-public", controllerPrefix+"bootstrap-signer",
			rule(read...).in(core).on("configmaps"),
			rule("update").in(core).named("cluster-info").on("configmaps"),
			eventsRule()),
		role("kube-system", "extension-apiserver-authentication-reader",
			rule(read...).in(core).named("extension-apiserver-authentication").on("configmaps")),
		leaderLocking("system::leader-locking-kube-controller-manager"),
		leaderLocking("system::leader-locking-kube-scheduler"),
		role("kube-system", controllerPrefix+"bootstrap-signer", rule(read...).in(core).on("secrets")),
		role("kube-system", controllerPrefix+"cloud-provider", rule("create", "get", "list", "watch").in(core).on("configmaps")),
		role("kube-system", controllerPrefix+"token-cleaner",
			rule("delete", "get", "list", "watch").in(core).on("secrets"),
			eventsRule()),
	}
}

// RoleBindings bind the Roles of Roles.
func RoleBindings() []rbacv1.RoleBinding {
	binding := func(ns, name, role string, subjects ...rbacv1.Subject) rbacv1.RoleBinding {
		b := rbacv1.RoleBinding{ObjectMeta: meta(name), Subjects: subjects,
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role}}
		b.Namespace = ns
		return b
	}
	controllerSA := func(name string) rbacv1.Subject { return serviceAccount("kube-system", name) }
	return []rbacv1.RoleBinding{
		binding("kube-public", controllerPrefix+"bootstrap-signer", controllerPrefix+"bootstrap-signer", controllerSA("bootstrap-signer")),
		binding("kube-system", "system::extension-apiserver-authentication-reader", "extension-apiserver-authentication-reader",
			users("system:kube-controller-manager", "system:kube-scheduler")...),
		binding("kube-system", "system::leader-locking-kube-controller-manager", "system::leader-locking-kube-controller-manager",
			append(users("system:kube-controller-manager"), controllerSA("kube-controller-manager"), controllerSA("leader-election-controller"))...),
		binding("kube-system", "system::leader-locking-kube-scheduler", "system::leader-locking-kube-scheduler",
			append(users("system:kube-scheduler"), controllerSA("kube-scheduler"))...),
		binding("kube-system", controllerPrefix+"bootstrap-signer", controllerPrefix+"bootstrap-signer", controllerSA("bootstrap-signer")),
		binding("kube-system", controllerPrefix+"cloud-provider", controllerPrefix+"cloud-provider", controllerSA("cloud-provider")),
		binding("kube-system", controllerPrefix+"token-cleaner", controllerPrefix+"token-cleaner", controllerSA("token-cleaner")),
	}
}
