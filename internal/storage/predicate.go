package storage

import (
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
)

// Predicate selects objects by labels and fields. The zero Predicate
// matches everything.
type Predicate struct {
	Label labels.Selector
	Field fields.Selector
	// Attrs returns the label and field sets of an object; required when
	// either selector is set.
	Attrs func(obj runtime.Object) (labels.Set, fields.Set, error)
}

// Empty reports whether the predicate matches everything.
func (p Predicate) Empty() bool {
	return (p.Label == nil || p.Label.Empty()) && (p.Field == nil || p.Field.Empty())
}

// Matches reports whether obj is selected.
func (p Predicate) Matches(obj runtime.Object) (bool, error) {
	if p.Empty() {
		return true, nil
	}
	if p.Field == nil || p.Field.Empty() {
		// Labels only: read them in place, without building the field
		// set (a map per object, for each object of a list).
		m, err := meta.Accessor(obj)
		if err != nil {
			return false, err
		}
		return p.Label.Matches(labels.Set(m.GetLabels())), nil
	}
	l, f, err := p.Attrs(obj)
	if err != nil {
		return false, err
	}
	if p.Label != nil && !p.Label.Matches(l) {
		return false, nil
	}
	if p.Field != nil && !p.Field.Matches(f) {
		return false, nil
	}
	return true, nil
}
