package server

import (
	"context"
	"slices"

	"k8s.io/apimachinery/pkg/runtime"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"

	"kapi/internal/controllers"
	"kapi/internal/registry"
)

// createBootstrapAPIServices registers, on a first start, the APIService
// of every group-version served in one transaction, each available as
// the APIService loop would mark it a moment later, rather than some
// thirty creates through the API: readiness waits for them
// (autoregister-completion), and writing them one request at a time took
// about a fifth of a first start. On a restart, or when another replica
// was quicker, they exist and nothing is written: the loop keeps them.
func createBootstrapAPIServices(ctx context.Context, st *registry.Store, cat *registry.Catalogue) error {
	desired := controllers.DesiredAPIServices(cat.Snapshot())
	names := make([]string, 0, len(desired))
	for name := range desired {
		names = append(names, name)
	}
	slices.Sort(names)
	objs := make([]newObject, len(names))
	for i, name := range names {
		objs[i] = newObject{st: st, obj: desired[name], stored: func(o runtime.Object) {
			controllers.SetAvailable(o.(*apiregistrationv1.APIService))
		}}
	}
	_, err := createAllNew(ctx, objs)
	return err
}
