package policy

import (
	"strings"
	"testing"
	"time"

	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/registry"
	"kapi/internal/registry/fieldtest"
)

// statusSub is the status subresource of the budgets' row.
func statusSub(t *testing.T) *registry.Subresource {
	t.Helper()
	s := Resources()[0].Sub("status")
	if s == nil || s.Validate == nil {
		t.Fatal("poddisruptionbudgets have no status subresource of their own")
	}
	return s
}

// controllerStatus is what kube's disruption controller writes of a
// budget of three pods that may lose one.
func controllerStatus(st *policyv1.PodDisruptionBudgetStatus) {
	*st = policyv1.PodDisruptionBudgetStatus{
		ObservedGeneration: 1, DisruptedPods: map[string]metav1.Time{"web-0": {Time: time.Unix(100, 0)}},
		DisruptionsAllowed: 1, CurrentHealthy: 3, DesiredHealthy: 2, ExpectedPods: 3,
		Conditions: []metav1.Condition{{Type: policyv1.DisruptionAllowedCondition, Status: metav1.ConditionTrue,
			ObservedGeneration: 1, LastTransitionTime: metav1.Unix(100, 0), Reason: policyv1.SufficientPodsReason}},
	}
}

// TestPDBStatusUpdates: kube 1.37's ValidatePodDisruptionBudgetStatusUpdate,
// with its messages, for writes through the status subresource.
func TestPDBStatusUpdates(t *testing.T) {
	condition := func(mut func(*metav1.Condition)) func(*policyv1.PodDisruptionBudgetStatus) {
		return func(st *policyv1.PodDisruptionBudgetStatus) {
			controllerStatus(st)
			mut(&st.Conditions[0])
		}
	}
	cases := []struct {
		name  string
		write func(*policyv1.PodDisruptionBudgetStatus)
		want  string
	}{
		{"disruption controller", controllerStatus, ""},
		{"no pods yet", func(st *policyv1.PodDisruptionBudgetStatus) {}, ""},
		{"negative counts", func(st *policyv1.PodDisruptionBudgetStatus) {
			st.DisruptionsAllowed, st.CurrentHealthy, st.DesiredHealthy, st.ExpectedPods = -1, -2, -3, -4
		}, "status.disruptionsAllowed: Invalid value: -1: must be greater than or equal to 0\n" +
			"status.currentHealthy: Invalid value: -2: must be greater than or equal to 0\n" +
			"status.desiredHealthy: Invalid value: -3: must be greater than or equal to 0\n" +
			"status.expectedPods: Invalid value: -4: must be greater than or equal to 0"},
		{"condition twice", func(st *policyv1.PodDisruptionBudgetStatus) {
			controllerStatus(st)
			st.Conditions = append(st.Conditions, st.Conditions[0])
		}, `status.conditions[1]: Duplicate value: "DisruptionAllowed"`},
		{"condition without status, reason or time", condition(func(c *metav1.Condition) {
			c.Status, c.Reason, c.LastTransitionTime = "", "", metav1.Time{}
		}), "status.conditions[0].status: Required value\n" +
			"status.conditions[0].lastTransitionTime: Required value\n" +
			"status.conditions[0].reason: Required value"},
		{"condition of unknown status", condition(func(c *metav1.Condition) { c.Status = "Maybe" }),
			`status.conditions[0].status: Unsupported value: "Maybe": supported values: "False", "True", "Unknown"`},
		{"condition without type", condition(func(c *metav1.Condition) { c.Type = "" }),
			"status.conditions[0].type: Required value: is required"},
		{"condition of negative generation", condition(func(c *metav1.Condition) { c.ObservedGeneration = -1 }),
			"status.conditions[0].observedGeneration: Invalid value: -1: must be greater than or equal to zero"},
		{"condition message too long", condition(func(c *metav1.Condition) { c.Message = strings.Repeat("x", 32*1024+1) }),
			"status.conditions[0].message: Too long: may not be more than 32768 bytes"},
	}
	sub := statusSub(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			old := &policyv1.PodDisruptionBudget{}
			now := old.DeepCopy()
			c.write(&now.Status)
			if got := fieldtest.Lines(sub.Validate(now, old)); got != c.want {
				t.Errorf("got\n%s\nwant\n%s", got, c.want)
			}
		})
	}
}

// TestPDBConditionNames: a condition's type is a qualified name and its
// reason a CamelCase word, as metav1's ValidateCondition has them.
func TestPDBConditionNames(t *testing.T) {
	st := &policyv1.PodDisruptionBudgetStatus{}
	controllerStatus(st)
	st.Conditions[0].Type, st.Conditions[0].Reason = "not a name", "not a reason"
	got := fieldtest.Paths(validatePDBStatus(st, field.NewPath("status")))
	if want := "status.conditions[0].type: Invalid value; status.conditions[0].reason: Invalid value"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestPDBStatusKeepsSpec: a status write checks the status only, so the
// controller can still write the status of a budget whose stored spec
// would not pass today's spec validation.
func TestPDBStatusKeepsSpec(t *testing.T) {
	over := intstr.FromString("120%")
	old := &policyv1.PodDisruptionBudget{Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: &over}}
	now := old.DeepCopy()
	controllerStatus(&now.Status)
	if errs := pdbHooks.Validate(now, old); len(errs) == 0 {
		t.Fatal("the spec is meant to be invalid")
	}
	if errs := statusSub(t).Validate(now, old); len(errs) > 0 {
		t.Errorf("status write: %s", fieldtest.Lines(errs))
	}
}
