// Package apiextensions holds the row of apiextensions.k8s.io/v1:
// CustomResourceDefinitions.
package apiextensions

import (
	"kapi/internal/registry"
)

// Resources returns the apiextensions.k8s.io/v1 row. The CRD store keys
// its objects by group and resource, under
// "apiextensions.k8s.io/customresourcedefinitions"; kube-apiserver prints
// CRDs with the default table (NAME CREATED AT).
//
// kube-apiserver encodes CRDs in etcd as v1beta1 for the sake of
// downgrades; kapi keeps them as v1, the only version it serves.
func Resources() []*registry.Resource {
	return []*registry.Resource{
		{Group: "apiextensions.k8s.io", Version: "v1", Name: "customresourcedefinitions",
			Kind: "CustomResourceDefinition", ShortNames: []string{"crd", "crds"},
			Categories: []string{"api-extensions"}, Subresources: []*registry.Subresource{registry.Status},
			KeyPrefix: "apiextensions.k8s.io/customresourcedefinitions", Generation: true},
	}
}
