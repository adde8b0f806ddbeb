package core

import (
	"strconv"

	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ValidateIntOrPercent is kube's ValidatePositiveIntOrPercent followed by
// IsNotMoreThan100Percent, for disruption budgets and rolling-update
// bounds that cap at 100%: a non-negative integer or a percentage up to
// 100%.
func ValidateIntOrPercent(v *intstr.IntOrString, path *field.Path) field.ErrorList {
	if v == nil {
		return nil
	}
	return append(ValidatePositiveIntOrPercent(*v, path), NotMoreThan100Percent(*v, path)...)
}

// ValidatePositiveIntOrPercent is kube's: a non-negative integer or a
// percentage. (kube's message for a value of neither kind has a doubled
// '%', as it is not a format.)
func ValidatePositiveIntOrPercent(v intstr.IntOrString, path *field.Path) field.ErrorList {
	switch v.Type {
	case intstr.String:
		var errs field.ErrorList
		for _, msg := range validation.IsValidPercent(v.StrVal) {
			errs = append(errs, field.Invalid(path, v, msg))
		}
		return errs
	case intstr.Int:
		return apimachineryvalidation.ValidateNonnegativeField(int64(v.IntValue()), path)
	}
	return field.ErrorList{field.Invalid(path, v, "must be an integer or percentage (e.g '5%%')")}
}

// NotMoreThan100Percent is kube's IsNotMoreThan100Percent: a valid
// percentage is at most 100%; integers are not bounded here.
func NotMoreThan100Percent(v intstr.IntOrString, path *field.Path) field.ErrorList {
	if n, ok := PercentValue(v); ok && n > 100 {
		return field.ErrorList{field.Invalid(path, v, "must not be greater than 100%")}
	}
	return nil
}

// PercentValue is kube's getPercentValue: the number of a valid
// percentage ("25%" is 25), and whether v is one.
func PercentValue(v intstr.IntOrString) (int, bool) {
	if v.Type != intstr.String || len(validation.IsValidPercent(v.StrVal)) != 0 {
		return 0, false
	}
	n, _ := strconv.Atoi(v.StrVal[:len(v.StrVal)-1])
	return n, true
}
