package endpoints

import (
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"kapi/internal/registry"
)

// A subresource may read and write another kind than the row's (the
// scale subresource an autoscaling/v1 Scale, serviceaccounts/token a
// TokenRequest): these say what a request's body and answer are.

// subKind reports a subresource that reads and writes a kind of its own
// (a Scale, a TokenRequest), not the row's.
func (s *scope) subKind() bool { return s.sub != nil && s.sub.New != nil }

// bodyKind is the kind a request body must be.
func (s *scope) bodyKind() schema.GroupVersionKind {
	if s.sub != nil {
		return s.sub.BodyKind(s.store.R)
	}
	return s.store.R.GVK()
}

// newBody is an empty object of bodyKind.
func (s *scope) newBody() runtime.Object {
	if s.sub != nil {
		return s.sub.NewBody(s.store.R)
	}
	return s.store.New()
}

// tableResource is the resource whose table a response is printed with:
// the row's, or for a subresource of another kind (a Scale) the default
// columns, as kube-apiserver prints kinds without a printer of their own.
func (s *scope) tableResource() *registry.Resource {
	if s.subKind() {
		gvk := s.sub.Kind
		return &registry.Resource{Group: gvk.Group, Version: gvk.Version, Name: s.sub.Name, Kind: gvk.Kind}
	}
	return s.store.R
}
