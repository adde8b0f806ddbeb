package node

import (
	"fmt"
	"maps"
	"slices"

	nodev1 "k8s.io/api/node/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/registry"
	"kapi/internal/registry/core"
)

// runtimeClassHooks validate a RuntimeClass as kube-apiserver's
// ValidateRuntimeClass and its update: the handler is a DNS label and
// never changes; the overhead's quantities are not negative; the
// scheduling node selector is made of valid labels.
var runtimeClassHooks = &registry.Hooks{
	Validate: func(obj, old runtime.Object) field.ErrorList {
		rc := obj.(*nodev1.RuntimeClass)
		var errs field.ErrorList
		for _, msg := range apimachineryvalidation.NameIsDNSLabel(rc.Handler, false) {
			errs = append(errs, field.Invalid(field.NewPath("handler"), rc.Handler, msg))
		}
		if rc.Overhead != nil {
			for name, q := range rc.Overhead.PodFixed {
				if q.Sign() < 0 {
					errs = append(errs, field.Invalid(field.NewPath("overhead", "podFixed").Key(string(name)), q.String(), "must be greater than or equal to 0"))
				}
			}
		}
		if rc.Scheduling != nil {
			errs = append(errs, metav1validation.ValidateLabels(rc.Scheduling.NodeSelector, field.NewPath("scheduling", "nodeSelector"))...)
		}
		if was, ok := old.(*nodev1.RuntimeClass); ok && was.Handler != rc.Handler {
			errs = append(errs, field.Invalid(field.NewPath("handler"), rc.Handler, apimachineryvalidation.FieldImmutableErrorMsg))
		}
		return errs
	},
	Warnings: runtimeClassWarnings,
}

// runtimeClassWarnings: deprecated node labels in the scheduling node
// selector, on every write (kube's path names the selector, not the
// label).
func runtimeClassWarnings(obj, _ runtime.Object) []string {
	rc := obj.(*nodev1.RuntimeClass)
	if rc.Scheduling == nil {
		return nil
	}
	var w []string
	for _, k := range slices.Sorted(maps.Keys(rc.Scheduling.NodeSelector)) {
		if msg, ok := core.DeprecatedNodeLabel(k); ok {
			w = append(w, fmt.Sprintf("%s: %s", field.NewPath("scheduling", "nodeSelector"), msg))
		}
	}
	return w
}
