package quota

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"kapi/internal/admission"
	"kapi/internal/registry"
)

var (
	podsRow         = &registry.Resource{Version: "v1", Name: "pods", Kind: "Pod", Namespaced: true}
	volumeClaimsRow = &registry.Resource{Version: "v1", Name: "persistentvolumeclaims", Kind: "PersistentVolumeClaim", Namespaced: true}
)

func withScope(s corev1.ResourceQuotaScope) *corev1.ResourceQuota {
	return scoped(corev1.ScopedResourceSelectorRequirement{ScopeName: s, Operator: corev1.ScopeSelectorOpExists})
}

// wants reports whether got is want, as "name=quantity" pairs (zero
// quantities left out, as delta leaves them out).
func wants(t *testing.T, what string, got corev1.ResourceList, want ...string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %v, want %v", what, got, want)
		return
	}
	for _, w := range want {
		n, v, _ := strings.Cut(w, "=")
		if q, ok := got[corev1.ResourceName(n)]; !ok || q.Cmp(resource.MustParse(v)) != 0 {
			t.Errorf("%s: %v, want %v", what, got, want)
			return
		}
	}
}

// TestChargeMovesTerminating: a pod given an active deadline is charged
// to the Terminating quotas in full and given back by the NotTerminating
// ones, though its usage does not change; a quota that counts it before
// and after is charged nothing; a quota on other scopes is not touched.
// One delta for all quotas (new usage less old, nothing) charged no one,
// and a second terminating pod got beyond pods: 1.
func TestChargeMovesTerminating(t *testing.T) {
	cpu := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")}
	old := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c",
		Resources: corev1.ResourceRequirements{Requests: cpu, Limits: cpu}}}}}
	pod := old.DeepCopy()
	deadline := int64(3600)
	pod.Spec.ActiveDeadlineSeconds = &deadline
	now, before := sideOf(podsRow, pod), sideOf(podsRow, old)
	if !changes(now, before) {
		t.Fatal("a write that moves a pod between scopes charges nothing")
	}
	wants(t, "Terminating", charge(withScope(corev1.ResourceQuotaScopeTerminating), now, before),
		"count/pods=1", "pods=1", "cpu=500m", "requests.cpu=500m", "limits.cpu=500m")
	wants(t, "NotTerminating", charge(withScope(corev1.ResourceQuotaScopeNotTerminating), now, before),
		"count/pods=-1", "pods=-1", "cpu=-500m", "requests.cpu=-500m", "limits.cpu=-500m")
	wants(t, "no scope", charge(&corev1.ResourceQuota{}, now, before))
	wants(t, "BestEffort", charge(withScope(corev1.ResourceQuotaScopeBestEffort), now, before))
	// Back again.
	wants(t, "Terminating, deadline cleared", charge(withScope(corev1.ResourceQuotaScopeTerminating), before, now),
		"count/pods=-1", "pods=-1", "cpu=-500m", "requests.cpu=-500m", "limits.cpu=-500m")
}

// TestChargeUnchanged: a write that changes neither usage nor scopes
// changes nothing (the plugin reads no quota); a change of usage within
// one scope is charged as the change.
func TestChargeUnchanged(t *testing.T) {
	old := &corev1.Pod{}
	labelled := old.DeepCopy()
	labelled.Labels = map[string]string{"a": "b"}
	if changes(sideOf(podsRow, labelled), sideOf(podsRow, old)) {
		t.Error("a label changes a quota")
	}
	small := volumeClaim("gold", "", "")
	small.Spec.Resources.Requests = corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}
	big := small.DeepCopy()
	big.Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("3Gi")
	wants(t, "an expansion", charge(vac(corev1.ScopeSelectorOpIn, "gold"), sideOf(volumeClaimsRow, big), sideOf(volumeClaimsRow, small)),
		"requests.storage=2Gi")
	wants(t, "a create", charge(vac(corev1.ScopeSelectorOpIn, "gold"), sideOf(volumeClaimsRow, small), sideOf(volumeClaimsRow, nil)),
		"count/persistentvolumeclaims=1", "persistentvolumeclaims=1", "requests.storage=1Gi")
	wants(t, "a delete", charge(vac(corev1.ScopeSelectorOpIn, "gold"), sideOf(volumeClaimsRow, nil), sideOf(volumeClaimsRow, small)),
		"count/persistentvolumeclaims=-1", "persistentvolumeclaims=-1", "requests.storage=-1Gi")
}

