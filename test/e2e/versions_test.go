package e2e

import (
	"context"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestHPAVersions: autoscaling/v1 and v2 read and write the same stored
// HorizontalPodAutoscalers.
func TestHPAVersions(t *testing.T) {
	k := startKapi(t)
	ctx := context.Background()
	util := int32(60)
	min := int32(1)
	v2 := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: "h"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			MinReplicas:    &min, MaxReplicas: 5,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &util}}}},
		}}
	created, err := k.client.AutoscalingV2().HorizontalPodAutoscalers("default").Create(ctx, v2, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	v1, err := k.client.AutoscalingV1().HorizontalPodAutoscalers("default").Get(ctx, "h", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if v1.Spec.TargetCPUUtilizationPercentage == nil || *v1.Spec.TargetCPUUtilizationPercentage != 60 || v1.Spec.MaxReplicas != 5 || v1.UID != created.UID {
		t.Fatalf("v1 view: %+v", v1.Spec)
	}
	pct := int32(80)
	v1.Spec.TargetCPUUtilizationPercentage = &pct
	updated, err := k.client.AutoscalingV1().HorizontalPodAutoscalers("default").Update(ctx, v1, metav1.UpdateOptions{FieldManager: "v1-writer"})
	if err != nil {
		t.Fatal(err)
	}
	// The v1 writer owns the field it changed, recorded in its version,
	// beside the v2 creator's entry.
	checkManagers(t, updated.ManagedFields, "v1-writer", "autoscaling/v1", created.ManagedFields[0].Manager, "autoscaling/v2")
	back, err := k.client.AutoscalingV2().HorizontalPodAutoscalers("default").Get(ctx, "h", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Spec.Metrics) != 1 || *back.Spec.Metrics[0].Resource.Target.AverageUtilization != 80 {
		t.Fatalf("v2 after v1 update: %+v", back.Spec.Metrics)
	}
}

// TestEventVersions: core/v1 and events.k8s.io/v1 Events are one stored
// object; a watch on one version sees writes through the other.
func TestEventVersions(t *testing.T) {
	k := startKapi(t)
	ctx := context.Background()
	w, err := k.client.CoreV1().Events("default").Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	ev := &eventsv1.Event{ObjectMeta: metav1.ObjectMeta{Name: "e1"}, EventTime: metav1.NewMicroTime(time.Now()),
		ReportingController: "kapi.test/controller", ReportingInstance: "i1", Action: "Testing", Reason: "Tested",
		Regarding: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "p"}, Note: "hello", Type: "Normal"}
	if _, err := k.client.EventsV1().Events("default").Create(ctx, ev, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	core, err := k.client.CoreV1().Events("default").Get(ctx, "e1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if core.Message != "hello" || core.InvolvedObject.Name != "p" || core.ReportingController != "kapi.test/controller" {
		t.Fatalf("core view: %+v", core)
	}
	select {
	case e := <-w.ResultChan():
		if c, ok := e.Object.(*corev1.Event); !ok || c.Message != "hello" {
			t.Fatalf("core watch got %s %#v", e.Type, e.Object)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the core/v1 watch did not see the events.k8s.io/v1 write")
	}
	// A core/v1 writer's fields are recorded in core/v1, beside the
	// events.k8s.io/v1 creator's.
	core.Message = "changed"
	updated, err := k.client.CoreV1().Events("default").Update(ctx, core, metav1.UpdateOptions{FieldManager: "core-writer"})
	if err != nil {
		t.Fatal(err)
	}
	checkManagers(t, updated.ManagedFields, "core-writer", "v1", core.ManagedFields[0].Manager, "events.k8s.io/v1")
}

// checkManagers fails unless fields holds exactly the two Update entries
// of managers a and b, in versions va and vb, each owning some field.
func checkManagers(t *testing.T, fields []metav1.ManagedFieldsEntry, a, va, b, vb string) {
	t.Helper()
	want := map[string]string{a: va, b: vb}
	if len(fields) != 2 {
		t.Fatalf("managedFields: %d entries, want %s and %s: %+v", len(fields), a, b, fields)
	}
	for _, f := range fields {
		if want[f.Manager] != f.APIVersion || f.Operation != metav1.ManagedFieldsOperationUpdate || f.FieldsV1 == nil || len(f.FieldsV1.Raw) < 3 {
			t.Errorf("managedFields entry %s %s %s %v, want %s in %s and %s in %s", f.Manager, f.APIVersion, f.Operation, f.FieldsV1, a, va, b, vb)
		}
	}
}
