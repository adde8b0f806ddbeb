package scheduling

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestPriorityClassDefaults(t *testing.T) {
	pc := &schedulingv1.PriorityClass{Value: 10}
	priorityClassHooks.PrepareCreate(pc)
	if pc.PreemptionPolicy == nil || *pc.PreemptionPolicy != corev1.PreemptLowerPriority {
		t.Fatalf("preemptionPolicy %v, want PreemptLowerPriority", pc.PreemptionPolicy)
	}
	never := corev1.PreemptNever
	pc.PreemptionPolicy = &never
	priorityClassHooks.PrepareUpdate(pc, nil)
	if *pc.PreemptionPolicy != corev1.PreemptNever {
		t.Fatalf("a given policy was replaced: %v", *pc.PreemptionPolicy)
	}
}

// TestPriorityClassValidation: kube's ValidatePriorityClass and its
// update: the system- prefix is the system classes' alone, with their
// values; a user class stays at or below 10^9; value and policy stay.
func TestPriorityClassValidation(t *testing.T) {
	pc := func(name string, value int32, mut ...func(*schedulingv1.PriorityClass)) *schedulingv1.PriorityClass {
		p := &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Value: value}
		for _, m := range mut {
			m(p)
		}
		priorityClassHooks.PrepareCreate(p)
		return p
	}
	msgs := func(errs field.ErrorList) string {
		var out []string
		for _, e := range errs {
			out = append(out, e.Error())
		}
		return strings.Join(out, "; ")
	}
	for _, c := range []struct {
		pc   *schedulingv1.PriorityClass
		want string
	}{
		{pc("high", HighestUserDefinablePriority), ""},
		{pc("big", 2000000000), "value: Forbidden: maximum allowed value of a user defined priority is 1000000000"},
		{pc("system-foo", 1), "metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. error: system-foo is not a known system priority class"},
		{pc("system-node-critical", 5), "metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. error: value of system-node-critical PriorityClass must be 2000001000"},
		{pc("system-cluster-critical", SystemCriticalPriority, func(p *schedulingv1.PriorityClass) { p.GlobalDefault = true }),
			"metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. error: globalDefault of system-cluster-critical PriorityClass must be false"},
		{pc("system-cluster-critical", SystemCriticalPriority), ""},
		{pc("odd", 1, func(p *schedulingv1.PriorityClass) {
			o := corev1.PreemptionPolicy("Sometimes")
			p.PreemptionPolicy = &o
		}),
			`preemptionPolicy: Unsupported value: "Sometimes": supported values: "PreemptLowerPriority", "Never"`},
	} {
		if got := msgs(priorityClassHooks.Validate(c.pc, nil)); got != c.want {
			t.Errorf("%s %d: %q, want %q", c.pc.Name, c.pc.Value, got, c.want)
		}
	}
	old := pc("high", 10)
	changed := pc("high", 6)
	never := corev1.PreemptNever
	changed.PreemptionPolicy = &never
	if got := msgs(priorityClassHooks.Validate(changed, old)); got != `value: Forbidden: may not be changed in an update.; preemptionPolicy: Invalid value: "Never": field is immutable` {
		t.Errorf("update: %q", got)
	}
	// An update checks value and policy only, as kube's: a class stored
	// before kapi checked names and values can still be labelled.
	stored := &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "system-mine"}, Value: 2000000000}
	labelled := stored.DeepCopy()
	labelled.Labels = map[string]string{"a": "b"}
	priorityClassHooks.PrepareUpdate(labelled, stored)
	if errs := priorityClassHooks.Validate(labelled, stored); len(errs) > 0 {
		t.Errorf("labelling a class stored before the checks: %v", errs)
	}
	for _, s := range SystemPriorityClasses() {
		priorityClassHooks.PrepareCreate(s)
		if errs := priorityClassHooks.Validate(s, nil); len(errs) > 0 {
			t.Errorf("system class %s: %v", s.Name, errs)
		}
	}
}
