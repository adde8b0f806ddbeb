package registry

import (
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
)

// TableDef is how kubectl prints a resource: the columns, and the cells of
// one object's row. Row receives the object in the served version and
// returns every column's cell, the wide (priority 1) ones included, as
// kube-apiserver does: kubectl hides what -o wide does not ask for.
//
// Columns and cells leave out NAME, which is always the first column and
// metadata.name, unless OwnName is set.
type TableDef struct {
	Columns []metav1.TableColumnDefinition
	Row     func(obj runtime.Object, now time.Time) []interface{}
	// OwnName: Columns and Row cover the name column themselves, for the
	// tables where it is not first (an event's NAME is its last, wide,
	// column) or its cell is not metadata.name (the default StorageClass
	// prints as "standard (default)").
	OwnName bool
}

var metaDocs = metav1.ObjectMeta{}.SwaggerDoc()

// NameColumn is the NAME column every table has.
var NameColumn = metav1.TableColumnDefinition{
	Name: "Name", Type: "string", Format: "name", Description: metaDocs["name"],
}

// AgeColumn is the AGE column, printed by Age.
var AgeColumn = metav1.TableColumnDefinition{
	Name: "Age", Type: "string", Description: metaDocs["creationTimestamp"],
}

// defaultTable is what kube-apiserver prints for a type without a printer
// of its own (roles, CRDs, limit ranges, ...): NAME and CREATED AT, the
// creation time in RFC 3339.
var defaultTable = &TableDef{
	Columns: []metav1.TableColumnDefinition{
		{Name: "Created At", Type: "date", Description: metaDocs["creationTimestamp"]},
	},
	Row: func(obj runtime.Object, now time.Time) []interface{} {
		m, err := meta.Accessor(obj)
		if err != nil {
			return []interface{}{""}
		}
		return []interface{}{m.GetCreationTimestamp().UTC().Format(time.RFC3339)}
	},
}

func (r *Resource) table() *TableDef {
	if r.Table == nil {
		return defaultTable
	}
	return r.Table
}

// TableColumns returns every column of the resource's table, NAME first
// unless the table places it.
func (r *Resource) TableColumns() []metav1.TableColumnDefinition {
	t := r.table()
	if t.OwnName {
		return t.Columns
	}
	return append([]metav1.TableColumnDefinition{NameColumn}, t.Columns...)
}

// TableRow returns the cells of obj's row, in the order of TableColumns.
func (r *Resource) TableRow(obj runtime.Object, now time.Time) []interface{} {
	t := r.table()
	if t.OwnName {
		return t.Row(obj, now)
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
