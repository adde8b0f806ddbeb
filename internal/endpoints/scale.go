package endpoints

import (
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"kapi/internal/registry"
)

// The scale subresource reads and writes an autoscaling/v1 Scale, and an
// action (serviceaccounts/token) its own kind, rather than the stored
// kind: these say what a request's body and answer are.

// bodyKind is the kind a request body must be.
func (s *scope) bodyKind() schema.GroupVersionKind {
	if a := s.store.R.Actions[s.info.Subresource]; a != nil {
		return a.Kind
	}
	if s.info.Subresource == "scale" {
		return registry.ScaleGVK
	}
	return s.store.R.GVK()
}

// newBody is an empty object of bodyKind.
func (s *scope) newBody() runtime.Object {
	if gvk := s.bodyKind(); gvk != s.store.R.GVK() {
		obj, _ := registry.Scheme.New(gvk)
		return obj
	}
	return s.store.New()
}

// scaleResource prints a Scale with the default columns, as
// kube-apiserver prints kinds without a printer of their own.
var scaleResource = &registry.Resource{Group: registry.ScaleGVK.Group, Version: registry.ScaleGVK.Version, Name: "scale", Kind: "Scale"}

// tableResource is the resource whose table a response is printed with.
func (s *scope) tableResource() *registry.Resource {
	if s.info.Subresource == "scale" {
		return scaleResource
	}
	return s.store.R
}
