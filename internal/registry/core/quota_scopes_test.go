package core

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// TestQuotaScopes: kube's validation of a quota's scopes and scope
// selector, message by message, and scopes that may not change.
func TestQuotaScopes(t *testing.T) {
	hard := func(names ...string) corev1.ResourceList {
		l := corev1.ResourceList{}
		for _, n := range names {
			l[corev1.ResourceName(n)] = resource.MustParse("1")
		}
		return l
	}
	for _, c := range []struct {
		spec corev1.ResourceQuotaSpec
		want []string
	}{
		{corev1.ResourceQuotaSpec{Hard: hard("pods", "cpu"), Scopes: []corev1.ResourceQuotaScope{"NotTerminating"}}, nil},
		{corev1.ResourceQuotaSpec{Hard: hard("cpu"), Scopes: []corev1.ResourceQuotaScope{"BestEffort"}},
			[]string{`spec.scopes: Invalid value: ["BestEffort"]: unsupported scope applied to resource`}},
		{corev1.ResourceQuotaSpec{Hard: hard("services", "configmaps"), Scopes: []corev1.ResourceQuotaScope{"NotTerminating"}},
			[]string{"unsupported scope applied to resource", "unsupported scope applied to resource"}},
		{corev1.ResourceQuotaSpec{Hard: hard("pods"), Scopes: []corev1.ResourceQuotaScope{"BestEffort", "NotBestEffort", "Sometimes"}},
			[]string{"unsupported scope", "conflicting scopes"}},
		{corev1.ResourceQuotaSpec{Hard: hard("services"), ScopeSelector: &corev1.ScopeSelector{MatchExpressions: []corev1.ScopedResourceSelectorRequirement{
			{ScopeName: "PriorityClass", Operator: "In"}, {ScopeName: "Terminating", Operator: "In", Values: []string{"x"}}}}},
			[]string{`spec.scopeSelector.matchExpressions: Invalid value:`, // unsupported scope applied to resource
				"spec.scopeSelector.matchExpressions.values: Required value: must be at least one value when `operator` is 'In' or 'NotIn' for scope selector",
				"spec.scopeSelector.matchExpressions: Invalid value:",
				`spec.scopeSelector.matchExpressions.operator: Invalid value: "In": must be 'Exists' when scope is any of`}},
	} {
		q := &corev1.ResourceQuota{Spec: c.spec}
		errs := resourceQuotaHooks.Validate(q, nil)
		if len(errs) != len(c.want) {
			t.Errorf("%+v: %v, want %d errors", c.spec, errs, len(c.want))
			continue
		}
		for i, w := range c.want {
			if !strings.Contains(errs[i].Error(), w) {
				t.Errorf("error %d: %q, want %q", i, errs[i].Error(), w)
			}
		}
	}
	old := &corev1.ResourceQuota{Spec: corev1.ResourceQuotaSpec{Hard: hard("pods"), Scopes: []corev1.ResourceQuotaScope{"Terminating"}}}
	q := old.DeepCopy()
	q.Spec.Scopes = []corev1.ResourceQuotaScope{"NotTerminating"}
	if errs := resourceQuotaHooks.Validate(q, old); len(errs) != 1 || !strings.Contains(errs[0].Error(), "spec.scopes: Invalid value: [\"NotTerminating\"]: field is immutable") {
		t.Errorf("a changed scope: %v", errs)
	}
}
