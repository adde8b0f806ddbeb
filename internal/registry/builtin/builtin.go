// Package builtin assembles the catalogue of built-in resources from the
// rows of every group.
package builtin

import (
	"kapi/internal/registry"
	"kapi/internal/registry/core"
)

// Resources returns every built-in row, in discovery order.
func Resources() []*registry.Resource {
	var all []*registry.Resource
	for _, group := range [][]*registry.Resource{
		core.Resources(),
	} {
		all = append(all, group...)
	}
	return all
}
