// Package policy holds the rows of the policy group, v1.
package policy

import (
	"time"

	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"kapi/internal/registry"
)

// Resources returns the policy/v1 rows. Evictions are a pods
// subresource, not a row.
func Resources() []*registry.Resource {
	return []*registry.Resource{
		{Group: "policy", Version: "v1", Name: "poddisruptionbudgets", Kind: "PodDisruptionBudget", Namespaced: true,
			ShortNames: []string{"pdb"}, Subresources: []*registry.Subresource{pdbStatus}, Generation: true, Hooks: pdbHooks, Table: pdbTable,
			AnyFinalizers: true},
	}
}

// pdbTable: NAME MIN AVAILABLE MAX UNAVAILABLE ALLOWED DISRUPTIONS AGE.
var pdbTable = &registry.TableDef{
	Columns: []metav1.TableColumnDefinition{
		{Name: "Min Available", Type: "string", Description: "The minimum number of pods that must be available."},
		{Name: "Max Unavailable", Type: "string", Description: "The maximum number of pods that may be unavailable."},
		{Name: "Allowed Disruptions", Type: "integer", Description: "Calculated number of pods that may be disrupted at this time."},
		registry.AgeColumn,
	},
	Row: func(obj runtime.Object, now time.Time) []interface{} {
		pdb := obj.(*policyv1.PodDisruptionBudget)
		minAvailable, maxUnavailable := "N/A", "N/A"
		if v := pdb.Spec.MinAvailable; v != nil {
			minAvailable = v.String()
		}
		if v := pdb.Spec.MaxUnavailable; v != nil {
			maxUnavailable = v.String()
		}
		return []interface{}{minAvailable, maxUnavailable, int64(pdb.Status.DisruptionsAllowed), registry.Age(pdb, now)}
	},
}
