// Package node holds the rows of node.k8s.io, v1.
package node

import (
	"time"

	nodev1 "k8s.io/api/node/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"kapi/internal/registry"
)

// Resources returns the node.k8s.io/v1 rows. A PUT may create a runtime
// class, as kube-apiserver allows.
func Resources() []*registry.Resource {
	return []*registry.Resource{
		{Group: "node.k8s.io", Version: "v1", Name: "runtimeclasses", Kind: "RuntimeClass",
			AllowCreateOnUpdate: true, AnyFinalizers: true, Hooks: runtimeClassHooks, Table: runtimeClassTable},
	}
}

// runtimeClassTable: NAME HANDLER AGE.
var runtimeClassTable = &registry.TableDef{
	Columns: []metav1.TableColumnDefinition{
		{Name: "Handler", Type: "string", Description: nodev1.RuntimeClass{}.SwaggerDoc()["handler"]},
		registry.AgeColumn,
	},
	Row: func(obj runtime.Object, now time.Time) []interface{} {
		rc := obj.(*nodev1.RuntimeClass)
		return []interface{}{rc.Handler, registry.Age(rc, now)}
	},
}
