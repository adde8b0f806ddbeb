package openapi

import (
	"sort"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/kube-openapi/pkg/spec3"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// gvkNamer tags each schema of a kind with the group-version-kinds the
// scheme registers it as (x-kubernetes-group-version-kind), which is how
// kubectl explain and kubectl's client-side validation find the schema of
// a kind. A type can be registered as several kinds:
// metav1.DeleteOptions is a kind of every group version.
type gvkNamer map[string][]any

func newGVKNamer(s *runtime.Scheme) gvkNamer {
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
	n := gvkNamer{}
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

// name is the builders' GetDefinitionName: schemas keep the model names
// openapi-gen gave them, plus the extension.
func (n gvkNamer) name(name string) (string, spec.Extensions) {
	if gvks, ok := n[name]; ok {
		return name, spec.Extensions{extGVK: gvks}
	}
	return name, nil
}

// crossRegistered are the kinds metav1.AddToGroupVersion registers into
// every group version. In a group version's v3 document kube-apiserver
// narrows their x-kubernetes-group-version-kind to that group version and
// core/v1, instead of some sixty entries.
var crossRegistered = map[string]bool{"WatchEvent": true, "DeleteOptions": true}

func narrowGVKs(doc *spec3.OpenAPI, group, version string) {
	if doc.Components == nil {
		return
	}
	for name, s := range doc.Components.Schemas {
		gvks, ok := s.Extensions[extGVK].([]any)
		if !ok || len(gvks) <= 1 {
			continue
		}
		first, _ := gvks[0].(map[string]any)
		if kind, _ := first["kind"].(string); !crossRegistered[kind] {
			continue
		}
		var keep []any
		for _, g := range gvks {
			m := g.(map[string]any)
			if (m["group"] == group && m["version"] == version) || (m["group"] == "" && m["version"] == "v1") {
				keep = append(keep, g)
			}
		}
		// The builders share schema extension maps between documents:
		// copy before changing.
		c := *s
		c.Extensions = spec.Extensions{}
		for k, v := range s.Extensions {
			c.Extensions[k] = v
		}
		if len(keep) > 0 {
			c.Extensions[extGVK] = keep
		} else {
			delete(c.Extensions, extGVK)
		}
		doc.Components.Schemas[name] = &c
	}
}
