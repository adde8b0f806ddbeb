package controllers

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
)

func claimPod(name string, phase corev1.PodPhase, claim string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name},
		Spec: corev1.PodSpec{Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim}}}}},
		Status: corev1.PodStatus{Phase: phase}}
}

// TestClaimInUse: a claim is in use by a running pod the informer has,
// or, when the informer has none, by one a live list finds (a pod
// created a moment before the claim's deletion, not in the informer
// yet: kube's controller asks the API server too); terminated pods and
// pods of other claims do not hold it.
func TestClaimInUse(t *testing.T) {
	pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "data"}}
	running := claimPod("running", corev1.PodRunning, "data")
	for _, tc := range []struct {
		name   string
		cached []runtime.Object
		live   []runtime.Object
		want   bool
	}{
		{name: "in the informer", cached: []runtime.Object{running}, want: true},
		{name: "not in the informer yet", live: []runtime.Object{running}, want: true},
		{name: "terminated", cached: []runtime.Object{claimPod("done", corev1.PodSucceeded, "data")},
			live: []runtime.Object{claimPod("done", corev1.PodSucceeded, "data"), claimPod("failed", corev1.PodFailed, "data")}},
		{name: "another claim", live: []runtime.Object{claimPod("other", corev1.PodRunning, "other")}},
		{name: "no pods"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &ClaimProtection{client: fake.NewClientset(tc.live...)}
			got, err := c.inUse(context.Background(), tc.cached, pvc)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("in use: %v, want %v", got, tc.want)
			}
		})
	}
}
