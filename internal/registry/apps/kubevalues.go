package apps

// kube validates its internal types, not apps/v1's, and an error shows
// its bad value as JSON: an internal struct's JSON has Go's field names,
// and its bounds are values. So that a refused strategy reads as kube's
// ("spec.strategy: Unsupported value: {"Type":"Sometimes","RollingUpdate":null}"),
// the errors carry these copies of kube's internal types as their values.

import (
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// internalRollingUpdate is kube's apps.RollingUpdateDeployment and
// apps.RollingUpdateDaemonSet (the same fields, in the same order).
type internalRollingUpdate struct {
	MaxUnavailable intstr.IntOrString
	MaxSurge       intstr.IntOrString
}

func internalBounds(maxUnavailable, maxSurge *intstr.IntOrString) *internalRollingUpdate {
	return &internalRollingUpdate{MaxUnavailable: bound(maxUnavailable), MaxSurge: bound(maxSurge)}
}

// internalDeploymentStrategy is kube's apps.DeploymentStrategy.
type internalDeploymentStrategy struct {
	Type          appsv1.DeploymentStrategyType
	RollingUpdate *internalRollingUpdate
}

func deploymentStrategyValue(s *appsv1.DeploymentStrategy) internalDeploymentStrategy {
	v := internalDeploymentStrategy{Type: s.Type}
	if ru := s.RollingUpdate; ru != nil {
		v.RollingUpdate = internalBounds(ru.MaxUnavailable, ru.MaxSurge)
	}
	return v
}

// internalDaemonSetStrategy is kube's apps.DaemonSetUpdateStrategy.
type internalDaemonSetStrategy struct {
	Type          appsv1.DaemonSetUpdateStrategyType
	RollingUpdate *internalRollingUpdate
}

func daemonSetStrategyValue(s *appsv1.DaemonSetUpdateStrategy) internalDaemonSetStrategy {
	v := internalDaemonSetStrategy{Type: s.Type}
	if ru := s.RollingUpdate; ru != nil {
		v.RollingUpdate = internalBounds(ru.MaxUnavailable, ru.MaxSurge)
	}
	return v
}

// internalStatefulSetRollingUpdate is kube's
// apps.RollingUpdateStatefulSetStrategy.
type internalStatefulSetRollingUpdate struct {
	Partition      int32
	MaxUnavailable *intstr.IntOrString
}

func statefulSetRollingUpdateValue(ru *appsv1.RollingUpdateStatefulSetStrategy) *internalStatefulSetRollingUpdate {
	if ru == nil {
		return nil
	}
	v := &internalStatefulSetRollingUpdate{MaxUnavailable: ru.MaxUnavailable}
	if ru.Partition != nil {
		v.Partition = *ru.Partition
	}
	return v
}

// internalStatefulSetStrategy is kube's apps.StatefulSetUpdateStrategy.
type internalStatefulSetStrategy struct {
	Type          appsv1.StatefulSetUpdateStrategyType
	RollingUpdate *internalStatefulSetRollingUpdate
}

func statefulSetStrategyValue(s *appsv1.StatefulSetUpdateStrategy) internalStatefulSetStrategy {
	return internalStatefulSetStrategy{Type: s.Type, RollingUpdate: statefulSetRollingUpdateValue(s.RollingUpdate)}
}
