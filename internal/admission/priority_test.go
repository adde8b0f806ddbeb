package admission

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func TestPriority(t *testing.T) {
	never := corev1.PreemptNever
	lower := corev1.PreemptLowerPriority
	class := func(name string, value int32, def bool, policy *corev1.PreemptionPolicy) *schedulingv1.PriorityClass {
		return &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Value: value, GlobalDefault: def, PreemptionPolicy: policy}
	}
	high := class("high", 1000, false, &never)
	withDefault := objects("scheduling.k8s.io/priorityclasses", high, class("low", 10, true, &lower), class("lower", 5, true, &lower))
	without := objects("scheduling.k8s.io/priorityclasses", high, class("plain", 3, false, nil))
	pod := func(class string, priority *int32, policy *corev1.PreemptionPolicy) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p"},
			Spec: corev1.PodSpec{PriorityClassName: class, Priority: priority, PreemptionPolicy: policy}}
	}
	i32 := func(v int32) *int32 { return &v }
	for _, tc := range []struct {
		name      string
		classes   Objects
		pod       *corev1.Pod
		want      string
		class     string
		priority  int32
		preemptor corev1.PreemptionPolicy
	}{
		{"named class", without, pod("high", nil, nil), "", "high", 1000, never},
		{"class stored without a policy", without, pod("plain", nil, nil), "", "plain", 3, lower},
		{"same priority given", without, pod("high", i32(1000), nil), "", "high", 1000, never},
		{"no class, no default", without, pod("", nil, nil), "", "", 0, lower},
		{"no class, the lowest default", withDefault, pod("", nil, nil), "", "lower", 5, lower},
		{"system class without its object", without, pod("system-node-critical", nil, nil), "", "system-node-critical", 2000001000, lower},
		{"system cluster class", without, pod("system-cluster-critical", nil, nil), "", "system-cluster-critical", 2000000000, lower},
		{"unknown class", without, pod("nope", nil, nil), `pods "p" is forbidden: no PriorityClass with name nope was found`, "", 0, ""},
		{"other priority", without, pod("high", i32(7), nil),
			`pods "p" is forbidden: the integer value of priority (7) must not be provided in pod spec; priority admission controller computed 1000 from the given PriorityClass name`, "", 0, ""},
		{"other preemption policy", without, pod("high", nil, &lower),
			`pods "p" is forbidden: the string value of PreemptionPolicy (PreemptLowerPriority) must not be provided in pod spec; priority admission controller computed Never from the given PriorityClass name`, "", 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &Priority{PriorityClasses: tc.classes}
			err := p.Admit(context.Background(), attrs(Create, podsRow, "", tc.pod, nil))
			code := int32(403)
			if tc.want == "" {
				code = 0
			}
			wantErr(t, err, tc.want, code)
			if err != nil {
				return
			}
			s := tc.pod.Spec
			if s.PriorityClassName != tc.class || s.Priority == nil || *s.Priority != tc.priority || s.PreemptionPolicy == nil || *s.PreemptionPolicy != tc.preemptor {
				t.Fatalf("spec: class %q priority %v policy %v", s.PriorityClassName, s.Priority, s.PreemptionPolicy)
			}
		})
	}

	t.Run("update keeps priority", func(t *testing.T) {
		p := &Priority{PriorityClasses: without}
		old := pod("high", i32(1000), &never)
		now := pod("high", nil, nil)
		if err := p.Admit(context.Background(), attrs(Update, podsRow, "", now, old)); err != nil || *now.Spec.Priority != 1000 || *now.Spec.PreemptionPolicy != never {
			t.Fatalf("%v %+v", err, now.Spec)
		}
	})

	pcs := row("scheduling.k8s.io/v1/priorityclasses", false)
	for _, tc := range []struct {
		name    string
		classes Objects
		op      Operation
		obj     runtime.Object
		want    string
	}{
		{"second default", withDefault, Create, class("new", 1, true, nil), `priorityclasses.scheduling.k8s.io "new" is forbidden: PriorityClass lower is already marked as default. Only one default can exist`},
		{"first default", without, Create, class("new", 1, true, nil), ""},
		{"not a default", withDefault, Create, class("new", 1, false, nil), ""},
		{"updating the default", withDefault, Update, class("lower", 5, true, nil), ""},
		{"making another the default", withDefault, Update, class("high", 1000, true, nil), "PriorityClass lower is already marked as default"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &Priority{PriorityClasses: tc.classes}
			var old runtime.Object
			if tc.op == Update {
				old = tc.obj
			}
			err := p.Validate(context.Background(), attrs(tc.op, pcs, "", tc.obj, old))
			code := int32(403)
			if tc.want == "" {
				code = 0
			}
			wantErr(t, err, tc.want, code)
		})
	}
}
