package policy

import (
	"testing"

	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"kapi/internal/registry/fieldtest"
)

func TestPDBValidation(t *testing.T) {
	v := func(x intstr.IntOrString) *intstr.IntOrString { return &x }
	cases := []struct {
		name string
		spec policyv1.PodDisruptionBudgetSpec
		want string
	}{
		{"min", policyv1.PodDisruptionBudgetSpec{MinAvailable: v(intstr.FromInt32(2))}, ""},
		{"max percent", policyv1.PodDisruptionBudgetSpec{MaxUnavailable: v(intstr.FromString("50%"))}, ""},
		{"both", policyv1.PodDisruptionBudgetSpec{MinAvailable: v(intstr.FromInt32(1)), MaxUnavailable: v(intstr.FromInt32(1))}, "spec: Invalid value"},
		{"negative", policyv1.PodDisruptionBudgetSpec{MinAvailable: v(intstr.FromInt32(-1))}, "spec.minAvailable: Invalid value"},
		{"over 100%", policyv1.PodDisruptionBudgetSpec{MaxUnavailable: v(intstr.FromString("120%"))}, "spec.maxUnavailable: Invalid value"},
		{"not a percent", policyv1.PodDisruptionBudgetSpec{MaxUnavailable: v(intstr.FromString("half"))}, "spec.maxUnavailable: Invalid value"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := fieldtest.Paths(pdbHooks.Validate(&policyv1.PodDisruptionBudget{Spec: c.spec}, nil)); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}
