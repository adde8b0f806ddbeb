package openapi

import (
	"maps"

	"k8s.io/kube-openapi/pkg/validation/spec"

	"kapi/internal/registry"
)

// Schemas returns every generated schema by definition name
// (io.k8s.api.apps.v1.Deployment), referring to each other as v3
// components, top-level kinds tagged with x-kubernetes-group-version-kind:
// what structured-merge-diff's type converter needs for server-side apply
// and managed fields, as kube-apiserver feeds it.
func Schemas() map[string]*spec.Schema {
	namer := newGVKNamer(registry.Scheme)
	out := map[string]*spec.Schema{}
	for name, def := range v3Definitions() {
		s := def.Schema
		if _, ext := namer.name(name); ext != nil {
			s.Extensions = maps.Clone(s.Extensions)
			if s.Extensions == nil {
				s.Extensions = spec.Extensions{}
			}
			for k, v := range ext {
				s.Extensions[k] = v
			}
		}
		out[name] = &s
	}
	return out
}
