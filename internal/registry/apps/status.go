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
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/registry"
	"kapi/internal/registry/core"
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
	errs := core.NonNegative(statusPath, core.Count64("observedGeneration", st.ObservedGeneration), core.Count32("replicas", st.Replicas),
		core.Count32("updatedReplicas", st.UpdatedReplicas), core.Count32("readyReplicas", st.ReadyReplicas),
		core.Count32("availableReplicas", st.AvailableReplicas), core.Count32("unavailableReplicas", st.UnavailableReplicas),
		core.OptionalCount32("terminatingReplicas", st.TerminatingReplicas), core.OptionalCount32("collisionCount", st.CollisionCount))
	errs = append(errs, core.PartsWithinWhole(statusPath,
		core.PartOf("updatedReplicas", st.UpdatedReplicas, st.Replicas, core.OfReplicas),
		core.PartOf("readyReplicas", st.ReadyReplicas, st.Replicas, core.OfReplicas),
		core.PartOf("availableReplicas", st.AvailableReplicas, st.Replicas, core.OfReplicas),
		core.PartOf("availableReplicas", st.AvailableReplicas, st.ReadyReplicas, "cannot be greater than readyReplicas"))...)
	return append(errs, collisionCountKept(st.CollisionCount, old.CollisionCount)...)
}

// validateReplicaSetStatus is kube's ValidateReplicaSetStatusUpdate,
// which compares nothing with the stored status.
func validateReplicaSetStatus(st *appsv1.ReplicaSetStatus) field.ErrorList {
	errs := core.NonNegative(statusPath, core.Count32("replicas", st.Replicas), core.Count32("fullyLabeledReplicas", st.FullyLabeledReplicas),
		core.Count32("readyReplicas", st.ReadyReplicas), core.Count32("availableReplicas", st.AvailableReplicas),
		core.Count64("observedGeneration", st.ObservedGeneration), core.OptionalCount32("terminatingReplicas", st.TerminatingReplicas))
	return append(errs, core.PartsWithinWhole(statusPath,
		core.PartOf("fullyLabeledReplicas", st.FullyLabeledReplicas, st.Replicas, core.OfReplicas),
		core.PartOf("readyReplicas", st.ReadyReplicas, st.Replicas, core.OfReplicas),
		core.PartOf("availableReplicas", st.AvailableReplicas, st.Replicas, core.OfReplicas),
		core.PartOf("availableReplicas", st.AvailableReplicas, st.ReadyReplicas, "cannot be greater than readyReplicas"))...)
}

// validateStatefulSetStatus is kube's ValidateStatefulSetStatusUpdate
// (its message for available over ready names status.readyReplicas).
func validateStatefulSetStatus(st, old *appsv1.StatefulSetStatus) field.ErrorList {
	errs := core.NonNegative(statusPath, core.Count32("replicas", st.Replicas), core.Count32("readyReplicas", st.ReadyReplicas),
		core.Count32("currentReplicas", st.CurrentReplicas), core.Count32("updatedReplicas", st.UpdatedReplicas),
		core.Count32("availableReplicas", st.AvailableReplicas), core.Count64("observedGeneration", st.ObservedGeneration),
		core.OptionalCount32("collisionCount", st.CollisionCount))
	errs = append(errs, core.PartsWithinWhole(statusPath,
		core.PartOf("readyReplicas", st.ReadyReplicas, st.Replicas, core.OfReplicas),
		core.PartOf("currentReplicas", st.CurrentReplicas, st.Replicas, core.OfReplicas),
		core.PartOf("updatedReplicas", st.UpdatedReplicas, st.Replicas, core.OfReplicas),
		core.PartOf("availableReplicas", st.AvailableReplicas, st.Replicas, core.OfReplicas),
		core.PartOf("availableReplicas", st.AvailableReplicas, st.ReadyReplicas, "cannot be greater than status.readyReplicas"))...)
	return append(errs, collisionCountKept(st.CollisionCount, old.CollisionCount)...)
}

// validateDaemonSetStatus is kube's ValidateDaemonSetStatusUpdate: its
// counts are of nodes, which kube does not compare with each other.
func validateDaemonSetStatus(st, old *appsv1.DaemonSetStatus) field.ErrorList {
	errs := core.NonNegative(statusPath, core.Count32("currentNumberScheduled", st.CurrentNumberScheduled), core.Count32("numberMisscheduled", st.NumberMisscheduled),
		core.Count32("desiredNumberScheduled", st.DesiredNumberScheduled), core.Count32("numberReady", st.NumberReady),
		core.Count64("observedGeneration", st.ObservedGeneration), core.Count32("updatedNumberScheduled", st.UpdatedNumberScheduled),
		core.Count32("numberAvailable", st.NumberAvailable), core.Count32("numberUnavailable", st.NumberUnavailable),
		core.OptionalCount32("collisionCount", st.CollisionCount))
	return append(errs, collisionCountKept(st.CollisionCount, old.CollisionCount)...)
}
