package core

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"kapi/internal/registry"
)

var eventDocs = corev1.Event{}.SwaggerDoc()

// EventTable is the events table: LAST SEEN TYPE REASON OBJECT MESSAGE,
// and in the wide view SUBOBJECT and SOURCE before MESSAGE, FIRST SEEN,
// COUNT and NAME after it. NAME is not first, so the table places it.
// events.k8s.io prints the same table from its Events converted to
// core/v1.
var EventTable = &registry.TableDef{
	OwnName: true,
	Columns: []metav1.TableColumnDefinition{
		{Name: "Last Seen", Type: "string", Description: eventDocs["lastTimestamp"]},
		{Name: "Type", Type: "string", Description: eventDocs["type"]},
		{Name: "Reason", Type: "string", Description: eventDocs["reason"]},
		{Name: "Object", Type: "string", Description: eventDocs["involvedObject"]},
		{Name: "Subobject", Type: "string", Priority: 1, Description: corev1.ObjectReference{}.SwaggerDoc()["fieldPath"]},
		{Name: "Source", Type: "string", Priority: 1, Description: eventDocs["source"]},
		{Name: "Message", Type: "string", Description: eventDocs["message"]},
		{Name: "First Seen", Type: "string", Priority: 1, Description: eventDocs["firstTimestamp"]},
		{Name: "Count", Type: "string", Priority: 1, Description: eventDocs["count"]},
		{Name: "Name", Type: "string", Priority: 1, Format: "name", Description: registry.NameColumn.Description},
	},
	Row: func(obj runtime.Object, now time.Time) []interface{} {
		return EventCells(obj.(*corev1.Event), now)
	},
}

// EventCells is one event's row. Events of the new API (events.k8s.io)
// carry eventTime and series instead of the timestamps and count:
// FIRST SEEN falls back to eventTime, LAST SEEN to the series' last
// observation or FIRST SEEN, and a single event counts 1.
func EventCells(e *corev1.Event, now time.Time) []interface{} {
	first := registry.HumanDuration(e.FirstTimestamp, now)
	if e.FirstTimestamp.IsZero() {
		first = microSince(e.EventTime, now)
	}
	last := registry.HumanDuration(e.LastTimestamp, now)
	if e.LastTimestamp.IsZero() {
		last = first
	}
	count := e.Count
	if e.Series != nil {
		last = microSince(e.Series.LastObservedTime, now)
		count = e.Series.Count
	} else if count == 0 {
		count = 1
	}
	target := strings.ToLower(e.InvolvedObject.Kind)
	if e.InvolvedObject.Name != "" {
		target = fmt.Sprintf("%s/%s", target, e.InvolvedObject.Name)
	}
	return []interface{}{last, e.Type, e.Reason, target, e.InvolvedObject.FieldPath,
		eventSource(e), strings.TrimSpace(e.Message), first, int64(count), e.Name}
}

func microSince(t metav1.MicroTime, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return registry.HumanDuration(metav1.NewTime(t.Time), now)
}

// eventSource is "component, host", taking the reporting controller and
// instance where the source is empty.
func eventSource(e *corev1.Event) string {
	component, host := e.Source.Component, e.Source.Host
	if component == "" {
		component = e.ReportingController
	}
	if host == "" {
		host = e.ReportingInstance
	}
	if host == "" {
		return component
	}
	return component + ", " + host
}
