// Package storagemigration holds the row of storagemigration.k8s.io/v1,
// which kube-apiserver 1.37 serves GA: requests to rewrite every object of
// a resource in its current storage version.
package storagemigration

import (
	"time"

	storagemigrationv1 "k8s.io/api/storagemigration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"kapi/internal/registry"
)

// Resources returns the storagemigration.k8s.io/v1 row.
func Resources() []*registry.Resource {
	return []*registry.Resource{
		{Group: "storagemigration.k8s.io", Version: "v1", Name: "storageversionmigrations",
			Kind: "StorageVersionMigration", Subresources: []*registry.Subresource{migrationStatus},
			Hooks: migrationHooks, Table: migrationTable},
	}
}

// migrationTable: NAME RESOURCE, the resource as "resource.group".
var migrationTable = &registry.TableDef{
	Columns: []metav1.TableColumnDefinition{
		{Name: "Resource", Type: "string", Description: "Fully qualified resource to migrate"},
	},
	Row: func(obj runtime.Object, now time.Time) []interface{} {
		m := obj.(*storagemigrationv1.StorageVersionMigration)
		return []interface{}{m.Spec.Resource.String()}
	},
}
