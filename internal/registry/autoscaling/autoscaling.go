// Package autoscaling holds the rows of the autoscaling group: the
// HorizontalPodAutoscaler, served as v1 and v2 and stored as v2.
package autoscaling

import (
	"kapi/internal/registry"
)

// Resources returns the autoscaling/v2 and autoscaling/v1 rows. Both
// share one store, keyed "horizontalpodautoscalers" and kept as v2, as in
// kube-apiserver; v1 objects are converted on the way in and out.
func Resources() []*registry.Resource {
	return []*registry.Resource{
		hpa("v2", nil, tableV2),
		hpa("v1", &registry.Conversion{ToStorage: toV2, FromStorage: toV1}, tableV1),
	}
}

func hpa(version string, conv *registry.Conversion, table *registry.TableDef) *registry.Resource {
	return &registry.Resource{Group: "autoscaling", Version: version, Name: "horizontalpodautoscalers",
		Kind: "HorizontalPodAutoscaler", Namespaced: true, ShortNames: []string{"hpa"},
		Categories: []string{"all"}, Subresources: []*registry.Subresource{hpaStatus}, Generation: true,
		KeyPrefix: "horizontalpodautoscalers", StorageVersion: "v2", Convert: conv, Hooks: hpaHooks, Table: table}
}
