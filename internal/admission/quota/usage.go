package quota

import (
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	resourcehelper "k8s.io/component-helpers/resource"

	"kapi/internal/registry"
)

// usage is what an object uses of the resources a quota can limit, as
// kube-controller-manager's evaluators count it: one of its kind
// ("count/<resource>.<group>", and the legacy names of core kinds), for
// pods, persistent volume claims and services what they request, and
// for resource claims the devices they ask of each class.
func usage(r *registry.Resource, obj runtime.Object) corev1.ResourceList {
	if obj == nil {
		return nil
	}
	out := corev1.ResourceList{}
	one := resource.MustParse("1")
	count := "count/" + r.Name
	if r.Group != "" {
		count += "." + r.Group
	}
	out[corev1.ResourceName(count)] = one
	switch o := obj.(type) {
	case *corev1.Pod:
		// As kube's PodUsageFunc: a pod that has ended still counts in
		// count/pods (every pod stored), in nothing else.
		if terminal(o) {
			return out
		}
		out[corev1.ResourcePods] = one
		podUsage(o, out)
	case *corev1.PersistentVolumeClaim:
		out[corev1.ResourcePersistentVolumeClaims] = one
		if q, ok := volumeClaimStorage(o); ok {
			out[corev1.ResourceRequestsStorage] = q
			if c := o.Spec.StorageClassName; c != nil && *c != "" {
				out[corev1.ResourceName(*c+".storageclass.storage.k8s.io/requests.storage")] = q
			}
		}
		if c := o.Spec.StorageClassName; c != nil && *c != "" {
			out[corev1.ResourceName(*c+".storageclass.storage.k8s.io/persistentvolumeclaims")] = one
		}
	case *corev1.Service:
		out[corev1.ResourceServices] = one
		switch o.Spec.Type {
		case corev1.ServiceTypeLoadBalancer:
			out[corev1.ResourceServicesLoadBalancers] = one
			out[corev1.ResourceServicesNodePorts] = *resource.NewQuantity(int64(len(o.Spec.Ports)), resource.DecimalSI)
		case corev1.ServiceTypeNodePort:
			out[corev1.ResourceServicesNodePorts] = *resource.NewQuantity(int64(len(o.Spec.Ports)), resource.DecimalSI)
		}
	case *corev1.ConfigMap:
		out[corev1.ResourceConfigMaps] = one
	case *corev1.Secret:
		out[corev1.ResourceSecrets] = one
	case *corev1.ReplicationController:
		out[corev1.ResourceReplicationControllers] = one
	case *corev1.ResourceQuota:
		out[corev1.ResourceQuotas] = one
	case *resourcev1.ResourceClaim:
		devicesUsage(o, out)
	}
	return out
}

// volumeClaimStorage is what a persistent volume claim counts of
// storage, as kube's getStorageUsage: its request, or what its status
// says was allocated to it when that is more (a claim recovering from a
// failed expansion, RecoverVolumeExpansionFailure, GA since 1.34),
// rounded up to whole bytes; nothing without a request.
func volumeClaimStorage(c *corev1.PersistentVolumeClaim) (resource.Quantity, bool) {
	q, ok := c.Spec.Resources.Requests[corev1.ResourceStorage]
	if !ok {
		return resource.Quantity{}, false
	}
	if a, ok := c.Status.AllocatedResources[corev1.ResourceStorage]; ok && a.Cmp(q) > 0 {
		q = a
	}
	q = q.DeepCopy()
	q.RoundUp(0)
	return q, true
}

// terminal pods use nothing; nor does a pod whose graceful deletion is
// past its time (kube's QuotaV1Pod: a pod stuck terminating, on a lost
// node or with no kubelet at all, must not keep its owner from making
// new ones).
func terminal(p *corev1.Pod) bool {
	if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
		return true
	}
	end, ok := StuckAfter(p)
	return ok && time.Now().After(end)
}

// StuckAfter is when a pod being deleted gracefully stops counting: its
// deletionTimestamp plus its grace period, as kube counts it; false for
// a pod not being deleted so.
func StuckAfter(p *corev1.Pod) (time.Time, bool) {
	if p.DeletionTimestamp == nil || p.DeletionGracePeriodSeconds == nil {
		return time.Time{}, false
	}
	return p.DeletionTimestamp.Add(time.Duration(*p.DeletionGracePeriodSeconds) * time.Second), true
}

// podUsage adds what a pod requests and limits, as the scheduler counts
// it (its containers' sum, or an init container's if larger, its
// overhead, pod-level resources): k8s.io/component-helpers' PodRequests
// and PodLimits, as kube's quota evaluator counts them. Requests are also
// counted under their bare names ("cpu"). A resized pod counts the larger
// of what its spec asks and what its kubelet reports it has, until the
// kubelet has applied the resize (UseStatusResources, as kube counts with
// in-place resize, GA since 1.35).
func podUsage(p *corev1.Pod, out corev1.ResourceList) {
	opts := resourcehelper.PodResourcesOptions{UseStatusResources: true}
	for name, q := range resourcehelper.PodRequests(p, opts) {
		out[corev1.ResourceName("requests."+string(name))] = q
		if name == corev1.ResourceCPU || name == corev1.ResourceMemory || name == corev1.ResourceEphemeralStorage {
			out[name] = q
		}
	}
	for name, q := range resourcehelper.PodLimits(p, opts) {
		if standard(name) {
			out[corev1.ResourceName("limits."+string(name))] = q
		}
	}
}

func standard(name corev1.ResourceName) bool {
	return name == corev1.ResourceCPU || name == corev1.ResourceMemory || name == corev1.ResourceEphemeralStorage ||
		strings.HasPrefix(string(name), corev1.ResourceHugePagesPrefix)
}

// delta is now's usage less before's.
func delta(now, before corev1.ResourceList) corev1.ResourceList {
	out := corev1.ResourceList{}
	for name, q := range now {
		d := q.DeepCopy()
		if b, ok := before[name]; ok {
			d.Sub(b)
		}
		if !d.IsZero() {
			out[name] = d
		}
	}
	for name, b := range before {
		if _, ok := now[name]; !ok && !b.IsZero() {
			d := b.DeepCopy()
			d.Neg()
			out[name] = d
		}
	}
	return out
}

// Usage is what obj of r uses, as the plugin charges it: the quota
// controller sums it over a namespace's objects for status.used, so that
// what it computes is what admission charged.
func Usage(r *registry.Resource, obj runtime.Object) corev1.ResourceList { return usage(r, obj) }

// Selects reports whether q's scopes select obj, as the plugin decides
// which quotas a write is charged to (scopes select pods and persistent
// volume claims only).
func Selects(q *corev1.ResourceQuota, obj runtime.Object) bool {
	return obj != nil && selects(q, factsOf(obj))
}

// Differ reports whether old and obj of r differ in what a quota counts
// of them: their usage, or the scopes that select them. The quota
// controller counts a namespace again when an object changes so.
func Differ(r *registry.Resource, old, obj runtime.Object) bool {
	return changes(sideOf(r, obj), sideOf(r, old))
}
