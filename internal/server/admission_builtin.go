package server

import (
	"kapi/internal/authz"
	"kapi/internal/registry"
)

// builtinPlugins makes kube-apiserver's built-in admission plugins that
// kapi implements, by plugin name; each reads what it needs from the
// catalogue's stores when it runs (the catalogue changes at runtime).
func builtinPlugins(cat *registry.Catalogue, authorizer authz.Authorizer) map[string]func() any {
	return map[string]func() any{}
}
