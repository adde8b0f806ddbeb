package registry

import (
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
)

// TableDef is how kubectl prints a resource: the columns, and the cells of
// one object's row (without NAME, which is always the first column, and
// without AGE unless the columns place it).
type TableDef struct {
	Columns []metav1.TableColumnDefinition
	Row     func(obj runtime.Object, now time.Time) []interface{}
}

var nameColumn = metav1.TableColumnDefinition{
	Name: "Name", Type: "string", Format: "name",
	Description: "Name must be unique within a namespace. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names",
}

var ageColumn = metav1.TableColumnDefinition{
	Name: "Age", Type: "string",
	Description: "CreationTimestamp is a timestamp representing the server time when this object was created. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
}

// defaultTable prints NAME and AGE.
var defaultTable = &TableDef{
	Columns: []metav1.TableColumnDefinition{ageColumn},
	Row: func(obj runtime.Object, now time.Time) []interface{} {
		return []interface{}{Age(obj, now)}
	},
}

// TableColumns returns every column of the resource's table, NAME first.
func (r *Resource) TableColumns() []metav1.TableColumnDefinition {
	t := r.Table
	if t == nil {
		t = defaultTable
	}
	return append([]metav1.TableColumnDefinition{nameColumn}, t.Columns...)
}

// TableRow returns the cells of obj's row, NAME first.
func (r *Resource) TableRow(obj runtime.Object, now time.Time) []interface{} {
	t := r.Table
	if t == nil {
		t = defaultTable
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil
	}
	return append([]interface{}{m.GetName()}, t.Row(obj, now)...)
}

// Age formats the object's age as kubectl does ("5m", "3d4h").
func Age(obj runtime.Object, now time.Time) string {
	m, err := meta.Accessor(obj)
	if err != nil {
		return "<unknown>"
	}
	return HumanDuration(m.GetCreationTimestamp(), now)
}

// HumanDuration formats the time since t as kubectl does, "<unknown>" for
// a zero time.
func HumanDuration(t metav1.Time, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t.Time))
}
