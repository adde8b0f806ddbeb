package resource

import (
	"testing"

	resourcev1 "k8s.io/api/resource/v1"
)

// TestDefaults: kube's resource.k8s.io/v1 defaults, in claims, their
// templates, slices and taint rules.
func TestDefaults(t *testing.T) {
	claim := &resourcev1.ResourceClaim{Spec: resourcev1.ResourceClaimSpec{Devices: resourcev1.DeviceClaim{Requests: []resourcev1.DeviceRequest{
		{Name: "a", Exactly: &resourcev1.ExactDeviceRequest{DeviceClassName: "gpu", Tolerations: []resourcev1.DeviceToleration{{Key: "k"}}}},
		{Name: "b", FirstAvailable: []resourcev1.DeviceSubRequest{{Name: "x", DeviceClassName: "gpu"},
			{Name: "y", DeviceClassName: "gpu", AllocationMode: resourcev1.DeviceAllocationModeAll}}},
	}}}}
	claimHooks.PrepareCreate(claim)
	r := claim.Spec.Devices.Requests
	if e := r[0].Exactly; e.AllocationMode != resourcev1.DeviceAllocationModeExactCount || e.Count != 1 || e.Tolerations[0].Operator != resourcev1.DeviceTolerationOpEqual {
		t.Errorf("exactly: %+v", e)
	}
	if f := r[1].FirstAvailable; f[0].AllocationMode != resourcev1.DeviceAllocationModeExactCount || f[0].Count != 1 ||
		f[1].AllocationMode != resourcev1.DeviceAllocationModeAll || f[1].Count != 0 {
		t.Errorf("first available: %+v", f)
	}
	tmpl := &resourcev1.ResourceClaimTemplate{Spec: resourcev1.ResourceClaimTemplateSpec{Spec: resourcev1.ResourceClaimSpec{Devices: resourcev1.DeviceClaim{
		Requests: []resourcev1.DeviceRequest{{Name: "a", Exactly: &resourcev1.ExactDeviceRequest{DeviceClassName: "gpu"}}}}}}}
	claimTemplateHooks.PrepareUpdate(tmpl, tmpl.DeepCopy())
	if e := tmpl.Spec.Spec.Devices.Requests[0].Exactly; e.Count != 1 {
		t.Errorf("template: %+v", e)
	}
	slice := &resourcev1.ResourceSlice{Spec: resourcev1.ResourceSliceSpec{Devices: []resourcev1.Device{{Name: "d", Taints: []resourcev1.DeviceTaint{{Key: "k", Effect: "NoSchedule"}}}}}}
	sliceHooks.PrepareCreate(slice)
	if ta := slice.Spec.Devices[0].Taints[0].TimeAdded; ta == nil || ta.Nanosecond() != 0 {
		t.Errorf("a slice's taint's time: %v", ta)
	}
	rule := &resourcev1.DeviceTaintRule{}
	taintRuleHooks.PrepareCreate(rule)
	if rule.Spec.Taint.TimeAdded == nil {
		t.Error("a taint rule's time")
	}
}
