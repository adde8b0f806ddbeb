package node

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"kapi/internal/authz"
)

// BenchmarkNodeAuthorize: a kubelet's read of a secret its pod mounts,
// with 10,000 pods on 100 nodes, each pod with a secret, a config map and
// a claim.
func BenchmarkNodeAuthorize(b *testing.B) {
	g := NewGraph()
	for i := range 10000 {
		g.SetPod(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: fmt.Sprintf("ns%d", i%50), Name: fmt.Sprintf("p%d", i)},
			Spec: corev1.PodSpec{NodeName: fmt.Sprintf("n%d", i%100), ServiceAccountName: "default", Volumes: []corev1.Volume{
				{Name: "s", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: fmt.Sprintf("s%d", i)}}},
				{Name: "c", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "shared"}}}},
				{Name: "v", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: fmt.Sprintf("c%d", i)}}},
			}}})
	}
	z := New(g)
	a := authz.Attributes{User: nodeUser("n7"), Verb: "get", ResourceRequest: true, Resource: "secrets", Namespace: "ns7", Name: "s507"}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if d, _, _ := z.Authorize(ctx, a); d != authz.Allow {
			b.Fatal(d)
		}
	}
}
