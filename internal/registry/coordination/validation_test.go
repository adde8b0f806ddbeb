package coordination

import (
	"strings"
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
		want string
	}{
		{coordinationv1.LeaseSpec{HolderIdentity: s("a"), LeaseDurationSeconds: i(15), LeaseTransitions: i(0)}, ""},
		{coordinationv1.LeaseSpec{LeaseDurationSeconds: i(-5)}, "spec.leaseDurationSeconds: Invalid value: -5: must be greater than 0"},
		{coordinationv1.LeaseSpec{LeaseDurationSeconds: i(0), LeaseTransitions: i(-1)},
			"spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0; spec.leaseTransitions: Invalid value: -1: must be greater than or equal to 0"},
		{coordinationv1.LeaseSpec{PreferredHolder: s("b")}, "spec.preferredHolder: Forbidden: may only be specified if `strategy` is defined"},
	} {
		l := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "l", Namespace: "ns"}, Spec: c.spec}
		var got []string
		for _, e := range leaseHooks.Validate(l, nil) {
			got = append(got, e.Error())
		}
		if strings.Join(got, "; ") != c.want {
			t.Errorf("%+v: %q, want %q", c.spec, strings.Join(got, "; "), c.want)
		}
	}
}
