package controllers

import (
	"k8s.io/client-go/rest"

	"kapi/internal/registry"
)

// Env is what the loops share: the catalogue, informers over its watch
// caches, and clients that write through the server's own front door.
type Env struct {
	Catalogue *registry.Catalogue
	Informers *Informers
	// ClientFor returns a client configuration acting as the service
	// account kube-system/<name>, as kube-controller-manager's loops act
	// with --use-service-account-credentials; each request it makes goes
	// through authentication, audit, authorization (the bootstrap role
	// system:controller:<name>), admission and validation, in process.
	ClientFor func(serviceAccount string) *rest.Config
	// ClientForUser returns a client configuration acting as the user name
	// (group system:authenticated): kube-controller-manager's own
	// credentials, which the loops kube runs without a service account of
	// their own use (system:kube-controller-manager).
	ClientForUser func(name string) *rest.Config
}
