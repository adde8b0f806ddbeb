package policy

// A PodDisruptionBudget's status, as kube-apiserver 1.37 validates a
// write of it through the status subresource: the status strategy's
// ValidateUpdate, which is ValidatePodDisruptionBudgetStatusUpdate for
// policy/v1 (the only version served here). The disruption controller
// writes this status, and eviction reads disruptionsAllowed from it, so
// kube checks that its counts are counts and its conditions well formed.
// A status write keeps the stored spec, so the spec is not checked again:
// a budget stored before a spec rule tightened still gets its status.
// The metadata is checked as for every write, elsewhere.

import (
	policyv1 "k8s.io/api/policy/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/registry"
	"kapi/internal/registry/core"
)

// pdbStatus is the budgets' status subresource, with kube's checks of the
// status written in place of the spec's.
var pdbStatus = registry.ValidatedStatus(func(obj, _ runtime.Object) field.ErrorList {
	return validatePDBStatus(&obj.(*policyv1.PodDisruptionBudget).Status, field.NewPath("status"))
})

// validatePDBStatus is kube's ValidatePodDisruptionBudgetStatusUpdate for
// policy/v1: the conditions as metav1 conditions (ValidateConditions:
// unique types that are qualified names, a status of True, False or
// Unknown, a reason, a transition time), then the four counts not
// negative. kube compares nothing with the stored status, and checks
// neither observedGeneration nor disruptedPods.
func validatePDBStatus(st *policyv1.PodDisruptionBudgetStatus, path *field.Path) field.ErrorList {
	errs := metav1validation.ValidateConditions(st.Conditions, path.Child("conditions"))
	return append(errs, core.NonNegative(path, core.Count32("disruptionsAllowed", st.DisruptionsAllowed),
		core.Count32("currentHealthy", st.CurrentHealthy), core.Count32("desiredHealthy", st.DesiredHealthy),
		core.Count32("expectedPods", st.ExpectedPods))...)
}
