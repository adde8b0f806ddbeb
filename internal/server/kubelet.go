package server

import (
	"net/http"

	corev1 "k8s.io/api/core/v1"

	"kapi/internal/authz"
	"kapi/internal/endpoints"
	"kapi/internal/filters"
	"kapi/internal/proxy"
	"kapi/internal/registry"
)

// kubeletSubresources gives nodes their proxy subresource and pods their
// log, exec, attach and portforward subresources, all served by a node's
// kubelet through kapi's kubelet client (--kubelet-* flags), before cat
// is published. Kinds and verbs are those kube-apiserver's discovery
// shows.
func kubeletSubresources(cfg Config, cat *registry.Catalogue, stores []*registry.Store, az authz.Authorizer) error {
	k, err := proxy.NewKubelets(proxy.KubeletConfig{
		CAFile:                cfg.Kubelet.CertificateAuthority,
		CertFile:              cfg.Kubelet.ClientCertificate,
		KeyFile:               cfg.Kubelet.ClientKey,
		PreferredAddressTypes: cfg.Kubelet.PreferredAddressTypes,
		Timeout:               cfg.Kubelet.Timeout,
		AllowLoopback:         cfg.ProxyAllowLoopback,
		Error:                 endpoints.WriteError,
		Authorize:             alsoAllowed(az),
		MaxBytesPerSec:        cfg.MaxConnectionBytesPerSec,
	}, kubeletObjects(cat))
	if err != nil {
		return err
	}
	v1 := corev1.SchemeGroupVersion
	getCreate := []string{"create", "get"}
	replaceRow(stores, "", "nodes", func(r *registry.Resource) *registry.Resource {
		return r.WithSubresource(registry.ConnectSubresource("proxy", v1.WithKind("NodeProxyOptions"), registry.ProxyVerbs, k.NodeProxy))
	})
	replaceRow(stores, "", "pods", func(r *registry.Resource) *registry.Resource {
		return r.WithSubresource(registry.ConnectSubresource("log", v1.WithKind("Pod"), []string{"get"}, k.PodLog)).
			WithSubresource(registry.ConnectSubresource("exec", v1.WithKind("PodExecOptions"), getCreate, k.PodExec)).
			WithSubresource(registry.ConnectSubresource("attach", v1.WithKind("PodAttachOptions"), getCreate, k.PodAttach)).
			WithSubresource(registry.ConnectSubresource("portforward", v1.WithKind("PodPortForwardOptions"), getCreate, k.PodPortForward))
	})
	return nil
}

// alsoAllowed asks az whether the request's user may do verb as well as
// the request's own verb. Denied, the message is kapi's usual one for
// that verb (User "u" cannot create resource "pods/exec" ...), where
// kube's names only the authorizer's reason, often empty.
func alsoAllowed(az authz.Authorizer) func(r *http.Request, verb string) error {
	return func(r *http.Request, verb string) error {
		a := filters.Attributes(r)
		if a.Verb == verb {
			return nil
		}
		a.Verb = verb
		d, reason, err := az.Authorize(r.Context(), a)
		if err != nil {
			return err
		}
		if d != authz.Allow {
			return authz.Forbidden(a, reason)
		}
		return nil
	}
}

// kubeletObjects reads pods and nodes for the kubelet client from the
// catalogue's current stores, as the objects are now (not from a cache
// that may lag): kube's pod and node lookups for a log or an exec are
// ordinary reads, and a client that just scheduled a pod expects its
// exec to find the node.
func kubeletObjects(cat *registry.Catalogue) proxy.Getter {
	return proxyObjects{cat: cat, consistent: true}
}
