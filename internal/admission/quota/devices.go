package quota

import (
	corev1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// devicesUsage adds what a ResourceClaim asks of each device class,
// "<class>.deviceclass.resource.k8s.io/devices" (corev1's
// ResourceClaimsPerClass), summed over its requests as kube's
// claimEvaluator.Usage sums them: a request of one class (exactly)
// counts its devices; a request of alternatives (firstAvailable), any
// one of which may be the one allocated, counts for each class the most
// that one of its subrequests of that class asks.
//
// kube's evaluator also counts, since DRAExtendedResource, a claim's
// devices as extended resources: requests.deviceclass.resource.kubernetes.io/<class>,
// and requests.<name> where the DeviceClass names an extended resource,
// less what the pod that owns a claim the scheduler made for it already
// counts. Those depend on DeviceClasses and Pods, not on the claim, and
// kube counts them from claims only for a class that names an extended
// resource (MatchingResources); kapi leaves them out.
func devicesUsage(c *resourcev1.ResourceClaim, out corev1.ResourceList) {
	for _, r := range c.Spec.Devices.Requests {
		switch {
		case len(r.FirstAvailable) > 0:
			most := map[corev1.ResourceName]int64{}
			for _, s := range r.FirstAvailable {
				n := perDeviceClass(s.DeviceClassName)
				most[n] = max(most[n], devices(s.AllocationMode, s.Count))
			}
			for n, v := range most {
				add(out, n, v)
			}
		case r.Exactly != nil:
			add(out, perDeviceClass(r.Exactly.DeviceClassName), devices(r.Exactly.AllocationMode, r.Exactly.Count))
		}
	}
}

// perDeviceClass is kube's V1ResourceByDeviceClass:
// gold -> gold.deviceclass.resource.k8s.io/devices.
func perDeviceClass(class string) corev1.ResourceName {
	return corev1.ResourceName(class + corev1.ResourceClaimsPerClass)
}

// devices is how many devices a request may be allocated: count for
// ExactCount, and for All the most an allocation can hold (the worst
// case, as kube counts it); an unknown mode counts none.
func devices(mode resourcev1.DeviceAllocationMode, count int64) int64 {
	switch mode {
	case resourcev1.DeviceAllocationModeExactCount:
		return count
	case resourcev1.DeviceAllocationModeAll:
		return resourcev1.AllocationResultsMaxSize
	}
	return 0
}

func add(out corev1.ResourceList, n corev1.ResourceName, v int64) {
	sum := out[n].DeepCopy()
	sum.Add(*resource.NewQuantity(v, resource.DecimalSI))
	out[n] = sum
}
