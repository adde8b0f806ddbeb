package apps

// The workloads' status, as kube-apiserver 1.37 validates a write of it
// through the status subresource (ValidateDeploymentStatusUpdate,
// ValidateReplicaSetStatusUpdate, ValidateStatefulSetStatusUpdate,
// ValidateDaemonSetStatusUpdate). A status write keeps the stored spec,
// so only the status is checked: its counts are not negative, a part of
// the replicas is not more than all of them, and the collision count
// (the suffix that keeps the names of the controller's revisions unique)
// never goes back, or names could repeat. The metadata is checked as for
// every write, elsewhere.

import (
	appsv1 "k8s.io/api/apps/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/registry"
)

var statusPath = field.NewPath("status")

// The workloads' status subresources. As kube-apiserver's, a status write
// cannot change a deployment's labels.
var (
	deploymentStatus = registry.ValidatedStatus(func(obj, old runtime.Object) field.ErrorList {
		return validateDeploymentStatus(&obj.(*appsv1.Deployment).Status, &old.(*appsv1.Deployment).Status)
	}, "metadata.labels")
	replicaSetStatus = registry.ValidatedStatus(func(obj, _ runtime.Object) field.ErrorList {
		return validateReplicaSetStatus(&obj.(*appsv1.ReplicaSet).Status)
	})
	statefulSetStatus = registry.ValidatedStatus(func(obj, old runtime.Object) field.ErrorList {
		return validateStatefulSetStatus(&obj.(*appsv1.StatefulSet).Status, &old.(*appsv1.StatefulSet).Status)
	})
	daemonSetStatus = registry.ValidatedStatus(func(obj, old runtime.Object) field.ErrorList {
		return validateDaemonSetStatus(&obj.(*appsv1.DaemonSet).Status, &old.(*appsv1.DaemonSet).Status)
	})
)

// count is a status field that counts; v nil: an optional one left out.
type count struct {
	name string
	v    *int64
}

func c32(name string, v int32) count { n := int64(v); return count{name, &n} }
func c64(name string, v int64) count { return count{name, &v} }

func opt32(name string, v *int32) count {
	if v == nil {
		return count{name: name}
	}
	return c32(name, *v)
}

// nonNegativeCounts is kube's ValidateNonnegativeField of each count, in
// the order given.
func nonNegativeCounts(counts ...count) field.ErrorList {
	var errs field.ErrorList
	for _, c := range counts {
		if c.v != nil {
			errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(*c.v, statusPath.Child(c.name))...)
		}
	}
	return errs
}

// part is a count of some of the replicas, with the count it is a part
// of and kube's message for exceeding it.
type part struct {
	name     string
	v, whole int32
	msg      string
}

// partsWithinWhole: no part of the replicas is more than its whole.
func partsWithinWhole(parts ...part) field.ErrorList {
	var errs field.ErrorList
	for _, p := range parts {
		if p.v > p.whole {
			errs = append(errs, field.Invalid(statusPath.Child(p.name), p.v, p.msg))
		}
	}
	return errs
}

// ofReplicas is kube's message for a part greater than status.replicas.
const ofReplicas = "cannot be greater than status.replicas"

// collisionCountKept: the collision count does not go back, nor is it
// dropped once counted (kube's IsDecremented; a dropped count shows as 0).
func collisionCountKept(now, was *int32) field.ErrorList {
	if was == nil || now != nil && *now >= *was {
		return nil
	}
	var v int32
	if now != nil {
		v = *now
	}
	return field.ErrorList{field.Invalid(statusPath.Child("collisionCount"), v, "cannot be decremented")}
}

