// Package scheduling holds the rows of scheduling.k8s.io, v1.
package scheduling

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

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

// priorityClassHooks default preemptionPolicy to PreemptLowerPriority, and
// validate a class as kube-apiserver's ValidatePriorityClass does on
// create (a name with the system- prefix is one of the system classes,
// with its value; other classes stay at or below
// HighestUserDefinablePriority) and ValidatePriorityClassUpdate on update
// (value and preemptionPolicy never change).
var priorityClassHooks = &registry.Hooks{
	Default: func(obj runtime.Object) { defaultPriorityClass(obj.(*schedulingv1.PriorityClass)) },
	Validate: func(obj, old runtime.Object) field.ErrorList {
		pc := obj.(*schedulingv1.PriorityClass)
		if stored, ok := old.(*schedulingv1.PriorityClass); ok {
			// kube's update checks only these two.
			old := stored.DeepCopy()
			defaultPriorityClass(old)
			var errs field.ErrorList
			if pc.Value != old.Value {
				errs = append(errs, field.Forbidden(field.NewPath("value"), "may not be changed in an update."))
			}
			if !equality.Semantic.DeepEqual(pc.PreemptionPolicy, old.PreemptionPolicy) {
				errs = append(errs, field.Invalid(field.NewPath("preemptionPolicy"), pc.PreemptionPolicy, "field is immutable"))
			}
			return errs
		}
		var errs field.ErrorList
		if strings.HasPrefix(pc.Name, systemPrefix) {
			if err := knownSystemClass(pc); err != nil {
				errs = append(errs, field.Forbidden(field.NewPath("metadata", "name"),
					"priority class names with '"+systemPrefix+"' prefix are reserved for system use only. error: "+err.Error()))
			}
		} else if pc.Value > HighestUserDefinablePriority {
			errs = append(errs, field.Forbidden(field.NewPath("value"), fmt.Sprintf("maximum allowed value of a user defined priority is %v", HighestUserDefinablePriority)))
		}
		if p := pc.PreemptionPolicy; p != nil && *p != corev1.PreemptNever && *p != corev1.PreemptLowerPriority {
			errs = append(errs, field.NotSupported(field.NewPath("preemptionPolicy"), *p, []string{string(corev1.PreemptLowerPriority), string(corev1.PreemptNever)}))
		}
		return errs
	},
}

func defaultPriorityClass(pc *schedulingv1.PriorityClass) {
	if pc.PreemptionPolicy == nil {
		policy := corev1.PreemptLowerPriority
		pc.PreemptionPolicy = &policy
	}
}

const (
	// HighestUserDefinablePriority is the highest value of a class
	// without the system- prefix.
	HighestUserDefinablePriority = int32(1000000000)
	// SystemCriticalPriority is system-cluster-critical's value.
	SystemCriticalPriority = 2 * HighestUserDefinablePriority
	systemPrefix           = "system-"
)

// SystemPriorityClasses are the classes kube-apiserver makes at start-up,
// and the only ones whose names may start with system-.
func SystemPriorityClasses() []*schedulingv1.PriorityClass {
	return []*schedulingv1.PriorityClass{
		{ObjectMeta: metav1.ObjectMeta{Name: "system-node-critical"}, Value: SystemCriticalPriority + 1000,
			Description: "Used for system critical pods that must not be moved from their current node."},
		{ObjectMeta: metav1.ObjectMeta{Name: "system-cluster-critical"}, Value: SystemCriticalPriority,
			Description: "Used for system critical pods that must run in the cluster, but can be moved to another node if necessary."},
	}
}

// knownSystemClass is kube's IsKnownSystemPriorityClass.
func knownSystemClass(pc *schedulingv1.PriorityClass) error {
	for _, s := range SystemPriorityClasses() {
		if s.Name != pc.Name {
			continue
		}
		if s.Value != pc.Value {
			return fmt.Errorf("value of %v PriorityClass must be %v", s.Name, s.Value)
		}
		if s.GlobalDefault != pc.GlobalDefault {
			return fmt.Errorf("globalDefault of %v PriorityClass must be %v", s.Name, s.GlobalDefault)
		}
		return nil
	}
	return fmt.Errorf("%v is not a known system priority class", pc.Name)
}
