package core_test

import (
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"kapi/internal/registry"
	"kapi/internal/registry/builtin"
	"kapi/internal/registry/core"
)

// privilegedKinds are the nine rows whose objects hold a pod spec: each
// makes an object of its kind around a pod template, and names where the
// pod spec sits.
var privilegedKinds = []struct {
	group, resource, spec string
	make                  func(corev1.PodTemplateSpec) runtime.Object
}{
	{"", "pods", "spec", func(t corev1.PodTemplateSpec) runtime.Object {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}, Spec: t.Spec}
	}},
	{"", "podtemplates", "template.spec", func(t corev1.PodTemplateSpec) runtime.Object {
		return &corev1.PodTemplate{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}, Template: t}
	}},
	{"", "replicationcontrollers", "spec.template.spec", func(t corev1.PodTemplateSpec) runtime.Object {
		return &corev1.ReplicationController{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"},
			Spec: corev1.ReplicationControllerSpec{Selector: t.Labels, Template: &t}}
	}},
	{"apps", "deployments", "spec.template.spec", func(t corev1.PodTemplateSpec) runtime.Object {
		return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"},
			Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: t.Labels}, Template: t}}
	}},
	{"apps", "replicasets", "spec.template.spec", func(t corev1.PodTemplateSpec) runtime.Object {
		return &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"},
			Spec: appsv1.ReplicaSetSpec{Selector: &metav1.LabelSelector{MatchLabels: t.Labels}, Template: t}}
	}},
	{"apps", "daemonsets", "spec.template.spec", func(t corev1.PodTemplateSpec) runtime.Object {
		return &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"},
			Spec: appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: t.Labels}, Template: t}}
	}},
	{"apps", "statefulsets", "spec.template.spec", func(t corev1.PodTemplateSpec) runtime.Object {
		return &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"},
			Spec: appsv1.StatefulSetSpec{Selector: &metav1.LabelSelector{MatchLabels: t.Labels}, Template: t}}
	}},
	{"batch", "jobs", "spec.template.spec", func(t corev1.PodTemplateSpec) runtime.Object {
		t.Spec.RestartPolicy = corev1.RestartPolicyNever
		return &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "uid-1"}, Spec: batchv1.JobSpec{Template: t}}
	}},
	{"batch", "cronjobs", "spec.jobTemplate.spec.template.spec", func(t corev1.PodTemplateSpec) runtime.Object {
		t.Spec.RestartPolicy = corev1.RestartPolicyNever
		return &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"},
			Spec: batchv1.CronJobSpec{Schedule: "@hourly", JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: t}}}}
	}},
}

// template is a valid pod template of two containers and two init
// containers, changed by set.
func template(set func(*corev1.PodSpec)) corev1.PodTemplateSpec {
	t := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "a"}}, Spec: corev1.PodSpec{
		Containers:     []corev1.Container{{Name: "c0", Image: "i"}, {Name: "c1", Image: "i"}},
		InitContainers: []corev1.Container{{Name: "i0", Image: "i"}, {Name: "i1", Image: "i"}},
	}}
	if set != nil {
		set(&t.Spec)
	}
	return t
}

func row(t *testing.T, group, resource string) *registry.Resource {
	t.Helper()
	r := builtin.Find(group, resource)
	if r == nil {
		t.Fatalf("no row %s/%s", group, resource)
	}
	return r
}

func messages(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Error())
	}
	return out
}

const policy = ": Forbidden: disallowed by cluster policy"

