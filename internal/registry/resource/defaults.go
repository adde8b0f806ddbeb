package resource

import (
	"time"

	resourcev1 "k8s.io/api/resource/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/registry"
)

// The defaults kube's resource.k8s.io/v1 defaulters give (its
// SetObjectDefaults_*): a device request allocates exactly one device
// unless it says otherwise, a toleration's operator is Equal, a taint
// was added when it was first written. kube applies them to whatever it
// decodes, so every write of these kinds, status writes included, gets
// them here.

// defaulting makes hooks that default obj on every write and read and
// validate it on create and update (validation.go).
func defaulting(def func(obj runtime.Object), validate func(obj, old runtime.Object) field.ErrorList) *registry.Hooks {
	return &registry.Hooks{
		Default:  def,
		Validate: validate,
	}
}

var (
	classHooks = &registry.Hooks{Validate: validateClass}
	claimHooks = defaulting(func(obj runtime.Object) {
		c := obj.(*resourcev1.ResourceClaim)
		defaultClaimSpec(&c.Spec)
		if a := c.Status.Allocation; a != nil {
			for i := range a.Devices.Results {
				defaultTolerations(a.Devices.Results[i].Tolerations)
			}
		}
	}, validateClaim)
	claimTemplateHooks = defaulting(func(obj runtime.Object) {
		defaultClaimSpec(&obj.(*resourcev1.ResourceClaimTemplate).Spec.Spec)
	}, validateClaimTemplate)
	sliceHooks = defaulting(func(obj runtime.Object) {
		s := obj.(*resourcev1.ResourceSlice)
		for i := range s.Spec.Devices {
			for j := range s.Spec.Devices[i].Taints {
				defaultTaint(&s.Spec.Devices[i].Taints[j])
			}
		}
	}, validateSlice)
	taintRuleHooks = defaulting(func(obj runtime.Object) {
		defaultTaint(&obj.(*resourcev1.DeviceTaintRule).Spec.Taint)
	}, validateTaintRule)
)

func defaultClaimSpec(s *resourcev1.ResourceClaimSpec) {
	for i := range s.Devices.Requests {
		r := &s.Devices.Requests[i]
		if e := r.Exactly; e != nil {
			e.AllocationMode, e.Count = defaultCount(e.AllocationMode, e.Count)
			defaultTolerations(e.Tolerations)
		}
		for j := range r.FirstAvailable {
			sub := &r.FirstAvailable[j]
			sub.AllocationMode, sub.Count = defaultCount(sub.AllocationMode, sub.Count)
			defaultTolerations(sub.Tolerations)
		}
	}
}

// defaultCount is SetDefaults_ExactDeviceRequest's and
// SetDefaults_DeviceSubRequest's: ExactCount of one.
func defaultCount(mode resourcev1.DeviceAllocationMode, count int64) (resourcev1.DeviceAllocationMode, int64) {
	if mode == "" {
		mode = resourcev1.DeviceAllocationModeExactCount
	}
	if mode == resourcev1.DeviceAllocationModeExactCount && count == 0 {
		count = 1
	}
	return mode, count
}

func defaultTolerations(ts []resourcev1.DeviceToleration) {
	for i := range ts {
		if ts[i].Operator == "" {
			ts[i].Operator = resourcev1.DeviceTolerationOpEqual
		}
	}
}

// defaultTaint is SetDefaults_DeviceTaint: added now, to the second.
func defaultTaint(t *resourcev1.DeviceTaint) {
	if t.TimeAdded == nil {
		t.TimeAdded = &metav1.Time{Time: time.Now().Truncate(time.Second)}
	}
}
