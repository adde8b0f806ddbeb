package apps

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/registry"
)

func errPaths(errs field.ErrorList) string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Field+": "+e.Type.String())
	}
	return strings.Join(out, "; ")
}

func create(h *registry.Hooks, obj runtime.Object) field.ErrorList {
	h.PrepareCreate(obj)
	return h.Validate(obj, nil)
}

var webLabels = map[string]string{"app": "web"}

func podTemplate() corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "nginx", Image: "nginx"}}}}
}

func deployment(mut func(*appsv1.Deployment)) *appsv1.Deployment {
	d := &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: webLabels}, Template: podTemplate()}}
	if mut != nil {
		mut(d)
	}
	return d
}

func TestDeploymentValidation(t *testing.T) {
	zero := intstr.FromInt32(0)
	cases := []struct {
		name string
		mut  func(*appsv1.Deployment)
		want string
	}{
		{"valid", nil, ""},
		{"no selector", func(d *appsv1.Deployment) { d.Spec.Selector = nil }, "spec.selector: Required value"},
		{"empty selector", func(d *appsv1.Deployment) { d.Spec.Selector = &metav1.LabelSelector{} }, "spec.selector: Invalid value"},
		{"selector mismatch", func(d *appsv1.Deployment) { d.Spec.Template.Labels = map[string]string{"app": "db"} },
			"spec.template.metadata.labels: Invalid value"},
		{"no image", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "" },
			"spec.template.spec.containers[0].image: Required value"},
		{"restart never", func(d *appsv1.Deployment) { d.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever },
			"spec.template.spec.restartPolicy: Unsupported value"},
		{"negative replicas", func(d *appsv1.Deployment) { n := int32(-1); d.Spec.Replicas = &n }, "spec.replicas: Invalid value"},
		{"recreate with rolling update", func(d *appsv1.Deployment) {
			d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType, RollingUpdate: &appsv1.RollingUpdateDeployment{}}
		}, "spec.strategy.rollingUpdate: Forbidden"},
		{"both zero", func(d *appsv1.Deployment) {
			d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxSurge: &zero, MaxUnavailable: &zero}
		}, "spec.strategy.rollingUpdate.maxUnavailable: Invalid value"},
		{"over 100%", func(d *appsv1.Deployment) {
			v := intstr.FromString("150%")
			d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxSurge: &v}
		}, "spec.strategy.rollingUpdate.maxSurge: Invalid value"},
		{"progress deadline", func(d *appsv1.Deployment) { d.Spec.MinReadySeconds = 700 }, "spec.progressDeadlineSeconds: Invalid value"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := errPaths(create(deploymentHooks, deployment(c.mut))); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestDeploymentDefaultsAndImmutableSelector(t *testing.T) {
	d := deployment(nil)
	if errs := create(deploymentHooks, d); len(errs) > 0 {
		t.Fatal(errs)
	}
	s := d.Spec
	if *s.Replicas != 1 || s.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType ||
		s.Strategy.RollingUpdate.MaxSurge.String() != "25%" || s.Strategy.RollingUpdate.MaxUnavailable.String() != "25%" ||
		*s.RevisionHistoryLimit != 10 || *s.ProgressDeadlineSeconds != 600 ||
		s.Template.Spec.Containers[0].ImagePullPolicy != corev1.PullAlways || s.Template.Spec.DNSPolicy != corev1.DNSClusterFirst {
		t.Errorf("defaults: %+v", s)
	}
	if s.Template.Spec.EnableServiceLinks != nil {
		t.Error("enableServiceLinks is a pod's default, not a template's")
	}
	nd := d.DeepCopy()
	nd.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web", "tier": "front"}}
	nd.Spec.Template.Labels["tier"] = "front"
	if got := errPaths(deploymentHooks.Validate(nd, d)); got != "spec.selector: Invalid value" {
		t.Errorf("selector change: %q", got)
	}
}

func TestOtherWorkloads(t *testing.T) {
	sel := &metav1.LabelSelector{MatchLabels: webLabels}
	cases := []struct {
		name string
		hook *registry.Hooks
		obj  runtime.Object
		want string
	}{
		{"rs valid", replicaSetHooks, &appsv1.ReplicaSet{Spec: appsv1.ReplicaSetSpec{Selector: sel, Template: podTemplate()}}, ""},
		{"rs no selector", replicaSetHooks, &appsv1.ReplicaSet{Spec: appsv1.ReplicaSetSpec{Template: podTemplate()}}, "spec.selector: Required value"},
		{"sts valid with claim mounts", statefulSetHooks, &appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{Selector: sel,
			Template: func() corev1.PodTemplateSpec {
				t := podTemplate()
				t.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
				return t
			}(),
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{ObjectMeta: metav1.ObjectMeta{Name: "data"}}}}}, ""},
		{"sts bad policy", statefulSetHooks, &appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{Selector: sel, Template: podTemplate(),
			PodManagementPolicy: "Random"}}, "spec.podManagementPolicy: Invalid value"},
		{"ds valid", daemonSetHooks, &appsv1.DaemonSet{Spec: appsv1.DaemonSetSpec{Selector: sel, Template: podTemplate()}}, ""},
		{"ds mismatch", daemonSetHooks, &appsv1.DaemonSet{Spec: appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"x": "y"}},
			Template: podTemplate()}}, "spec.template.metadata.labels: Invalid value"},
		{"ds strategy", daemonSetHooks, &appsv1.DaemonSet{Spec: appsv1.DaemonSetSpec{Selector: sel, Template: podTemplate(),
			UpdateStrategy: appsv1.DaemonSetUpdateStrategy{Type: "Sometimes"}}}, "spec.updateStrategy.type: Unsupported value"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := errPaths(create(c.hook, c.obj)); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
	ss := &appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{Selector: sel, Template: podTemplate()}}
	create(statefulSetHooks, ss)
	if *ss.Spec.Replicas != 1 || ss.Spec.PodManagementPolicy != appsv1.OrderedReadyPodManagement || *ss.Spec.UpdateStrategy.RollingUpdate.Partition != 0 {
		t.Errorf("sts defaults: %+v", ss.Spec)
	}
	changed := ss.DeepCopy()
	changed.Spec.ServiceName = "other"
	if got := errPaths(statefulSetHooks.Validate(changed, ss)); got != "spec: Forbidden" {
		t.Errorf("sts update: %q", got)
	}
	ds := &appsv1.DaemonSet{Spec: appsv1.DaemonSetSpec{Selector: sel, Template: podTemplate()}}
	create(daemonSetHooks, ds)
	if ds.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable.IntValue() != 1 || *ds.Spec.RevisionHistoryLimit != 10 {
		t.Errorf("ds defaults: %+v", ds.Spec)
	}
}

