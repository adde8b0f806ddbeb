package flowcontrol

import (
	"context"

	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/operation"
	"k8s.io/apimachinery/pkg/api/validate"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// The declarative rules of a PriorityLevelConfiguration's spec, as
// flowcontrol/v1's generated Validate_PriorityLevelConfigurationSpec,
// Validate_LimitedPriorityLevelConfiguration and Validate_LimitResponse
// (all beta), made with k8s.io/apimachinery's validate functions, the
// ones the generated code calls.

var (
	bg       = context.Background()
	createOp = operation.Operation{Type: operation.Create}
)

// declaredPriorityLevelSpec: spec.exempt only with type Exempt; spec.limited
// with type Limited and only then; type required; within limited, the
// limit response's queuing with type Queue and only then, its type
// required. old is the stored spec on an update: what is unchanged (a
// member with its type, a type) is not checked.
func declaredPriorityLevelSpec(spec, old *flowcontrolv1.PriorityLevelConfigurationSpec, p *field.Path) field.ErrorList {
	if old != nil && apiequality.Semantic.DeepEqual(spec, old) {
		return nil
	}
	var errs field.ErrorList
	sameType := old != nil && spec.Type == old.Type
	if !sameType || !apiequality.Semantic.DeepEqual(spec.Exempt, old.Exempt) {
		if spec.Type != flowcontrolv1.PriorityLevelEnablementExempt {
			errs = append(errs, validate.ForbiddenPointer(bg, createOp, p.Child("exempt"), spec.Exempt, nil)...)
		}
	}
	if !sameType || !apiequality.Semantic.DeepEqual(spec.Limited, old.Limited) {
		if spec.Type == flowcontrolv1.PriorityLevelEnablementLimited {
			errs = append(errs, validate.RequiredPointer(bg, createOp, p.Child("limited"), spec.Limited, nil)...)
		} else {
			errs = append(errs, validate.ForbiddenPointer(bg, createOp, p.Child("limited"), spec.Limited, nil)...)
		}
	}
	if !sameType {
		errs = append(errs, validate.RequiredValue(bg, createOp, p.Child("type"), &spec.Type, nil)...)
	}
	var oldLimited *flowcontrolv1.LimitedPriorityLevelConfiguration
	if old != nil {
		oldLimited = old.Limited
	}
	if l := spec.Limited; l != nil && (oldLimited == nil || !apiequality.Semantic.DeepEqual(l, oldLimited)) {
		var oldResponse *flowcontrolv1.LimitResponse
		if oldLimited != nil {
			oldResponse = &oldLimited.LimitResponse
		}
		errs = append(errs, declaredLimitResponse(&l.LimitResponse, oldResponse, p.Child("limited", "limitResponse"))...)
	}
	return errs
}

// declaredLimitResponse is Validate_LimitResponse. Its union compares the
// queuing members as pointers: an update's own and the stored one are
// alike only when both are missing.
func declaredLimitResponse(lr, old *flowcontrolv1.LimitResponse, p *field.Path) field.ErrorList {
	if old != nil && apiequality.Semantic.DeepEqual(lr, old) {
		return nil
	}
	var errs field.ErrorList
	sameType := old != nil && lr.Type == old.Type
	if !sameType || lr.Queuing != nil || old.Queuing != nil {
		if lr.Type == flowcontrolv1.LimitResponseTypeQueue {
			errs = append(errs, validate.RequiredPointer(bg, createOp, p.Child("queuing"), lr.Queuing, nil)...)
		} else {
			errs = append(errs, validate.ForbiddenPointer(bg, createOp, p.Child("queuing"), lr.Queuing, nil)...)
		}
	}
	if !sameType {
		errs = append(errs, validate.RequiredValue(bg, createOp, p.Child("type"), &lr.Type, nil)...)
	}
	return errs
}
