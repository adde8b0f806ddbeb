package openapi

import (
	"k8s.io/kube-openapi/pkg/spec3"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

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
