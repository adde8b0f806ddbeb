package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestEventValidation: events are validated as kube validates them. A
// core/v1 event keeps the rules every event keeps (its namespace is its
// object's; with an eventTime, who reported what); one written through
// events.k8s.io/v1 must have the new form, and only its series changes.
func TestEventValidation(t *testing.T) {
	t.Parallel()
	k := startKapi(t, withoutLoops(rootCAPublisher))
	ctx := context.Background()
	core := k.client.CoreV1().Events("default")
	invalid := func(what string, err error, want ...string) {
		t.Helper()
		if !apierrors.IsInvalid(err) {
			t.Errorf("%s: %v, want 422", what, err)
			return
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %v, without %q", what, err, w)
			}
		}
	}

	// An old-style event, as client-go's recorder writes them.
	old := &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "pod.1"}, Reason: "Started", Message: "m", Type: "Normal",
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "p"},
		Source:         corev1.EventSource{Component: "kubelet"}, Count: 1}
	if _, err := core.Create(ctx, old, metav1.CreateOptions{}); err != nil {
		t.Fatalf("a recorder's event: %v", err)
	}
	bad := old.DeepCopy()
	bad.Name, bad.InvolvedObject.Namespace = "pod.2", "other"
	_, err := core.Create(ctx, bad, metav1.CreateOptions{})
	invalid("an event of another namespace's object", err, `involvedObject.namespace: Invalid value: "other": does not match event.namespace`)
	withTime := old.DeepCopy()
	withTime.Name, withTime.EventTime = "pod.3", metav1.NowMicro()
	_, err = core.Create(ctx, withTime, metav1.CreateOptions{})
	invalid("a core event with an eventTime and no reporter", err,
		"reportingComponent: Required value", "reportingInstance: Required value", "action: Required value")

	// events.k8s.io/v1: the new form only, and then only the series may
	// change.
	ev := k.client.EventsV1().Events("default")
	e := &eventsv1.Event{ObjectMeta: metav1.ObjectMeta{Name: "new.1"}, EventTime: metav1.NowMicro(), Type: "Normal",
		Reason: "Scheduled", Action: "Binding", Note: "n", ReportingController: "example.com/scheduler", ReportingInstance: "s-1",
		Regarding: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "p"}}
	made, err := ev.Create(ctx, e, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("an events.k8s.io event: %v", err)
	}
	noTime := e.DeepCopy()
	noTime.Name, noTime.EventTime, noTime.Type = "new.2", metav1.MicroTime{}, "Loud"
	noTime.DeprecatedCount = 3
	_, err = ev.Create(ctx, noTime, metav1.CreateOptions{})
	invalid("an events.k8s.io event of the old form", err, "eventTime: Required value", "type: Invalid value: \"\": has invalid value: Loud",
		"count: Invalid value: \"\": needs to be unset")
	changed := made.DeepCopy()
	changed.Note = "other"
	_, err = ev.Update(ctx, changed, metav1.UpdateOptions{})
	invalid("an events.k8s.io event's note changed", err, "message: Invalid value", "field is immutable")
	series := made.DeepCopy()
	series.Series = &eventsv1.EventSeries{Count: 2, LastObservedTime: metav1.NewMicroTime(time.Now())}
	if _, err := ev.Update(ctx, series, metav1.UpdateOptions{}); err != nil {
		t.Errorf("an events.k8s.io event's series: %v", err)
	}
	series.Series.Count = 1
	series.ResourceVersion = ""
	_, err = ev.Update(ctx, series, metav1.UpdateOptions{})
	invalid("a series of one", err, "series.count: Invalid value")
}
