package core

import (
	"fmt"
	"reflect"
	"time"

	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/registry"
)

// An event's length limits (kube's core validation).
const (
	eventReportingInstanceLimit = 128
	eventActionLimit            = 128
	eventReasonLimit            = 128
	eventNoteLimit              = 1024
)

// eventHooks validate a core/v1 Event as kube's ValidateEventCreate and
// ValidateEventUpdate do for a core/v1 request: the rules every event
// keeps, which depend on whether it has an eventTime (a "new" event).
var eventHooks = &registry.Hooks{
	Validate: func(obj, _ runtime.Object) field.ErrorList {
		return validateEvent(obj.(*corev1.Event), "reportingComponent")
	},
}

// ValidateEventStrict is kube's validation of an event written through
// events.k8s.io/v1, on its core/v1 form (old nil on create): the rules
// every event keeps, then a new event's form on create, and on update
// only its series may change.
func ValidateEventStrict(e, old *corev1.Event) field.ErrorList {
	errs := validateEvent(e, "reportingController")
	if old == nil {
		errs = append(errs, eventSeriesErrors(e)...)
		if e.EventTime.IsZero() {
			errs = append(errs, field.Required(field.NewPath("eventTime"), ""))
		}
		if e.Type != corev1.EventTypeNormal && e.Type != corev1.EventTypeWarning {
			errs = append(errs, field.Invalid(field.NewPath("type"), "", fmt.Sprintf("has invalid value: %v", e.Type)))
		}
		for _, unset := range []struct {
			name string
			set  bool
		}{
			{"firstTimestamp", !e.FirstTimestamp.IsZero()},
			{"lastTimestamp", !e.LastTimestamp.IsZero()},
			{"count", e.Count != 0},
			{"source", e.Source.Component != "" || e.Source.Host != ""},
		} {
			if unset.set {
				errs = append(errs, field.Invalid(field.NewPath(unset.name), "", "needs to be unset"))
			}
		}
		return errs
	}
	if !reflect.DeepEqual(e.Series, old.Series) {
		errs = append(errs, eventSeriesErrors(e)...)
	}
	immutable := func(name string, a, b any) {
		errs = append(errs, apimachineryvalidation.ValidateImmutableField(a, b, field.NewPath(name))...)
	}
	immutable("involvedObject", e.InvolvedObject, old.InvolvedObject)
	immutable("reason", e.Reason, old.Reason)
	immutable("message", e.Message, old.Message)
	immutable("source", e.Source, old.Source)
	immutable("firstTimestamp", e.FirstTimestamp, old.FirstTimestamp)
	immutable("lastTimestamp", e.LastTimestamp, old.LastTimestamp)
	immutable("count", e.Count, old.Count)
	immutable("type", e.Type, old.Type)
	// Below a microsecond is noise of clients' encodings (kube #111928).
	if !e.EventTime.Truncate(time.Microsecond).Equal(old.EventTime.Truncate(time.Microsecond)) {
		immutable("eventTime", e.EventTime, old.EventTime)
	}
	immutable("action", e.Action, old.Action)
	immutable("related", e.Related, old.Related)
	immutable("reportingController", e.ReportingController, old.ReportingController)
	immutable("reportingInstance", e.ReportingInstance, old.ReportingInstance)
	return errs
}

// validateEvent is kube's legacyValidateEvent: an event without an
// eventTime names its object's namespace (or none, in default); one with
// it names who reported what, within kube's lengths. reporting is the
// field name of the reporting controller in the request's version.
func validateEvent(e *corev1.Event, reporting string) field.ErrorList {
	var errs field.ErrorList
	ns := field.NewPath("involvedObject", "namespace")
	mismatch := field.Invalid(ns, e.InvolvedObject.Namespace, "does not match event.namespace")
	if e.EventTime.IsZero() {
		if e.InvolvedObject.Namespace == "" {
			if e.Namespace != metav1.NamespaceNone && e.Namespace != metav1.NamespaceDefault {
				errs = append(errs, mismatch)
			}
		} else if e.Namespace != e.InvolvedObject.Namespace {
			errs = append(errs, mismatch)
		}
	} else {
		if e.InvolvedObject.Namespace == "" && e.Namespace != metav1.NamespaceDefault && e.Namespace != metav1.NamespaceSystem {
			errs = append(errs, mismatch)
		}
		if e.ReportingController == "" {
			errs = append(errs, field.Required(field.NewPath(reporting), ""))
		}
		for _, msg := range validation.IsQualifiedName(e.ReportingController) {
			errs = append(errs, field.Invalid(field.NewPath(reporting), e.ReportingController, msg))
		}
		for _, c := range []struct {
			name  string
			value string
			limit int
			need  bool
		}{
			{"reportingInstance", e.ReportingInstance, eventReportingInstanceLimit, true},
			{"action", e.Action, eventActionLimit, true},
			{"reason", e.Reason, eventReasonLimit, true},
			{"message", e.Message, eventNoteLimit, false},
		} {
			if c.need && c.value == "" {
				errs = append(errs, field.Required(field.NewPath(c.name), ""))
			}
			if len(c.value) > c.limit {
				errs = append(errs, field.Invalid(field.NewPath(c.name), "", fmt.Sprintf("can have at most %v characters", c.limit)))
			}
		}
	}
	for _, msg := range validation.IsDNS1123Subdomain(e.Namespace) {
		errs = append(errs, field.Invalid(field.NewPath("namespace"), e.Namespace, msg))
	}
	return errs
}

// eventSeriesErrors: a series counts at least two and has a last time.
func eventSeriesErrors(e *corev1.Event) field.ErrorList {
	var errs field.ErrorList
	if s := e.Series; s != nil {
		if s.Count < 2 {
			errs = append(errs, field.Invalid(field.NewPath("series.count"), "", "should be at least 2"))
		}
		if s.LastObservedTime.IsZero() {
			errs = append(errs, field.Required(field.NewPath("series.lastObservedTime"), ""))
		}
	}
	return errs
}
