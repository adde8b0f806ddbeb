package server

import "kapi/internal/router"

// postStartHooks are kube-apiserver's post-start hooks as health checks
// of kapi's start-up: each is done when kapi's step that does what the
// hook does in kube has finished, or, for a loop kube starts in the hook,
// has started. kapi serves once the steps before the catalogue's
// publication are done; the others follow within its start.
type postStartHooks struct {
	storage, namespaces, priorityClasses, admission func()
	rbac, fairness                                  func()
	crds, crdsServed, autoregistration, aggregator  func()
	apiserverLoops                                  func()
}

// identity is kube's APIServerIdentity gate: the identity Lease's two
// hooks, as its loops, only with it.
func newPostStartHooks(h *router.Health, fairness, identity bool) *postStartHooks {
	hook := h.PostStartHook
	all := func(names ...string) func() {
		var dones []func()
		for _, n := range names {
			dones = append(dones, hook(n))
		}
		return func() {
			for _, d := range dones {
				d()
			}
		}
	}
	return &postStartHooks{
		// The watch caches filled.
		storage: hook("storage-readiness"),
		// kube's system namespaces and priority classes, made.
		namespaces:      hook("start-system-namespaces-controller"),
		priorityClasses: hook("scheduling/bootstrap-system-priority-classes"),
		// Admission built, its informers started.
		admission: hook("start-apiserver-admission-initializer"),
		// The bootstrap roles and bindings reconciled, RBAC's caches filled.
		rbac: hook("rbac/bootstrap-roles"),
		// With API Priority and Fairness: its configuration controller,
		// the bootstrap configuration's keeper and the object counts
		// started (in kube the filter's, the consumer's, the producer's
		// and the object count tracker's hooks).
		fairness: fairnessHooks(fairness, all),
		// The CRD controller started; then every custom resource served.
		crds:       all("start-apiextensions-informers", "start-apiextensions-controllers"),
		crdsServed: hook("crd-informer-synced"),
		// The APIServices of the served group-versions being registered.
		autoregistration: hook("kube-apiserver-autoregistration"),
		// The aggregator's informers, routes, availability and discovery
		// (with the merged OpenAPI documents) started.
		aggregator: all("start-kube-aggregator-informers", "apiservice-registration-controller",
			"apiservice-status-local-available-controller", "apiservice-status-remote-available-controller",
			"apiservice-openapi-controller", "apiservice-openapiv3-controller", "apiservice-discovery-controller"),
		// The kubernetes Service's endpoints, the Services' repair and
		// extension-apiserver-authentication loops started, with the
		// loops' shared informers.
		apiserverLoops: all(apiserverLoopHooks(identity)...),
	}
}

// fairnessHooks are API Priority and Fairness's hooks, when it is on.
func fairnessHooks(on bool, all func(...string) func()) func() {
	if !on {
		return func() {}
	}
	return all("priority-and-fairness-filter", "priority-and-fairness-config-consumer",
		"priority-and-fairness-config-producer", "storage-object-count-tracker-hook")
}

// apiserverLoopHooks are the hooks of kube-apiserver's own loops (the
// identity Lease's with the APIServerIdentity gate).
func apiserverLoopHooks(identity bool) []string {
	hooks := []string{"bootstrap-controller", "start-service-ip-repair-controllers",
		"start-cluster-authentication-info-controller", "generic-apiserver-start-informers"}
	if identity {
		hooks = append(hooks, "start-kube-apiserver-identity-lease-controller", "start-kube-apiserver-identity-lease-garbage-collector")
	}
	return append(hooks, "start-legacy-token-tracking-controller")
}
