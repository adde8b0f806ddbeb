package admission

import (
	"context"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestRuntimeClass(t *testing.T) {
	overhead := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}
	gpu := corev1.Toleration{Key: "gpu", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}
	classes := objects("node.k8s.io/runtimeclasses",
		&nodev1.RuntimeClass{ObjectMeta: metav1.ObjectMeta{Name: "kata"}, Handler: "kata", Overhead: &nodev1.Overhead{PodFixed: overhead},
			Scheduling: &nodev1.Scheduling{NodeSelector: map[string]string{"runtime": "kata"}, Tolerations: []corev1.Toleration{gpu}}},
		&nodev1.RuntimeClass{ObjectMeta: metav1.ObjectMeta{Name: "plain"}, Handler: "runc"})
	p := &RuntimeClass{RuntimeClasses: classes}
	pod := func(class string, mutate ...func(*corev1.Pod)) *corev1.Pod {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p"}}
		if class != "" {
			pod.Spec.RuntimeClassName = ptr.To(class)
		}
		for _, m := range mutate {
			m(pod)
		}
		return pod
	}
	run := func(pod *corev1.Pod) error {
		a := attrs(Create, podsRow, "", pod, nil)
		if err := p.Admit(context.Background(), a); err != nil {
			return err
		}
		return p.Validate(context.Background(), a)
	}

	t.Run("overhead and scheduling", func(t *testing.T) {
		own := corev1.Toleration{Key: "gpu", Operator: corev1.TolerationOpExists} // every effect: a superset of the class's
		got := pod("kata", func(p *corev1.Pod) {
			p.Spec.NodeSelector = map[string]string{"zone": "a"}
			p.Spec.Tolerations = []corev1.Toleration{own}
		})
		if err := run(got); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got.Spec.Overhead, overhead) || !reflect.DeepEqual(got.Spec.NodeSelector, map[string]string{"zone": "a", "runtime": "kata"}) ||
			!reflect.DeepEqual(got.Spec.Tolerations, []corev1.Toleration{own}) {
			t.Fatalf("spec %+v", got.Spec)
		}
		plain := pod("kata")
		if err := run(plain); err != nil || !reflect.DeepEqual(plain.Spec.Tolerations, []corev1.Toleration{gpu}) || plain.Spec.NodeSelector["runtime"] != "kata" {
			t.Fatalf("%v %+v", err, plain.Spec)
		}
	})
	for _, tc := range []struct {
		name string
		pod  *corev1.Pod
		want string
	}{
		{"no class", pod(""), ""},
		{"class without extras", pod("plain"), ""},
		{"unknown class", pod("nope"), `pods "p" is forbidden: pod rejected: RuntimeClass "nope" not found`},
		{"other overhead", pod("kata", func(p *corev1.Pod) {
			p.Spec.Overhead = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}
		}),
			`pods "p" is forbidden: pod rejected: Pod's Overhead doesn't match RuntimeClass's defined Overhead`},
		{"overhead without the class's", pod("plain", func(p *corev1.Pod) { p.Spec.Overhead = overhead }),
			`pods "p" is forbidden: pod rejected: Pod Overhead set without corresponding RuntimeClass defined Overhead`},
		{"node selector conflict", pod("kata", func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"runtime": "runc"} }),
			`pods "p" is forbidden: conflict: runtimeClass.scheduling.nodeSelector[runtime] = kata; pod.spec.nodeSelector[runtime] = runc`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code := int32(403)
			if tc.want == "" {
				code = 0
			}
			wantErr(t, run(tc.pod), tc.want, code)
		})
	}
}

func TestMergeTolerations(t *testing.T) {
	s := func(v int64) *int64 { return &v }
	a := corev1.Toleration{Key: "a", Operator: corev1.TolerationOpEqual, Value: "1", Effect: corev1.TaintEffectNoSchedule}
	aAny := corev1.Toleration{Key: "a", Operator: corev1.TolerationOpExists}
	all := corev1.Toleration{Operator: corev1.TolerationOpExists}
	short := corev1.Toleration{Key: "b", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: s(10)}
	long := corev1.Toleration{Key: "b", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: s(100)}
	for _, tc := range []struct {
		name          string
		first, second []corev1.Toleration
		want          []corev1.Toleration
	}{
		{"superset later wins", []corev1.Toleration{a}, []corev1.Toleration{aAny}, []corev1.Toleration{aAny}},
		{"superset first wins", []corev1.Toleration{aAny}, []corev1.Toleration{a}, []corev1.Toleration{aAny}},
		{"equal kept once", []corev1.Toleration{a}, []corev1.Toleration{a}, []corev1.Toleration{a}},
		{"everything", []corev1.Toleration{a, short}, []corev1.Toleration{all}, []corev1.Toleration{all}},
		{"longer seconds is the superset", []corev1.Toleration{long}, []corev1.Toleration{short}, []corev1.Toleration{long}},
		{"unrelated", []corev1.Toleration{a}, []corev1.Toleration{short}, []corev1.Toleration{a, short}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := mergeTolerations(tc.first, tc.second); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("%+v, want %+v", got, tc.want)
			}
		})
	}
}
