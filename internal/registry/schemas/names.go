package schemas

import (
	"sort"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// Namer tags each schema of a kind with the group-version-kinds the
// scheme registers it as (x-kubernetes-group-version-kind), which is how
// kubectl explain and kubectl's client-side validation find the schema of
// a kind. A type can be registered as several kinds:
// metav1.DeleteOptions is a kind of every group version.
type Namer map[string][]any

// NewNamer names the schemas of the kinds of s.
func NewNamer(s *runtime.Scheme) Namer {
	byName := map[string][]schema.GroupVersionKind{}
	for gvk := range s.AllKnownTypes() {
		if gvk.Version == runtime.APIVersionInternal {
			continue
		}
		name, err := s.ToOpenAPIDefinitionName(gvk)
		if err != nil {
			continue
		}
		byName[name] = append(byName[name], gvk)
	}
	n := Namer{}
	for name, gvks := range byName {
		sort.Slice(gvks, func(i, j int) bool {
			a, b := gvks[i], gvks[j]
			if a.Group != b.Group {
				return a.Group < b.Group
			}
			if a.Version != b.Version {
				return a.Version < b.Version
			}
			return a.Kind < b.Kind
		})
		list := make([]any, len(gvks))
		for i, gvk := range gvks {
			list[i] = map[string]any{"group": gvk.Group, "version": gvk.Version, "kind": gvk.Kind}
		}
		n[name] = list
	}
	return n
}

// Name is the builders' GetDefinitionName: schemas keep the model names
// openapi-gen gave them, plus the extension.
func (n Namer) Name(name string) (string, spec.Extensions) {
	if gvks, ok := n[name]; ok {
		return name, spec.Extensions{ExtGVK: gvks}
	}
	return name, nil
}

// ExtGVK is the extension that names the kinds of a schema.
const ExtGVK = "x-kubernetes-group-version-kind"
