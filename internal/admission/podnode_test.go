package admission

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/version"
)

// resized is a pod bound to node asking cpu, and the same pod before, one
// generation back, asking 100m.
func resized(node, cpu string) (pod, old *corev1.Pod) {
	old = &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p", Generation: 1},
		Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "c", Image: "i",
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}}}}}}
	pod = old.DeepCopy()
	pod.Generation = 2
	pod.Spec.Containers[0].Resources.Requests[corev1.ResourceCPU] = resource.MustParse(cpu)
	return pod, old
}

func TestPodResizeValidator(t *testing.T) {
	node := func(name, os string) *corev1.Node {
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{corev1.LabelOSStable: os}},
			Status: corev1.NodeStatus{Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("1Gi")}}}
		return n
	}
	p := &PodResizeValidator{Nodes: objects("nodes", node("linux", "linux"), node("windows", "windows"))}
	for _, c := range []struct {
		name, node, cpu, sub string
		sameGeneration       bool
		want, cause          string
	}{
		{name: "within allocatable", node: "linux", cpu: "2", sub: "resize"},
		{name: "beyond allocatable", node: "linux", cpu: "2500m", sub: "resize",
			want: `pods "p" is forbidden: node didn't have enough allocatable resources: cpu, requested: 2500, allocatable: 2000`, cause: "NodeCapacity"},
		{name: "windows node", node: "windows", cpu: "1", sub: "resize",
			want: `pod resize is only supported on linux nodes, node "windows" is "windows"`, cause: "UnsupportedPlatform"},
		{name: "missing node", node: "gone", cpu: "1", sub: "resize", want: `node "gone" not found`},
		{name: "unbound pod", node: "", cpu: "5", sub: "resize"},
		{name: "not a resize", node: "linux", cpu: "5", sub: "status"},
		{name: "generation unchanged", node: "linux", cpu: "5", sub: "resize", sameGeneration: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			pod, old := resized(c.node, c.cpu)
			if c.sameGeneration {
				pod.Generation = old.Generation
			}
			err := p.Validate(context.Background(), attrs(Update, podsRow, c.sub, pod, old))
			wantErr(t, err, c.want, 403)
			if c.cause != "" {
				st := err.(apierrors.APIStatus).Status()
				if n := len(st.Details.Causes); n == 0 || st.Details.Causes[n-1].Type != metav1.CauseType(c.cause) {
					t.Errorf("causes %+v, want %s", st.Details.Causes, c.cause)
				}
			}
		})
	}
}

func TestNodeDeclaredFeatureValidator(t *testing.T) {
	withFeature := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "new"},
		Status: corev1.NodeStatus{DeclaredFeatures: []string{"InPlacePodLevelResourcesVerticalScaling"}}}
	without := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "old"}}
	p := &NodeDeclaredFeatureValidator{Nodes: objects("nodes", withFeature, without), Version: version.MustParseGeneric("v1.37.2")}
	levels := func(nodeName string) (pod, old *corev1.Pod) {
		pod, old = resized(nodeName, "100m")
		old.Spec.Resources = &corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("200m")}}
		pod.Spec.Resources = &corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("400m")}}
		return pod, old
	}
	pod, old := levels("old")
	wantErr(t, p.Validate(context.Background(), attrs(Update, podsRow, "resize", pod, old)),
		`pods "p" is forbidden: pod update requires features InPlacePodLevelResourcesVerticalScaling which are not available on node "old"`, 403)
	pod, old = levels("new")
	wantErr(t, p.Validate(context.Background(), attrs(Update, podsRow, "resize", pod, old)), "", 0)
	// A container's resize needs no declared feature.
	pod, old = resized("old", "1")
	wantErr(t, p.Validate(context.Background(), attrs(Update, podsRow, "resize", pod, old)), "", 0)
	// Status writes are not its business.
	pod, old = levels("old")
	wantErr(t, p.Validate(context.Background(), attrs(Update, podsRow, "status", pod, old)), "", 0)
}