// TestChargeClaimStatus: a claim whose status now says its volume has
// the class it asked for leaves the quota of the class it had; one whose
// spec asks for another class is counted by the quotas of both until
// the status says so.
func TestChargeClaimStatus(t *testing.T) {
	storage := corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}
	moving := volumeClaim("silver", "gold", "")
	moving.Spec.Resources.Requests = storage
	moved := volumeClaim("silver", "silver", "")
	moved.Spec.Resources.Requests = storage
	gold, silver := vac(corev1.ScopeSelectorOpIn, "gold"), vac(corev1.ScopeSelectorOpIn, "silver")
	now, before := sideOf(volumeClaimsRow, moved), sideOf(volumeClaimsRow, moving)
	if !changes(now, before) {
		t.Fatal("a status write that changes the classes charges nothing")
	}
	wants(t, "gold", charge(gold, now, before), "count/persistentvolumeclaims=-1", "persistentvolumeclaims=-1", "requests.storage=-1Gi")
	wants(t, "silver", charge(silver, now, before))
	asked := volumeClaim("gold", "gold", "")
	asked.Spec.Resources.Requests = storage
	wants(t, "silver, asked", charge(silver, sideOf(volumeClaimsRow, moving), sideOf(volumeClaimsRow, asked)),
		"count/persistentvolumeclaims=1", "persistentvolumeclaims=1", "requests.storage=1Gi")
	wants(t, "gold, asked", charge(gold, sideOf(volumeClaimsRow, moving), sideOf(volumeClaimsRow, asked)))
}

// TestHandled: the plugin measures a claim's status writes (kube's pvc
// evaluator handles them) and charges them without refusing them; not
// a pod's.
func TestHandled(t *testing.T) {
	status := &admission.Attributes{Operation: admission.Update, Resource: volumeClaimsRow, Subresource: "status"}
	if !handled(status) || enforced(status) {
		t.Errorf("a claim's status write: handled %v, enforced %v", handled(status), enforced(status))
	}
	if podStatus := (&admission.Attributes{Operation: admission.Update, Resource: podsRow, Subresource: "status"}); handled(podStatus) {
		t.Error("a pod's status write is measured")
	}
	if create := (&admission.Attributes{Operation: admission.Create, Resource: volumeClaimsRow}); !handled(create) || !enforced(create) {
		t.Error("a claim's create is not measured and enforced")
	}
}

// TestRequiresResourcesOnScopeMove: kube's pod evaluator checks that a
// pod states the compute resources a quota limits on an update that
// moves it into or out of the Terminating scope, as on a create; not on
// other updates.
func TestRequiresResourcesOnScopeMove(t *testing.T) {
	q := withScope(corev1.ResourceQuotaScopeTerminating)
	q.Name = "terminating"
	q.Spec.Hard = corev1.ResourceList{corev1.ResourceLimitsCPU: resource.MustParse("1")}
	old := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c"}}}}
	pod := old.DeepCopy()
	deadline := int64(60)
	pod.Spec.ActiveDeadlineSeconds = &deadline
	move := &admission.Attributes{Operation: admission.Update, Resource: podsRow, Object: pod, OldObject: old}
	err := requiresResources(q, move)
	if err == nil || err.Error() != "failed quota: terminating: must specify limits.cpu for: c" {
		t.Errorf("a move into the scope: %v", err)
	}
	labelled := pod.DeepCopy()
	labelled.Labels = map[string]string{"a": "b"}
	if err := requiresResources(q, &admission.Attributes{Operation: admission.Update, Resource: podsRow, Object: labelled, OldObject: pod}); err != nil {
		t.Errorf("an update within the scope: %v", err)
	}
}

// TestDiffer: the quota controller counts again when an object's usage
// changes or its scopes do.
func TestDiffer(t *testing.T) {
	old := &corev1.Pod{}
	pod := old.DeepCopy()
	deadline := int64(60)
	pod.Spec.ActiveDeadlineSeconds = &deadline
	if !Differ(podsRow, old, pod) {
		t.Error("a pod given an active deadline")
	}
	if Differ(podsRow, pod, pod.DeepCopy()) {
		t.Error("an unchanged pod")
	}
	if !Differ(volumeClaimsRow, volumeClaim("gold", "", ""), volumeClaim("gold", "silver", "")) {
		t.Error("a claim whose volume has another class")
	}
	if Differ(volumeClaimsRow, volumeClaim("gold", "", ""), volumeClaim("gold", "gold", "")) {
		t.Error("a claim whose volume has the class it asks for")
	}
}

// TestRequiresResourcesAsKube: kube's pod evaluator Constraints names
// the missing resources in order, with the regular and init containers
// lacking each (sorted), and asks nothing of a pod with pod-level
// resources.
func TestRequiresResourcesAsKube(t *testing.T) {
	q := &corev1.ResourceQuota{Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{
		corev1.ResourceRequestsMemory: resource.MustParse("1Gi"), corev1.ResourceLimitsCPU: resource.MustParse("1"), corev1.ResourceCPU: resource.MustParse("1")}}}
	q.Name = "compute"
	cpu := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}
	pod := &corev1.Pod{Spec: corev1.PodSpec{
		Containers:     []corev1.Container{{Name: "web", Resources: corev1.ResourceRequirements{Requests: cpu, Limits: cpu}}, {Name: "side"}},
		InitContainers: []corev1.Container{{Name: "init", Resources: corev1.ResourceRequirements{Requests: cpu}}}}}
	create := &admission.Attributes{Operation: admission.Create, Resource: podsRow, Object: pod}
	want := "failed quota: compute: must specify cpu for: side; limits.cpu for: init,side; requests.memory for: init,side,web"
	if err := requiresResources(q, create); err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	pod.Spec.Resources = &corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")}}
	if err := requiresResources(q, create); err != nil {
		t.Errorf("a pod with pod-level resources: %v", err)
	}
}