// TestForbidPrivileged: for each of the nine kinds, a privileged
// container, regular or init, is refused at kube's path, after the
// kind's other errors (none here: the objects are valid but for it);
// privileged false or unset is not; a Windows hostProcess pod is refused
// at the pod spec's path. The row unchanged allows them all.
func TestForbidPrivileged(t *testing.T) {
	for _, k := range privilegedKinds {
		t.Run(k.resource, func(t *testing.T) {
			r := row(t, k.group, k.resource)
			forbid := core.ForbidPrivileged(r)
			for _, c := range []struct {
				name string
				set  func(*corev1.PodSpec)
				want []string
			}{
				{"unset", nil, nil},
				{"empty security context", func(s *corev1.PodSpec) { s.Containers[0].SecurityContext = &corev1.SecurityContext{} }, nil},
				{"false", func(s *corev1.PodSpec) {
					s.Containers[1].SecurityContext = &corev1.SecurityContext{Privileged: ptr.To(false)}
					s.InitContainers[0].SecurityContext = &corev1.SecurityContext{Privileged: ptr.To(false)}
				}, nil},
				{"container", func(s *corev1.PodSpec) {
					s.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: ptr.To(true)}
				}, []string{k.spec + ".containers[0].securityContext.privileged" + policy}},
				{"init container", func(s *corev1.PodSpec) {
					s.InitContainers[1].SecurityContext = &corev1.SecurityContext{Privileged: ptr.To(true)}
				}, []string{k.spec + ".initContainers[1].securityContext.privileged" + policy}},
				{"both, in kube's order", func(s *corev1.PodSpec) {
					s.InitContainers[0].SecurityContext = &corev1.SecurityContext{Privileged: ptr.To(true)}
					s.Containers[1].SecurityContext = &corev1.SecurityContext{Privileged: ptr.To(true)}
				}, []string{k.spec + ".containers[1].securityContext.privileged" + policy, k.spec + ".initContainers[0].securityContext.privileged" + policy}},
				{"hostProcess", func(s *corev1.PodSpec) {
					s.OS = &corev1.PodOS{Name: corev1.Windows}
					s.HostNetwork = true
					s.SecurityContext = &corev1.PodSecurityContext{WindowsOptions: &corev1.WindowsSecurityContextOptions{HostProcess: ptr.To(true)}}
				}, []string{k.spec + ": Forbidden: hostProcess containers are disallowed by cluster policy"}},
				{"hostProcess false in every container", func(s *corev1.PodSpec) {
					s.SecurityContext = &corev1.PodSecurityContext{WindowsOptions: &corev1.WindowsSecurityContextOptions{HostProcess: ptr.To(true)}}
					for _, l := range [][]corev1.Container{s.Containers, s.InitContainers} {
						for i := range l {
							l[i].SecurityContext = &corev1.SecurityContext{WindowsOptions: &corev1.WindowsSecurityContextOptions{HostProcess: ptr.To(false)}}
						}
					}
				}, nil},
			} {
				obj := k.make(template(c.set))
				if r.Hooks.Default != nil {
					r.Hooks.Default(obj)
				}
				before := messages(r.Hooks.Validate(obj.DeepCopyObject(), nil))
				if len(before) != 0 {
					t.Fatalf("%s: the object is invalid: %q", c.name, before)
				}
				got := messages(forbid.Hooks.Validate(obj.DeepCopyObject(), nil))
				if want := append(slices.Clone(before), c.want...); !slices.Equal(got, want) {
					t.Errorf("%s:\n got %q\nwant %q", c.name, got, want)
				}
				// an update is checked alike (kube validates the new
				// object whole)
				old := obj.DeepCopyObject()
				got = messages(forbid.Hooks.Validate(obj.DeepCopyObject(), old))
				if want := append(messages(r.Hooks.Validate(obj.DeepCopyObject(), old)), c.want...); !slices.Equal(got, want) {
					t.Errorf("%s, an update:\n got %q\nwant %q", c.name, got, want)
				}
			}
			// The row is otherwise the same; only the hooks' Validate
			// changed, and r itself is untouched.
			if forbid.GVR() != r.GVR() || forbid.Hooks.Default == nil != (r.Hooks.Default == nil) || len(forbid.Subresources) != len(r.Subresources) {
				t.Errorf("the row changed: %+v", forbid)
			}
			for i, s := range forbid.Subresources {
				if s.Name != r.Subresources[i].Name {
					t.Errorf("subresource %d: %s, was %s", i, s.Name, r.Subresources[i].Name)
				}
			}
			obj := k.make(template(func(s *corev1.PodSpec) {
				s.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: ptr.To(true)}
			}))
			if r.Hooks.Default != nil {
				r.Hooks.Default(obj)
			}
			if errs := r.Hooks.Validate(obj, nil); len(errs) != 0 { // (as created: a job gets its selector)
				t.Errorf("the row given changed: %v", errs)
			}
			// A status write does not validate the spec's policy (kube's
			// status validation has no spec); a scale write does (kube's
			// scale updates with the kind's strategy): it has the row's.
			if st := forbid.Sub("status"); st != nil && st.Validate != nil {
				if errs := st.Validate(obj.DeepCopyObject(), obj.DeepCopyObject()); len(errs) != 0 {
					t.Errorf("a status write of a privileged object: %v", errs)
				}
			} else if st != nil {
				t.Error("the status subresource has the row's validation, policy included")
			}
			if sc := forbid.Sub("scale"); sc != nil && sc.Validate != nil {
				t.Error("the scale subresource has a validation of its own")
			}
		})
	}
}

