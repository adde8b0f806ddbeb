package admission

import (
	"context"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestDefaultTolerations(t *testing.T) {
	s300 := int64(300)
	notReady := corev1.Toleration{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &s300}
	unreachable := corev1.Toleration{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &s300}
	own := corev1.Toleration{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute}
	everything := corev1.Toleration{Operator: corev1.TolerationOpExists}
	noSchedule := corev1.Toleration{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}
	for _, tc := range []struct {
		name      string
		op        Operation
		sub       string
		have, got []corev1.Toleration
	}{
		{"none", Create, "", nil, []corev1.Toleration{notReady, unreachable}},
		{"one tolerated", Create, "", []corev1.Toleration{own}, []corev1.Toleration{own, unreachable}},
		{"everything tolerated", Create, "", []corev1.Toleration{everything}, []corev1.Toleration{everything}},
		{"another effect", Update, "", []corev1.Toleration{noSchedule}, []corev1.Toleration{noSchedule, notReady, unreachable}},
		{"status", Update, "status", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p"}, Spec: corev1.PodSpec{Tolerations: tc.have}}
			if err := (DefaultTolerations{}).Admit(context.Background(), attrs(tc.op, podsRow, tc.sub, pod, pod.DeepCopy())); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(pod.Spec.Tolerations, tc.got) {
				t.Fatalf("tolerations %+v, want %+v", pod.Spec.Tolerations, tc.got)
			}
		})
	}
}

func TestTaintNodesByCondition(t *testing.T) {
	nodes := row("v1/nodes", false)
	taint := corev1.Taint{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoSchedule}
	other := corev1.Taint{Key: "k", Value: "v", Effect: corev1.TaintEffectNoExecute}
	for _, tc := range []struct {
		name      string
		op        Operation
		have, got []corev1.Taint
	}{
		{"new node", Create, nil, []corev1.Taint{taint}},
		{"new node with taints", Create, []corev1.Taint{other}, []corev1.Taint{other, taint}},
		{"already tainted", Create, []corev1.Taint{taint}, []corev1.Taint{taint}},
		{"update", Update, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n"}, Spec: corev1.NodeSpec{Taints: tc.have}}
			var old *corev1.Node
			if tc.op == Update {
				old = node.DeepCopy()
			}
			a := attrs(tc.op, nodes, "", node, nil)
			a.OldObject = old
			if err := (TaintNodesByCondition{}).Admit(context.Background(), a); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(node.Spec.Taints, tc.got) {
				t.Fatalf("taints %+v, want %+v", node.Spec.Taints, tc.got)
			}
		})
	}
}
