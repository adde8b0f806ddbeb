// Package coordination holds the rows of coordination.k8s.io, v1.
package coordination

import (
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"kapi/internal/registry"
)

// Resources returns the coordination.k8s.io/v1 rows. A PUT may create a
// lease, as kube-apiserver allows.
func Resources() []*registry.Resource {
	return []*registry.Resource{
		{Group: "coordination.k8s.io", Version: "v1", Name: "leases", Kind: "Lease", Namespaced: true,
			AllowCreateOnUpdate: true, AnyFinalizers: true, Hooks: leaseHooks, Table: leaseTable},
	}
}

// leaseTable: NAME HOLDER AGE.
var leaseTable = &registry.TableDef{
	Columns: []metav1.TableColumnDefinition{
		{Name: "Holder", Type: "string", Description: coordinationv1.LeaseSpec{}.SwaggerDoc()["holderIdentity"]},
		registry.AgeColumn,
	},
	Row: func(obj runtime.Object, now time.Time) []interface{} {
		l := obj.(*coordinationv1.Lease)
		holder := ""
		if l.Spec.HolderIdentity != nil {
			holder = *l.Spec.HolderIdentity
		}
		return []interface{}{holder, registry.Age(l, now)}
	},
}