// validateDeploymentStatus is kube's ValidateDeploymentStatusUpdate
// (status.terminatingReplicas is kube's
// DeploymentReplicaSetTerminatingReplicas feature, on by default).
func validateDeploymentStatus(st, old *appsv1.DeploymentStatus) field.ErrorList {
	errs := nonNegativeCounts(c64("observedGeneration", st.ObservedGeneration), c32("replicas", st.Replicas),
		c32("updatedReplicas", st.UpdatedReplicas), c32("readyReplicas", st.ReadyReplicas),
		c32("availableReplicas", st.AvailableReplicas), c32("unavailableReplicas", st.UnavailableReplicas),
		opt32("terminatingReplicas", st.TerminatingReplicas), opt32("collisionCount", st.CollisionCount))
	errs = append(errs, partsWithinWhole(
		part{"updatedReplicas", st.UpdatedReplicas, st.Replicas, ofReplicas},
		part{"readyReplicas", st.ReadyReplicas, st.Replicas, ofReplicas},
		part{"availableReplicas", st.AvailableReplicas, st.Replicas, ofReplicas},
		part{"availableReplicas", st.AvailableReplicas, st.ReadyReplicas, "cannot be greater than readyReplicas"})...)
	return append(errs, collisionCountKept(st.CollisionCount, old.CollisionCount)...)
}

// validateReplicaSetStatus is kube's ValidateReplicaSetStatusUpdate,
// which compares nothing with the stored status.
func validateReplicaSetStatus(st *appsv1.ReplicaSetStatus) field.ErrorList {
	errs := nonNegativeCounts(c32("replicas", st.Replicas), c32("fullyLabeledReplicas", st.FullyLabeledReplicas),
		c32("readyReplicas", st.ReadyReplicas), c32("availableReplicas", st.AvailableReplicas),
		c64("observedGeneration", st.ObservedGeneration), opt32("terminatingReplicas", st.TerminatingReplicas))
	return append(errs, partsWithinWhole(
		part{"fullyLabeledReplicas", st.FullyLabeledReplicas, st.Replicas, ofReplicas},
		part{"readyReplicas", st.ReadyReplicas, st.Replicas, ofReplicas},
		part{"availableReplicas", st.AvailableReplicas, st.Replicas, ofReplicas},
		part{"availableReplicas", st.AvailableReplicas, st.ReadyReplicas, "cannot be greater than readyReplicas"})...)
}

// validateStatefulSetStatus is kube's ValidateStatefulSetStatusUpdate
// (its message for available over ready names status.readyReplicas).
func validateStatefulSetStatus(st, old *appsv1.StatefulSetStatus) field.ErrorList {
	errs := nonNegativeCounts(c32("replicas", st.Replicas), c32("readyReplicas", st.ReadyReplicas),
		c32("currentReplicas", st.CurrentReplicas), c32("updatedReplicas", st.UpdatedReplicas),
		c32("availableReplicas", st.AvailableReplicas), c64("observedGeneration", st.ObservedGeneration),
		opt32("collisionCount", st.CollisionCount))
	errs = append(errs, partsWithinWhole(
		part{"readyReplicas", st.ReadyReplicas, st.Replicas, ofReplicas},
		part{"currentReplicas", st.CurrentReplicas, st.Replicas, ofReplicas},
		part{"updatedReplicas", st.UpdatedReplicas, st.Replicas, ofReplicas},
		part{"availableReplicas", st.AvailableReplicas, st.Replicas, ofReplicas},
		part{"availableReplicas", st.AvailableReplicas, st.ReadyReplicas, "cannot be greater than status.readyReplicas"})...)
	return append(errs, collisionCountKept(st.CollisionCount, old.CollisionCount)...)
}

// validateDaemonSetStatus is kube's ValidateDaemonSetStatusUpdate: its
// counts are of nodes, which kube does not compare with each other.
func validateDaemonSetStatus(st, old *appsv1.DaemonSetStatus) field.ErrorList {
	errs := nonNegativeCounts(c32("currentNumberScheduled", st.CurrentNumberScheduled), c32("numberMisscheduled", st.NumberMisscheduled),
		c32("desiredNumberScheduled", st.DesiredNumberScheduled), c32("numberReady", st.NumberReady),
		c64("observedGeneration", st.ObservedGeneration), c32("updatedNumberScheduled", st.UpdatedNumberScheduled),
		c32("numberAvailable", st.NumberAvailable), c32("numberUnavailable", st.NumberUnavailable),
		opt32("collisionCount", st.CollisionCount))
	return append(errs, collisionCountKept(st.CollisionCount, old.CollisionCount)...)
}
