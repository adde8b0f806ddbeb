package quota

import (
	"testing"

	resourcev1 "k8s.io/api/resource/v1"

	"kapi/internal/registry"
)

var resourceClaimsRow = &registry.Resource{Group: "resource.k8s.io", Version: "v1", Name: "resourceclaims", Kind: "ResourceClaim", Namespaced: true}

func exactly(class string, mode resourcev1.DeviceAllocationMode, count int64) resourcev1.DeviceRequest {
	return resourcev1.DeviceRequest{Name: class, Exactly: &resourcev1.ExactDeviceRequest{DeviceClassName: class, AllocationMode: mode, Count: count}}
}

func sub(class string, mode resourcev1.DeviceAllocationMode, count int64) resourcev1.DeviceSubRequest {
	return resourcev1.DeviceSubRequest{Name: class, DeviceClassName: class, AllocationMode: mode, Count: count}
}

func claimOf(reqs ...resourcev1.DeviceRequest) *resourcev1.ResourceClaim {
	return &resourcev1.ResourceClaim{Spec: resourcev1.ResourceClaimSpec{Devices: resourcev1.DeviceClaim{Requests: reqs}}}
}

// TestResourceClaimUsage: a ResourceClaim counts as one of its kind and
// as the devices it asks of each class (kube's claimEvaluator.Usage):
// ExactCount its count, All the most an allocation holds (32), summed
// over requests; of alternatives (firstAvailable) the most any one asks
// of each class. kapi counted the claim only.
func TestResourceClaimUsage(t *testing.T) {
	const exact, all = resourcev1.DeviceAllocationModeExactCount, resourcev1.DeviceAllocationModeAll
	wants(t, "one gold device", Usage(resourceClaimsRow, claimOf(exactly("gold", exact, 1))),
		"count/resourceclaims.resource.k8s.io=1", "gold.deviceclass.resource.k8s.io/devices=1")
	wants(t, "requests summed", Usage(resourceClaimsRow, claimOf(exactly("gold", exact, 2), exactly("gold", exact, 3),
		exactly("silver", all, 0))),
		"count/resourceclaims.resource.k8s.io=1", "gold.deviceclass.resource.k8s.io/devices=5",
		"silver.deviceclass.resource.k8s.io/devices=32")
	alternatives := resourcev1.DeviceRequest{Name: "any", FirstAvailable: []resourcev1.DeviceSubRequest{
		sub("gold", exact, 1), sub("silver", exact, 4), sub("gold", exact, 3)}}
	wants(t, "alternatives", Usage(resourceClaimsRow, claimOf(alternatives, exactly("gold", exact, 1))),
		"count/resourceclaims.resource.k8s.io=1", "gold.deviceclass.resource.k8s.io/devices=4",
		"silver.deviceclass.resource.k8s.io/devices=4")
	unknown := Usage(resourceClaimsRow, claimOf(exactly("gold", "Some", 7)))
	if q := unknown["gold.deviceclass.resource.k8s.io/devices"]; !q.IsZero() {
		t.Errorf("an unknown allocation mode counts %s", q.String())
	}
}
