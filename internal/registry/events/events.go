// Package events holds the row of events.k8s.io/v1, whose Events are
// stored as core/v1 Events.
package events

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/registry"
	"kapi/internal/registry/core"
)

// Resources returns the events.k8s.io/v1 row. It shares the core events'
// store, as kube-apiserver's storage factory makes the two cohabit: the
// same key prefix and the core/v1 kind, so that an event written through
// one API reads back through the other. Unlike core events, names must be
// DNS subdomains (the default rule).
func Resources() []*registry.Resource {
	return []*registry.Resource{
		{Group: "events.k8s.io", Version: "v1", Name: "events", Kind: "Event", Namespaced: true,
			ShortNames: []string{"ev"}, KeyPrefix: "events", StorageGroup: registry.CoreGroup,
			Convert: &registry.Conversion{ToStorage: toCore, FromStorage: fromCore}, Fields: fields, Table: table,
			AllowCreateOnUpdate: true, Hooks: &registry.Hooks{Validate: validate}, GarbageCollection: registry.GCUnsupported},
	}
}

// table prints the core events' table from the event in core/v1 form.
var table = &registry.TableDef{
	OwnName: true,
	Columns: core.EventTable.Columns,
	Row: func(obj runtime.Object, now time.Time) []interface{} {
		return core.EventCells(ToCore(obj.(*eventsv1.Event)), now)
	},
}

func toCore(obj runtime.Object) (runtime.Object, error) {
	e, ok := obj.(*eventsv1.Event)
	if !ok {
		return nil, errType("events.k8s.io/v1", obj)
	}
	return ToCore(e), nil
}

func fromCore(obj runtime.Object) (runtime.Object, error) {
	e, ok := obj.(*corev1.Event)
	if !ok {
		return nil, errType("core/v1", obj)
	}
	return FromCore(e), nil
}

// fields are kube's field labels of events.k8s.io/v1 events
// (AddFieldLabelConversionsForEvent): the core events' fields under this
// API's names, without source. The store hands over events in their
// stored, core/v1, form, and an empty served object when it asks which
// fields exist.
func fields(obj runtime.Object) map[string]string {
	e, ok := obj.(*corev1.Event)
	if !ok {
		e = ToCore(obj.(*eventsv1.Event))
	}
	f := core.EventFields(e)
	out := map[string]string{"reason": f["reason"], "reportingController": f["reportingComponent"], "type": f["type"]}
	for _, k := range []string{"kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath"} {
		out["regarding."+k] = f["involvedObject."+k]
	}
	return out
}

// validate is kube's validation of an event written through this API, on
// its core/v1 form.
func validate(obj, old runtime.Object) field.ErrorList {
	var o *corev1.Event
	if old != nil {
		o = ToCore(old.(*eventsv1.Event))
	}
	return core.ValidateEventStrict(ToCore(obj.(*eventsv1.Event)), o)
}