// TestForbidPrivilegedEphemeral: ephemeral containers, added through
// pods/ephemeralcontainers (or in an update), are refused at
// spec.ephemeralContainers[i]; a static pod's refusal stands alone, as
// kube's. pods/resize checks the pod as well.
func TestForbidPrivilegedEphemeral(t *testing.T) {
	forbid := core.ForbidPrivileged(row(t, "", "pods"))
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}, Spec: template(nil).Spec}
	forbid.Hooks.Default(pod)
	debug := func(privileged *bool) *corev1.Pod {
		p := pod.DeepCopy()
		p.Spec.EphemeralContainers = []corev1.EphemeralContainer{
			{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "e0", Image: "i"}},
			{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "e1", Image: "i", SecurityContext: &corev1.SecurityContext{Privileged: privileged}}},
		}
		forbid.Hooks.Default(p)
		return p
	}
	sub := forbid.Sub("ephemeralcontainers")
	if sub == nil || sub.Validate == nil {
		t.Fatal("no pods/ephemeralcontainers validation")
	}
	if errs := core.EphemeralContainers.Validate(debug(ptr.To(true)), pod); len(errs) != 0 {
		t.Fatalf("core.EphemeralContainers changed: %v", errs)
	}
	for _, p := range []*bool{nil, ptr.To(false)} {
		if errs := sub.Validate(debug(p), pod); len(errs) != 0 {
			t.Errorf("privileged %v: %v", p, errs)
		}
	}
	want := []string{"spec.ephemeralContainers[1].securityContext.privileged" + policy}
	if got := messages(sub.Validate(debug(ptr.To(true)), pod)); !slices.Equal(got, want) {
		t.Errorf("pods/ephemeralcontainers:\n got %q\nwant %q", got, want)
	}
	if got := messages(forbid.Hooks.Validate(debug(ptr.To(true)), debug(ptr.To(true)))); !slices.Equal(got, want) {
		t.Errorf("an update of a pod with a privileged ephemeral container:\n got %q\nwant %q", got, want)
	}
	static := pod.DeepCopy()
	static.Annotations = map[string]string{corev1.MirrorPodAnnotationKey: "x"}
	if got := messages(sub.Validate(debug(ptr.To(true)), static)); !slices.Equal(got, []string{"[]: Forbidden: static pods do not support ephemeral containers"}) {
		t.Errorf("a static pod: %q", got)
	}

	// pods/resize validates the pod whole, as kube's ValidatePodResize.
	resize := forbid.Sub("resize")
	privileged := pod.DeepCopy()
	privileged.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: ptr.To(true)}
	if got := messages(resize.Validate(privileged, privileged.DeepCopy())); !slices.Equal(got, []string{"spec.containers[0].securityContext.privileged" + policy}) {
		t.Errorf("pods/resize of a privileged pod: %q", got)
	}

	// The 422's text, as kube-apiserver's.
	err := apierrors.NewInvalid(forbid.GVK().GroupKind(), "p", forbid.Hooks.Validate(privileged, nil))
	if err.Error() != `Pod "p" is invalid: spec.containers[0].securityContext.privileged: Forbidden: disallowed by cluster policy` {
		t.Errorf("the error: %v", err)
	}
}

// TestForbidPrivilegedOtherKind: a row that holds no pod spec is a
// mistake of the server's, found at start.
func TestForbidPrivilegedOtherKind(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "ConfigMap holds no pod spec") {
			t.Errorf("recovered %v", r)
		}
	}()
	core.ForbidPrivileged(row(t, "", "configmaps"))
}
