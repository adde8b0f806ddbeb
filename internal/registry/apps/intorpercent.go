package apps

// The rolling updates' bounds, as kube's apps/validation reads them
// (getIntOrPercentValue; its ValidatePositiveIntOrPercent and
// IsNotMoreThan100Percent are core's). kube's internal types hold the bounds as
// values, so a bound left out is the integer 0; and a string that is not
// a valid percentage counts as the integer it spells ("5" is 5, "-5%" is
// 0), which decides whether a bound is zero.

import (
	"k8s.io/apimachinery/pkg/util/intstr"

	"kapi/internal/registry/core"
)

// bound is v as kube's internal types hold it: nil is the integer 0.
func bound(v *intstr.IntOrString) intstr.IntOrString {
	if v == nil {
		return intstr.IntOrString{}
	}
	return *v
}

// intOrPercentValue is kube's getIntOrPercentValue: a percentage's
// number, or the integer the value spells (0 when it spells none).
func intOrPercentValue(v intstr.IntOrString) int {
	if n, ok := core.PercentValue(v); ok {
		return n
	}
	return v.IntValue()
}
