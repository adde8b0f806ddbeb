// Package networking holds the rows of networking.k8s.io, v1.
package networking

import (
	"kapi/internal/registry"
)

const group = "networking.k8s.io"

// Resources returns the networking.k8s.io/v1 rows. Ingresses live under
// the key prefix "ingress", as kube-apiserver has kept them since
// extensions/v1beta1.
func Resources() []*registry.Resource {
	return []*registry.Resource{
		{Group: group, Version: "v1", Name: "ingressclasses", Kind: "IngressClass", Generation: true,
			Hooks: ingressClassHooks, Table: ingressClassTable},
		{Group: group, Version: "v1", Name: "ingresses", Kind: "Ingress", Namespaced: true, ShortNames: []string{"ing"},
			Subresources: []*registry.Subresource{ingressStatus}, KeyPrefix: "ingress", Generation: true, Hooks: ingressHooks,
			Table: ingressTable},
		{Group: group, Version: "v1", Name: "ipaddresses", Kind: "IPAddress", ShortNames: []string{"ip"},
			Names: ipAddressName, Hooks: ipAddressHooks, Table: ipAddressTable},
		{Group: group, Version: "v1", Name: "networkpolicies", Kind: "NetworkPolicy", Namespaced: true,
			ShortNames: []string{"netpol"}, Generation: true, Hooks: networkPolicyHooks, Table: networkPolicyTable},
		{Group: group, Version: "v1", Name: "servicecidrs", Kind: "ServiceCIDR", Subresources: []*registry.Subresource{registry.Status},
			Hooks: serviceCIDRHooks, Table: serviceCIDRTable},
	}
}
