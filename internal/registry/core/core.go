// Package core holds the rows of the core (legacy, "") group, v1, and what
// is particular to its types.
package core

import (
	"kapi/internal/registry"
)

// Resources returns the core/v1 rows of the catalogue.
func Resources() []*registry.Resource {
	return []*registry.Resource{
		{Version: "v1", Name: "namespaces", Kind: "Namespace", ShortNames: []string{"ns"},
			Verbs:        []string{"create", "delete", "get", "list", "patch", "update", "watch"},
			Subresources: []string{"status", "finalize"}, Names: registry.DNSLabel,
			ReturnDeletedObject: true, Hooks: namespaceHooks},
		{Version: "v1", Name: "configmaps", Kind: "ConfigMap", Namespaced: true, ShortNames: []string{"cm"}},
		{Version: "v1", Name: "secrets", Kind: "Secret", Namespaced: true},
		{Version: "v1", Name: "pods", Kind: "Pod", Namespaced: true, ShortNames: []string{"po"},
			Categories: []string{"all"}, Subresources: []string{"status"}, ReturnDeletedObject: true, Generation: true},
		{Version: "v1", Name: "services", Kind: "Service", Namespaced: true, ShortNames: []string{"svc"},
			Categories: []string{"all"}, Subresources: []string{"status"}, Names: registry.DNSLabel, KeyPrefix: "services/specs",
			ReturnDeletedObject: true},
	}
}
