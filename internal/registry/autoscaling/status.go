package autoscaling

// A HorizontalPodAutoscaler's status, as kube-apiserver 1.37 validates a
// write of it through the status subresource: the status strategy's
// ValidateUpdate, ValidateHorizontalPodAutoscalerStatusUpdate. The HPA
// controller writes this status; kube checks only that its replica
// counts are counts and that a condition's observedGeneration is not
// negative. A status write keeps the stored spec, so the spec is not
// checked again, and the metadata is checked as for every write,
// elsewhere.

import (
	"fmt"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/registry"
)

// hpaStatus is the status subresource of both served versions, with
// kube's checks of the status written in place of the spec's.
var hpaStatus = registry.ValidatedStatus(func(obj, _ runtime.Object) field.ErrorList {
	st, err := v2Status(obj)
	if err != nil {
		return field.ErrorList{field.InternalError(field.NewPath("status"), err)}
	}
	return validateHPAStatus(st)
})

// v2Status is the status of an object of either version in its v2 form.
// kube validates its internal (v2-shaped) object, so that a v1 write's
// conditions, which travel in the autoscaling.alpha.kubernetes.io/conditions
// annotation, are checked at their v2 paths (status.conditions[i]).
func v2Status(obj runtime.Object) (*autoscalingv2.HorizontalPodAutoscalerStatus, error) {
	switch h := obj.(type) {
	case *autoscalingv2.HorizontalPodAutoscaler:
		return &h.Status, nil
	case *autoscalingv1.HorizontalPodAutoscaler:
		v2, err := V1ToV2(h)
		if err != nil {
			return nil, err
		}
		return &v2.Status, nil
	}
	return nil, fmt.Errorf("not a HorizontalPodAutoscaler: %T", obj)
}

// validateHPAStatus is kube's ValidateHorizontalPodAutoscalerStatusUpdate
// without its metadata check: each condition's observedGeneration, when
// given, then currentReplicas and desiredReplicas, none negative. kube
// compares nothing with the stored status and checks nothing else of it
// (not status.observedGeneration, nor the current metrics).
func validateHPAStatus(st *autoscalingv2.HorizontalPodAutoscalerStatus) field.ErrorList {
	path := field.NewPath("status")
	var errs field.ErrorList
	for i, c := range st.Conditions {
		if c.ObservedGeneration != nil {
			errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(*c.ObservedGeneration,
				path.Child("conditions").Index(i).Child("observedGeneration"))...)
		}
	}
	errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(int64(st.CurrentReplicas), path.Child("currentReplicas"))...)
	return append(errs, apimachineryvalidation.ValidateNonnegativeField(int64(st.DesiredReplicas), path.Child("desiredReplicas"))...)
}
