package e2e

import (
	"context"
	"regexp"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"kapi/internal/server"
)

// TestEventTTL: Events, of either API group, are gone --event-ttl after
// their last write (etcd's lease ends them; a watch sees the deletion),
// and nothing else expires; with the default (an hour) they stay.
func TestEventTTL(t *testing.T) {
	t.Parallel()
	k := startKapi(t, func(c *server.Config) { c.EventTTL = 2 * time.Second })
	ctx := context.Background()
	ns := "default"
	w, err := k.client.CoreV1().Events(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	core := &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "core"}, InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "p", Namespace: ns},
		Reason: "Test", Message: "m", Type: corev1.EventTypeNormal, FirstTimestamp: metav1.Now(), LastTimestamp: metav1.Now(), Count: 1,
		Source: corev1.EventSource{Component: "test"}}
	if _, err := k.client.CoreV1().Events(ns).Create(ctx, core, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ev := &eventsv1.Event{ObjectMeta: metav1.ObjectMeta{Name: "new"}, EventTime: metav1.NowMicro(), ReportingController: "test/c",
		ReportingInstance: "i", Action: "Act", Reason: "Test", Type: corev1.EventTypeNormal, Regarding: corev1.ObjectReference{Kind: "Pod", Name: "p", Namespace: ns}}
	if _, err := k.client.EventsV1().Events(ns).Create(ctx, ev, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := k.client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "stays"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	deleted := map[string]bool{}
	timeout := time.After(30 * time.Second)
	for len(deleted) < 2 {
		select {
		case e, ok := <-w.ResultChan():
			if !ok {
				t.Fatal("the watch ended")
			}
			if e.Type == watch.Deleted {
				deleted[e.Object.(*corev1.Event).Name] = true
			}
		case <-timeout:
			t.Fatalf("events deleted in 30 s: %v, want core and new", deleted)
		}
	}
	for _, name := range []string{"core", "new"} {
		if _, err := k.client.CoreV1().Events(ns).Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("event %s after its ttl: %v", name, err)
		}
	}
	if _, err := k.client.CoreV1().ConfigMaps(ns).Get(ctx, "stays", metav1.GetOptions{}); err != nil {
		t.Errorf("a ConfigMap expired: %v", err)
	}
	raw, err := k.client.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^etcd_lease_object_counts_count [1-9]`).Match(raw) {
		t.Error("no etcd_lease_object_counts observation")
	}
}
