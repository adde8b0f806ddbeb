package events

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/diff"

	"kapi/internal/registry/core"
)

var (
	first = metav1.NewTime(time.Date(2026, 3, 4, 5, 0, 0, 0, time.UTC))
	last  = metav1.NewTime(time.Date(2026, 3, 4, 5, 10, 0, 0, time.UTC))
	at    = metav1.NewMicroTime(time.Date(2026, 3, 4, 5, 0, 0, 123456000, time.UTC))
	seen  = metav1.NewMicroTime(time.Date(2026, 3, 4, 5, 9, 0, 0, time.UTC))
)

func newEvent() *eventsv1.Event {
	return &eventsv1.Event{
		TypeMeta:                 metav1.TypeMeta{APIVersion: "events.k8s.io/v1", Kind: "Event"},
		ObjectMeta:               metav1.ObjectMeta{Name: "web-1.17a", Namespace: "default", ResourceVersion: "7"},
		EventTime:                at,
		Series:                   &eventsv1.EventSeries{Count: 4, LastObservedTime: seen},
		ReportingController:      "kubelet",
		ReportingInstance:        "node-a",
		Action:                   "Pulling",
		Reason:                   "Pulling",
		Regarding:                corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web-1", FieldPath: "spec.containers{app}"},
		Related:                  &corev1.ObjectReference{Kind: "Node", Name: "node-a"},
		Note:                     "Pulling image \"nginx\"",
		Type:                     corev1.EventTypeNormal,
		DeprecatedSource:         corev1.EventSource{Component: "kubelet", Host: "node-a"},
		DeprecatedFirstTimestamp: first,
		DeprecatedLastTimestamp:  last,
		DeprecatedCount:          4,
	}
}

func TestRoundTrip(t *testing.T) {
	in := newEvent()
	orig := in.DeepCopy()
	back := FromCore(ToCore(in))
	if !equality.Semantic.DeepEqual(orig, in) {
		t.Fatal("the conversion changed its input")
	}
	if !equality.Semantic.DeepEqual(orig, back) {
		t.Errorf("events.k8s.io -> core -> events.k8s.io changed the event:\n%s", diff.Diff(orig, back))
	}
	c := ToCore(in)
	if again := ToCore(FromCore(c)); !equality.Semantic.DeepEqual(c, again) {
		t.Errorf("core -> events.k8s.io -> core changed the event:\n%s", diff.Diff(c, again))
	}
}

func TestFieldMapping(t *testing.T) {
	c := ToCore(newEvent())
	want := &corev1.Event{
		TypeMeta:            metav1.TypeMeta{APIVersion: "v1", Kind: "Event"},
		ObjectMeta:          metav1.ObjectMeta{Name: "web-1.17a", Namespace: "default", ResourceVersion: "7"},
		InvolvedObject:      corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web-1", FieldPath: "spec.containers{app}"},
		Reason:              "Pulling",
		Message:             "Pulling image \"nginx\"",
		Source:              corev1.EventSource{Component: "kubelet", Host: "node-a"},
		FirstTimestamp:      first,
		LastTimestamp:       last,
		Count:               4,
		Type:                "Normal",
		EventTime:           at,
		Series:              &corev1.EventSeries{Count: 4, LastObservedTime: seen},
		Action:              "Pulling",
		Related:             &corev1.ObjectReference{Kind: "Node", Name: "node-a"},
		ReportingController: "kubelet",
		ReportingInstance:   "node-a",
	}
	if !equality.Semantic.DeepEqual(c, want) {
		t.Errorf("core event:\n%s", diff.Diff(want, c))
	}
}

func TestStoredAsCoreEvents(t *testing.T) {
	r := Resources()[0]
	if got := r.StorageGVK(); got != corev1.SchemeGroupVersion.WithKind("Event") {
		t.Errorf("stored as %s", got)
	}
	if r.Key() != "events" {
		t.Errorf("key %q", r.Key())
	}
	stored, err := r.Convert.ToStorage(newEvent())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := stored.(*corev1.Event); !ok {
		t.Fatalf("stored %T", stored)
	}
	served, err := r.Convert.FromStorage(stored)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := served.(*eventsv1.Event); !ok {
		t.Fatalf("served %T", served)
	}
}

// events.k8s.io prints the core events' table.
func TestTable(t *testing.T) {
	r := Resources()[0]
	now := last.Add(5 * time.Minute)
	e := newEvent()
	want := core.EventCells(ToCore(e), now)
	got := r.TableRow(e, now)
	if !equality.Semantic.DeepEqual(got, want) {
		t.Errorf("row %v, want %v", got, want)
	}
	if got[0] != "6m" || got[3] != "pod/web-1" || got[8] != int64(4) || got[9] != "web-1.17a" {
		t.Errorf("row %v", got)
	}
}
