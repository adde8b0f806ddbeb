package scheduling

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
)

func TestPriorityClassDefaults(t *testing.T) {
	pc := &schedulingv1.PriorityClass{Value: 10}
	priorityClassHooks.PrepareForCreate(pc)
	if pc.PreemptionPolicy == nil || *pc.PreemptionPolicy != corev1.PreemptLowerPriority {
		t.Fatalf("preemptionPolicy %v, want PreemptLowerPriority", pc.PreemptionPolicy)
	}
	never := corev1.PreemptNever
	pc.PreemptionPolicy = &never
	priorityClassHooks.PrepareForUpdate(pc, nil)
	if *pc.PreemptionPolicy != corev1.PreemptNever {
		t.Fatalf("a given policy was replaced: %v", *pc.PreemptionPolicy)
	}
}
