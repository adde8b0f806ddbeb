package server

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	aggregator "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset"

	"kapi/internal/controllers"
	"kapi/internal/endpoints"
	"kapi/internal/proxy"
	"kapi/internal/registry"
)

// newAggregator is the proxy of the APIServices backed by a Service:
// endpoints found as webhooks' and services/proxy's are, TLS from the
// front proxy's client certificate.
func newAggregator(cfg Config, cat *registry.Catalogue, fp *FrontProxy) *proxy.Aggregator {
	return &proxy.Aggregator{
		Resolve:           serviceResolver(cat, cfg.ProxyAllowLoopback),
		ClientCertificate: fp.GetClientCertificate,
		AllowLoopback:     cfg.ProxyAllowLoopback,
		Error:             endpoints.WriteError,
		AllowRedirects:    !cfg.AggregatorRejectForwardingRedirect,
	}
}

// aggregatorLoops keep the aggregator current: its routing table from an
// informer of the APIServices (a change is routed a moment after it is
// stored), the extensions' discovery documents, and the Available
// condition of the remote APIServices (kube-aggregator's remote
// availability controller). Every replica runs them, as every
// kube-apiserver does; the status writes are idempotent.
func aggregatorLoops(cat *registry.Catalogue, agg *proxy.Aggregator, client aggregator.Interface) []func(context.Context) {
	snap := cat.Snapshot()
	apiServices := controllers.NewInformer(snap.Store(schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}))
	services := controllers.NewInformer(snap.Store(schema.GroupVersionResource{Version: "v1", Resource: "services"}))
	slices := controllers.NewInformer(snap.Store(schema.GroupVersionResource{Group: "discovery.k8s.io", Version: "v1", Resource: "endpointslices"}))
	routes := func(ctx context.Context) {
		changed := apiServices.Changed(ctx)
		for {
			select {
			case <-ctx.Done():
				return
			case <-apiServices.Synced():
			}
			var list []*apiregistrationv1.APIService
			for _, o := range apiServices.List("") {
				list = append(list, o.(*apiregistrationv1.APIService))
			}
			agg.Update(list)
			select {
			case <-ctx.Done():
				return
			case <-changed:
			}
		}
	}
	available := &controllers.APIServiceAvailability{APIServices: apiServices, Services: services, Slices: slices,
		Client: client, Probe: agg.Probe}
	return []func(context.Context){
		apiServices.Run, services.Run, slices.Run, routes, available.Run,
		func(ctx context.Context) { agg.RunDiscovery(ctx, 30*time.Second) },
	}
}
