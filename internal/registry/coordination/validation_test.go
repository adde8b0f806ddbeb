package coordination

import (
	"testing"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestLeaseValidation: kube's ValidateLeaseSpec.
func TestLeaseValidation(t *testing.T) {
	i := func(v int32) *int32 { return &v }
	s := func(v string) *string { return &v }
	for _, c := range []struct {
		spec coordinationv1.LeaseSpec
		want int
	}{
		{coordinationv1.LeaseSpec{HolderIdentity: s("a"), LeaseDurationSeconds: i(15), LeaseTransitions: i(0)}, 0},
		{coordinationv1.LeaseSpec{LeaseDurationSeconds: i(-5)}, 1},
		{coordinationv1.LeaseSpec{LeaseDurationSeconds: i(0), LeaseTransitions: i(-1)}, 2},
		{coordinationv1.LeaseSpec{PreferredHolder: s("b")}, 1},
	} {
		l := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "l", Namespace: "ns"}, Spec: c.spec}
		if errs := leaseHooks.Validate(l, nil); len(errs) != c.want {
			t.Errorf("%+v: %v, want %d errors", c.spec, errs, c.want)
		}
	}
}
