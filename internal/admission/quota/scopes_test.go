package quota

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func scoped(reqs ...corev1.ScopedResourceSelectorRequirement) *corev1.ResourceQuota {
	return &corev1.ResourceQuota{Spec: corev1.ResourceQuotaSpec{ScopeSelector: &corev1.ScopeSelector{MatchExpressions: reqs}}}
}

func vac(op corev1.ScopeSelectorOperator, values ...string) *corev1.ResourceQuota {
	return scoped(corev1.ScopedResourceSelectorRequirement{ScopeName: corev1.ResourceQuotaScopeVolumeAttributesClass,
		Operator: op, Values: values})
}

// claim is a persistent volume claim asking for the class spec, whose
// volume has the class current and is being given the class target
// ("" for none).
func volumeClaim(spec, current, target string) *corev1.PersistentVolumeClaim {
	c := &corev1.PersistentVolumeClaim{}
	if spec != "" {
		c.Spec.VolumeAttributesClassName = &spec
	}
	if current != "" {
		c.Status.CurrentVolumeAttributesClassName = &current
	}
	if target != "" {
		c.Status.ModifyVolumeStatus = &corev1.ModifyVolumeStatus{TargetVolumeAttributesClassName: target}
	}
	return c
}

// TestSelectsVolumeAttributesClass: a quota with the
// VolumeAttributesClass scope counts the claims that name a class it
// selects, in their spec or in their status, as kube's
// pvcMatchesScopeFunc reads the scope: In and NotIn hold when one of
// the claim's classes does (NotIn and DoesNotExist when it names none),
// Exists when it names one. It selects no pod, and pod scopes select
// no claim.
func TestSelectsVolumeAttributesClass(t *testing.T) {
	none, gold := volumeClaim("", "", ""), volumeClaim("gold", "", "")
	moving := volumeClaim("silver", "gold", "")          // asks for silver, has gold
	modifying := volumeClaim("silver", "silver", "gold") // being given gold
	for _, c := range []struct {
		name  string
		quota *corev1.ResourceQuota
		obj   runtime.Object
		want  bool
	}{
		{"In, spec", vac(corev1.ScopeSelectorOpIn, "gold"), gold, true},
		{"In, other class", vac(corev1.ScopeSelectorOpIn, "silver"), gold, false},
		{"In, no class", vac(corev1.ScopeSelectorOpIn, "gold"), none, false},
		{"In, current class", vac(corev1.ScopeSelectorOpIn, "gold"), moving, true},
		{"In, asked class", vac(corev1.ScopeSelectorOpIn, "silver"), moving, true},
		{"In, target class", vac(corev1.ScopeSelectorOpIn, "gold"), modifying, true},
		{"NotIn, other class", vac(corev1.ScopeSelectorOpNotIn, "silver"), gold, true},
		{"NotIn, its class", vac(corev1.ScopeSelectorOpNotIn, "gold"), gold, false},
		{"NotIn, one of two classes", vac(corev1.ScopeSelectorOpNotIn, "gold"), moving, true},
		{"NotIn, both classes", vac(corev1.ScopeSelectorOpNotIn, "gold", "silver"), moving, false},
		{"NotIn, no class", vac(corev1.ScopeSelectorOpNotIn, "gold"), none, true},
		{"Exists", vac(corev1.ScopeSelectorOpExists), gold, true},
		{"Exists, no class", vac(corev1.ScopeSelectorOpExists), none, false},
		{"DoesNotExist", vac(corev1.ScopeSelectorOpDoesNotExist), gold, false},
		{"DoesNotExist, no class", vac(corev1.ScopeSelectorOpDoesNotExist), none, true},
		{"a pod", vac(corev1.ScopeSelectorOpDoesNotExist), &corev1.Pod{}, false},
		{"a pod scope", scoped(corev1.ScopedResourceSelectorRequirement{ScopeName: corev1.ResourceQuotaScopeNotTerminating,
			Operator: corev1.ScopeSelectorOpExists}), none, false},
		{"a config map", vac(corev1.ScopeSelectorOpDoesNotExist), &corev1.ConfigMap{}, false},
		{"no scopes", &corev1.ResourceQuota{}, gold, true},
	} {
		if got := Selects(c.quota, c.obj); got != c.want {
			t.Errorf("%s: Selects %v, want %v", c.name, got, c.want)
		}
	}
}

// TestSelectsPodScopes: the pod scopes, listed or selected, as before.
func TestSelectsPodScopes(t *testing.T) {
	deadline := int64(60)
	running := &corev1.Pod{Spec: corev1.PodSpec{PriorityClassName: "high"}}
	ending := running.DeepCopy()
	ending.Spec.ActiveDeadlineSeconds = &deadline
	terminatingQuota := &corev1.ResourceQuota{Spec: corev1.ResourceQuotaSpec{Scopes: []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeTerminating}}}
	priority := func(op corev1.ScopeSelectorOperator, values ...string) *corev1.ResourceQuota {
		return scoped(corev1.ScopedResourceSelectorRequirement{ScopeName: corev1.ResourceQuotaScopePriorityClass, Operator: op, Values: values})
	}
	for _, c := range []struct {
		name  string
		quota *corev1.ResourceQuota
		obj   runtime.Object
		want  bool
	}{
		{"Terminating, running", terminatingQuota, running, false},
		{"Terminating, ending", terminatingQuota, ending, true},
		{"BestEffort", scoped(corev1.ScopedResourceSelectorRequirement{ScopeName: corev1.ResourceQuotaScopeBestEffort,
			Operator: corev1.ScopeSelectorOpExists}), running, true},
		{"PriorityClass In", priority(corev1.ScopeSelectorOpIn, "high"), running, true},
		{"PriorityClass NotIn", priority(corev1.ScopeSelectorOpNotIn, "high"), running, false},
		{"PriorityClass NotIn, no class", priority(corev1.ScopeSelectorOpNotIn, "high"), &corev1.Pod{}, true},
		{"PriorityClass DoesNotExist", priority(corev1.ScopeSelectorOpDoesNotExist), running, false},
		{"PriorityClass, a claim", priority(corev1.ScopeSelectorOpDoesNotExist), volumeClaim("", "", ""), false},
	} {
		if got := Selects(c.quota, c.obj); got != c.want {
			t.Errorf("%s: Selects %v, want %v", c.name, got, c.want)
		}
	}
}
