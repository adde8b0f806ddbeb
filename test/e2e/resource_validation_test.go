package e2e

import (
	"context"
	"testing"

	resourcev1 "k8s.io/api/resource/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// TestResourceValidation: resource.k8s.io/v1 objects are validated as
// kube's (internal/registry/resource/validation.go): a claim asking for
// a request twice, a slice naming no node and a class with a config of no
// driver get 422 with kube's field paths, and nothing is stored; a claim's
// status may not name an allocated device it does not have.
func TestResourceValidation(t *testing.T) {
	t.Parallel()
	k := startKapi(t)
	ctx := context.Background()
	rc := k.client.ResourceV1()

	claim := &resourcev1.ResourceClaim{ObjectMeta: metav1.ObjectMeta{Name: "c"}, Spec: resourcev1.ResourceClaimSpec{Devices: resourcev1.DeviceClaim{
		Requests: []resourcev1.DeviceRequest{
			{Name: "gpu", Exactly: &resourcev1.ExactDeviceRequest{DeviceClassName: "gpu.example.com"}},
			{Name: "gpu", Exactly: &resourcev1.ExactDeviceRequest{DeviceClassName: "gpu.example.com"}}}}}}
	_, err := rc.ResourceClaims("default").Create(ctx, claim, metav1.CreateOptions{})
	if got := causes(t, err); got["spec.devices.requests[1]"] != metav1.CauseTypeFieldValueDuplicate {
		t.Errorf("a request named twice: %v", got)
	}
	if l, err := rc.ResourceClaims("default").List(ctx, metav1.ListOptions{}); err != nil || len(l.Items) != 0 {
		t.Fatalf("the refused claim was stored: %v", err)
	}

	slice := &resourcev1.ResourceSlice{ObjectMeta: metav1.ObjectMeta{Name: "s"}, Spec: resourcev1.ResourceSliceSpec{
		Driver: "gpu.example.com", Pool: resourcev1.ResourcePool{Name: "pool", ResourceSliceCount: 1}}}
	_, err = rc.ResourceSlices().Create(ctx, slice, metav1.CreateOptions{})
	if got := causes(t, err); got["spec"] != metav1.CauseTypeFieldValueRequired {
		t.Errorf("a slice of no node: %v", got)
	}

	class := &resourcev1.DeviceClass{ObjectMeta: metav1.ObjectMeta{Name: "gpu.example.com"}, Spec: resourcev1.DeviceClassSpec{
		Config: []resourcev1.DeviceClassConfiguration{{DeviceConfiguration: resourcev1.DeviceConfiguration{
			Opaque: &resourcev1.OpaqueDeviceConfiguration{Parameters: runtime.RawExtension{Raw: []byte(`{"a":1}`)}}}}}}}
	_, err = rc.DeviceClasses().Create(ctx, class, metav1.CreateOptions{})
	if got := causes(t, err); got["spec.config[0].opaque.driver"] != metav1.CauseTypeFieldValueRequired {
		t.Errorf("a config of no driver: %v", got)
	}

	claim.Spec.Devices.Requests = claim.Spec.Devices.Requests[:1]
	claim, err = rc.ResourceClaims("default").Create(ctx, claim, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	claim.Status.Devices = []resourcev1.AllocatedDeviceStatus{{Driver: "gpu.example.com", Pool: "pool", Device: "gpu-0"}}
	_, err = rc.ResourceClaims("default").UpdateStatus(ctx, claim, metav1.UpdateOptions{})
	if got := causes(t, err); got["status.devices[0]"] != metav1.CauseTypeFieldValueInvalid {
		t.Errorf("the status of a device not allocated: %v", got)
	}
}
