package server

import (
	"context"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"

	"kapi/internal/controllers"
	"kapi/internal/registry"
)

// apiserverLoops are the loops kube-apiserver itself runs, on every
// replica and whatever --controllers says: the kubernetes Service's
// endpoint leases, and the ConfigMap telling since when legacy
// service-account tokens are tracked. They act as system:apiserver.
func (s *Server) apiserverLoops(cat *registry.Catalogue, lb *loopback, leases *endpointLeases) []func(context.Context) {
	client := kubernetes.NewForConfigOrDie(lb.Config(APIServerUser))
	configMaps := controllers.NewInformer(cat.Snapshot().Store(schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}))
	return []func(context.Context){
		leases.Run,
		configMaps.Run,
		controllers.NewLegacyTokenTracking(client, configMaps).Run,
	}
}
