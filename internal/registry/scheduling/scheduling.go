// Package scheduling holds the rows of scheduling.k8s.io, v1.
package scheduling

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"kapi/internal/registry"
)

// Resources returns the scheduling.k8s.io/v1 rows.
func Resources() []*registry.Resource {
	return []*registry.Resource{
		{Group: "scheduling.k8s.io", Version: "v1", Name: "priorityclasses", Kind: "PriorityClass",
			ShortNames: []string{"pc"}, Table: priorityClassTable, Hooks: priorityClassHooks},
	}
}

var pcDocs = schedulingv1.PriorityClass{}.SwaggerDoc()

// priorityClassTable: NAME VALUE GLOBAL-DEFAULT AGE PREEMPTIONPOLICY. The
// last column has no wide priority: kubectl shows it by default.
var priorityClassTable = &registry.TableDef{
	Columns: []metav1.TableColumnDefinition{
		{Name: "Value", Type: "integer", Description: pcDocs["value"]},
		{Name: "Global-Default", Type: "boolean", Description: pcDocs["globalDefault"]},
		registry.AgeColumn,
		{Name: "PreemptionPolicy", Type: "string", Description: pcDocs["preemptionPolicy"]},
	},
	Row: func(obj runtime.Object, now time.Time) []interface{} {
		pc := obj.(*schedulingv1.PriorityClass)
		policy := ""
		if pc.PreemptionPolicy != nil {
			policy = string(*pc.PreemptionPolicy)
		}
		return []interface{}{int64(pc.Value), pc.GlobalDefault, registry.Age(pc, now), policy}
	},
}

// priorityClassHooks default preemptionPolicy to PreemptLowerPriority, as
// kube-apiserver's defaulting does.
var priorityClassHooks = &registry.Hooks{
	PrepareForCreate: func(obj runtime.Object) { defaultPriorityClass(obj.(*schedulingv1.PriorityClass)) },
	PrepareForUpdate: func(obj, _ runtime.Object) { defaultPriorityClass(obj.(*schedulingv1.PriorityClass)) },
}

func defaultPriorityClass(pc *schedulingv1.PriorityClass) {
	if pc.PreemptionPolicy == nil {
		policy := corev1.PreemptLowerPriority
		pc.PreemptionPolicy = &policy
	}
}
