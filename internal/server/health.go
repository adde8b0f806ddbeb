package server

import "kapi/internal/router"

// postStartHooks are kube-apiserver's post-start hooks as health checks
// of kapi's start-up: each is done when kapi's step that does what the
// hook does in kube has finished, or, for a loop kube starts in the hook,
// has started. kapi serves once the steps before the catalogue's
// publication are done; the others follow within its start.
type postStartHooks struct {
	storage, namespaces, priorityClasses, admission func()
	crds, crdsServed, autoregistration, aggregator  func()
	apiserverLoops                                  func()
}

func newPostStartHooks(h *router.Health) *postStartHooks {
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
		// The CRD controller started; then every custom resource served.
		crds:       all("start-apiextensions-informers", "start-apiextensions-controllers"),
		crdsServed: hook("crd-informer-synced"),
		// The APIServices of the served group-versions being registered.
		autoregistration: hook("kube-apiserver-autoregistration"),
		// The aggregator's informers, routes, availability and discovery
		// (with the merged OpenAPI documents) started.
		aggregator: all("start-kube-aggregator-informers", "apiservice-registration-controller",
			"apiservice-status-local-available-controller", "apiservice-status-remote-available-controller",
			"apiservice-openapi-controller"),
		// The kubernetes Service's endpoints, the Services' repair and
		// extension-apiserver-authentication loops started, with the
		// loops' shared informers.
		apiserverLoops: all("bootstrap-controller", "start-service-ip-repair-controllers",
			"start-cluster-authentication-info-controller", "generic-apiserver-start-informers"),
	}
}