// TestDaemonSetTemplateGeneration: kube's annotation counts the template's
// changes, 1 on create, whatever a client writes into it.
func TestDaemonSetTemplateGeneration(t *testing.T) {
	sel := &metav1.LabelSelector{MatchLabels: webLabels}
	ds := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{appsv1.DeprecatedTemplateGeneration: "7"}},
		Spec: appsv1.DaemonSetSpec{Selector: sel, Template: podTemplate()}}
	create(daemonSetHooks, ds)
	gen := func() string { return ds.Annotations[appsv1.DeprecatedTemplateGeneration] }
	if gen() != "1" {
		t.Fatalf("created with template generation %q", gen())
	}
	update := func(change func(*appsv1.DaemonSet)) {
		old := ds.DeepCopy()
		change(ds)
		daemonSetHooks.PrepareUpdate(ds, old)
	}
	update(func(ds *appsv1.DaemonSet) { ds.Spec.MinReadySeconds = 5 })
	if gen() != "1" {
		t.Errorf("after a change outside the template: %q", gen())
	}
	update(func(ds *appsv1.DaemonSet) { ds.Spec.Template.Spec.Containers[0].Image = "nginx:2" })
	if gen() != "2" {
		t.Errorf("after a template change: %q", gen())
	}
	update(func(ds *appsv1.DaemonSet) { ds.Annotations[appsv1.DeprecatedTemplateGeneration] = "9" })
	if gen() != "2" {
		t.Errorf("after a client wrote it: %q", gen())
	}
}

// TestStatefulSetClaimTemplateDefaults: apps/v1's defaulter gives each
// volume claim template a claim's defaults (kube 1.37.2
// SetObjectDefaults_StatefulSet); a set stored without them can still be
// scaled.
func TestStatefulSetClaimTemplateDefaults(t *testing.T) {
	sel := &metav1.LabelSelector{MatchLabels: webLabels}
	stored := &appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{Selector: sel, Template: podTemplate(),
		VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{ObjectMeta: metav1.ObjectMeta{Name: "data"},
			Spec: corev1.PersistentVolumeClaimSpec{Resources: corev1.VolumeResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("0.0001")}}}}}}}
	ss := stored.DeepCopy()
	if errs := create(statefulSetHooks, ss); len(errs) > 0 {
		t.Fatal(errs)
	}
	vct := ss.Spec.VolumeClaimTemplates[0]
	if vct.Status.Phase != corev1.ClaimPending || vct.Spec.VolumeMode == nil || *vct.Spec.VolumeMode != corev1.PersistentVolumeFilesystem {
		t.Errorf("claim template defaults: %q %v", vct.Status.Phase, vct.Spec.VolumeMode)
	}
	if q := vct.Spec.Resources.Requests[corev1.ResourceStorage]; q.String() != "1m" {
		t.Errorf("claim template request %s, want 1m", q.String())
	}
	// As an older kapi stored it: the set's defaults, not the claims'.
	stored.Spec = *ss.Spec.DeepCopy()
	stored.Spec.VolumeClaimTemplates[0] = corev1.PersistentVolumeClaim{ObjectMeta: vct.ObjectMeta,
		Spec: corev1.PersistentVolumeClaimSpec{Resources: corev1.VolumeResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("0.0001")}}}}
	ss = stored.DeepCopy()
	ss.Spec.Replicas = int32Ptr(3)
	statefulSetHooks.PrepareUpdate(ss, stored)
	if got := errPaths(statefulSetHooks.Validate(ss, stored)); got != "" {
		t.Errorf("scaling a set stored without claim defaults: %q", got)
	}
}
