package server

import (
	"context"

	"kapi/internal/proxy"
	"kapi/internal/registry"
)

// serviceResolver finds where a Service's port is served, as conversion
// and admission webhooks given as a Service are called: a ready endpoint
// of its EndpointSlices serving that Service port. It is the proxy's own
// resolution (proxy.Services), so that services/proxy, webhooks and
// aggregated API servers agree; loopback and link-local endpoints are
// refused unless allowLoopback (--proxy-allow-loopback).
func serviceResolver(cat *registry.Catalogue, allowLoopback bool) func(ctx context.Context, namespace, name string, port int32) (string, error) {
	s := &proxy.Services{Objects: proxyObjects{cat: cat}, AllowLoopback: allowLoopback}
	return s.Endpoint
}
