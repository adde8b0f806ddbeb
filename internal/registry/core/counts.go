package core

import (
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Count is a field that counts (replicas, a deadline, an observed
// generation), by its name under a path; V nil: an optional count left
// out, which is not checked.
type Count struct {
	Name string
	V    *int64
}

// Count32 and Count64 are counts that are always there; OptionalCount32
// and OptionalCount64 those that may be left out.
func Count32(name string, v int32) Count { n := int64(v); return Count{name, &n} }
func Count64(name string, v int64) Count { return Count{name, &v} }

func OptionalCount32(name string, v *int32) Count {
	if v == nil {
		return Count{Name: name}
	}
	return Count32(name, *v)
}

func OptionalCount64(name string, v *int64) Count {
	if v == nil {
		return Count{Name: name}
	}
	return Count64(name, *v)
}

// NonNegative is kube's ValidateNonnegativeField of each count given,
// under path, in their order (kube's order is part of its answer).
func NonNegative(path *field.Path, counts ...Count) field.ErrorList {
	var errs field.ErrorList
	for _, c := range counts {
		if c.V != nil {
			errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(*c.V, path.Child(c.Name))...)
		}
	}
	return errs
}

// Part is a count of some of the replicas (the ready ones), with the
// count it is a part of and kube's message for exceeding it.
type Part struct {
	Name     string
	V, Whole int32
	Msg      string
}

// PartOf is the part name, of value v, of whole.
func PartOf(name string, v, whole int32, msg string) Part { return Part{name, v, whole, msg} }

// OfReplicas is kube's message for a part greater than status.replicas.
const OfReplicas = "cannot be greater than status.replicas"

// PartsWithinWhole: no part under path is more than its whole, as the
// workloads' status checks (ValidateReplicaSetStatus and its siblings).
func PartsWithinWhole(path *field.Path, parts ...Part) field.ErrorList {
	var errs field.ErrorList
	for _, p := range parts {
		if p.V > p.Whole {
			errs = append(errs, field.Invalid(path.Child(p.Name), p.V, p.Msg))
		}
	}
	return errs
}
