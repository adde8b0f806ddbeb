package apps

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/registry"

	"kapi/internal/registry/fieldtest"
)

func create(h *registry.Hooks, obj runtime.Object) field.ErrorList {
	h.PrepareCreate(obj)
	return h.Validate(obj, nil)
}

var webLabels = map[string]string{"app": "web"}

func podTemplate() corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "nginx", Image: "nginx"}}}}
}

var rwo = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}

// claimTemplate is a claim template kube accepts: an access mode and a
// size.
func claimTemplate(name string) corev1.PersistentVolumeClaim {
	return corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeClaimSpec{AccessModes: rwo, Resources: corev1.VolumeResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}}}
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
		// (kube reads a missing selector as one matching nothing, and
		// reports the template too)
		{"no selector", func(d *appsv1.Deployment) { d.Spec.Selector = nil }, "spec.selector: Required value; spec.template.metadata.labels: Invalid value"},
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
			d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxUnavailable: &v}
		}, "spec.strategy.rollingUpdate.maxUnavailable: Invalid value"},
		// kube bounds a deployment's surge by nothing.
		{"surge over 100%", func(d *appsv1.Deployment) {
			v := intstr.FromString("150%")
			d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxSurge: &v}
		}, ""},
		{"progress deadline", func(d *appsv1.Deployment) { d.Spec.MinReadySeconds = 700 }, "spec.progressDeadlineSeconds: Invalid value"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := fieldtest.Paths(create(deploymentHooks, deployment(c.mut))); got != c.want {
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
	if got := fieldtest.Paths(deploymentHooks.Validate(nd, d)); got != "spec.selector: Invalid value" {
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
		{"rs no selector", replicaSetHooks, &appsv1.ReplicaSet{Spec: appsv1.ReplicaSetSpec{Template: podTemplate()}},
			"spec.selector: Required value; spec.template.metadata.labels: Invalid value"},
		{"sts valid with claim mounts", statefulSetHooks, &appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{Selector: sel,
			Template: func() corev1.PodTemplateSpec {
				t := podTemplate()
				t.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
				return t
			}(),
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{claimTemplate("data")}}}, ""},
		{"sts bad policy", statefulSetHooks, &appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{Selector: sel, Template: podTemplate(),
			PodManagementPolicy: "Random"}}, "spec.podManagementPolicy: Invalid value"},
		{"ds valid", daemonSetHooks, &appsv1.DaemonSet{Spec: appsv1.DaemonSetSpec{Selector: sel, Template: podTemplate()}}, ""},
		{"ds mismatch", daemonSetHooks, &appsv1.DaemonSet{Spec: appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"x": "y"}},
			Template: podTemplate()}}, "spec.template.metadata.labels: Invalid value"},
		{"ds strategy", daemonSetHooks, &appsv1.DaemonSet{Spec: appsv1.DaemonSetSpec{Selector: sel, Template: podTemplate(),
			UpdateStrategy: appsv1.DaemonSetUpdateStrategy{Type: "Sometimes"}}}, "spec.updateStrategy: Unsupported value"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := fieldtest.Paths(create(c.hook, c.obj)); got != c.want {
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
	// (kube 1.37 names the immutable field; before, it refused the spec)
	if got := fieldtest.Paths(statefulSetHooks.Validate(changed, ss)); got != "spec.serviceName: Invalid value" {
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
			Spec: corev1.PersistentVolumeClaimSpec{AccessModes: rwo, Resources: corev1.VolumeResourceRequirements{
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
		Spec: corev1.PersistentVolumeClaimSpec{AccessModes: rwo, Resources: corev1.VolumeResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("0.0001")}}}}
	ss = stored.DeepCopy()
	ss.Spec.Replicas = int32Ptr(3)
	statefulSetHooks.PrepareUpdate(ss, stored)
	if got := fieldtest.Paths(statefulSetHooks.Validate(ss, stored)); got != "" {
		t.Errorf("scaling a set stored without claim defaults: %q", got)
	}
}

// errList is errs as "path: message" lines, kube's detail and bad value
// included.

func replicaSet(mut func(*appsv1.ReplicaSet)) *appsv1.ReplicaSet {
	rs := &appsv1.ReplicaSet{Spec: appsv1.ReplicaSetSpec{Selector: &metav1.LabelSelector{MatchLabels: webLabels}, Template: podTemplate()}}
	if mut != nil {
		mut(rs)
	}
	return rs
}

func statefulSet(mut func(*appsv1.StatefulSet)) *appsv1.StatefulSet {
	ss := &appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{Selector: &metav1.LabelSelector{MatchLabels: webLabels}, Template: podTemplate(),
		ServiceName: "web", VolumeClaimTemplates: []corev1.PersistentVolumeClaim{claimTemplate("data")}}}
	if mut != nil {
		mut(ss)
	}
	return ss
}

func daemonSet(mut func(*appsv1.DaemonSet)) *appsv1.DaemonSet {
	ds := &appsv1.DaemonSet{Spec: appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: webLabels}, Template: podTemplate()}}
	if mut != nil {
		mut(ds)
	}
	return ds
}

func i32(v int32) *int32 { return &v }

func intOrStr(v string) *intstr.IntOrString {
	x := intstr.Parse(v)
	return &x
}

// The messages of apimachinery's format checks, as kube's errors carry
// them.
const (
	percentMsg = "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')"
	labelMsg   = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)

// createCase is a new object and kube 1.37's errors for it, every one, in
// its order.
type createCase struct {
	name string
	obj  runtime.Object
	want string
}

func runCreates(t *testing.T, h *registry.Hooks, cases []createCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := fieldtest.Lines(create(h, c.obj)); got != c.want {
				t.Errorf("got\n%s\nwant\n%s", got, c.want)
			}
		})
	}
}

// TestDeploymentSpecRules: kube's ValidateDeploymentSpec, with its paths,
// messages and order.
func TestDeploymentSpecRules(t *testing.T) {
	strategy := func(ru *appsv1.RollingUpdateDeployment) func(*appsv1.Deployment) {
		return func(d *appsv1.Deployment) { d.Spec.Strategy.RollingUpdate = ru }
	}
	runCreates(t, deploymentHooks, []createCase{
		{"counts in kube's order", deployment(func(d *appsv1.Deployment) {
			d.Spec.Replicas, d.Spec.MinReadySeconds, d.Spec.RevisionHistoryLimit, d.Spec.ProgressDeadlineSeconds = i32(-1), -1, i32(-1), i32(-1)
		}), "spec.replicas: Invalid value: -1: must be greater than or equal to 0\n" +
			"spec.minReadySeconds: Invalid value: -1: must be greater than or equal to 0\n" +
			"spec.revisionHistoryLimit: Invalid value: -1: must be greater than or equal to 0\n" +
			"spec.progressDeadlineSeconds: Invalid value: -1: must be greater than or equal to 0\n" +
			"spec.progressDeadlineSeconds: Invalid value: -1: must be greater than minReadySeconds"},
		{"progress deadline equal to minReadySeconds", deployment(func(d *appsv1.Deployment) { d.Spec.MinReadySeconds = 600 }),
			"spec.progressDeadlineSeconds: Invalid value: 600: must be greater than minReadySeconds"},
		{"rollback to a revision", deployment(func(d *appsv1.Deployment) {
			d.Annotations = map[string]string{appsv1.DeprecatedRollbackTo: "3"}
		}), ""},
		{"rollback to a negative revision", deployment(func(d *appsv1.Deployment) {
			d.Annotations = map[string]string{appsv1.DeprecatedRollbackTo: "-1"}
		}), "spec.rollback.version: Invalid value: -1: must be greater than or equal to 0"},
		{"unknown strategy", deployment(func(d *appsv1.Deployment) { d.Spec.Strategy.Type = "Sometimes" }),
			`spec.strategy: Unsupported value: {"Type":"Sometimes","RollingUpdate":null}: supported values: "Recreate", "RollingUpdate"`},
		{"recreate with rolling update", deployment(func(d *appsv1.Deployment) {
			d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType, RollingUpdate: &appsv1.RollingUpdateDeployment{}}
		}), "spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'"},
		{"both bounds zero", deployment(strategy(&appsv1.RollingUpdateDeployment{MaxUnavailable: intOrStr("0"), MaxSurge: intOrStr("0%")})),
			"spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0"},
		{"unavailable over 100%", deployment(strategy(&appsv1.RollingUpdateDeployment{MaxUnavailable: intOrStr("150%")})),
			`spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "150%": must not be greater than 100%`},
		{"negative surge", deployment(strategy(&appsv1.RollingUpdateDeployment{MaxSurge: intOrStr("-1")})),
			"spec.strategy.rollingUpdate.maxSurge: Invalid value: -1: must be greater than or equal to 0"},
		// kube reads a string that is no percentage as the integer it
		// spells: "-5%" none, so 0.
		{"not a percentage", deployment(strategy(&appsv1.RollingUpdateDeployment{MaxUnavailable: intOrStr("-5%"), MaxSurge: intOrStr("0")})),
			`spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "-5%": ` + percentMsg + "\n" +
				"spec.strategy.rollingUpdate.maxUnavailable: Invalid value: \"-5%\": may not be 0 when `maxSurge` is 0"},
		// A selector that does not parse leaves the template unchecked,
		// and the rest of the spec checked.
		{"unparsable selector", deployment(func(d *appsv1.Deployment) {
			d.Spec.Selector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: "Near", Values: []string{"web"}}}}
			d.Spec.MinReadySeconds = -1
		}), "spec.selector.matchExpressions[0].operator: Invalid value: \"Near\": not a valid selector operator\n" +
			`spec.selector: Invalid value: {"matchExpressions":[{"key":"app","operator":"Near","values":["web"]}]}: invalid label selector` + "\n" +
			"spec.minReadySeconds: Invalid value: -1: must be greater than or equal to 0"},
		{"active deadline", deployment(func(d *appsv1.Deployment) { d.Spec.Template.Spec.ActiveDeadlineSeconds = ptrTo[int64](30) }),
			"spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in ReplicaSet is not Supported"},
	})
}

func ptrTo[T any](v T) *T { return &v }

// TestReplicaSetSpecRules: kube's ValidateReplicaSetSpec.
func TestReplicaSetSpecRules(t *testing.T) {
	runCreates(t, replicaSetHooks, []createCase{
		{"valid", replicaSet(nil), ""},
		{"counts in kube's order", replicaSet(func(rs *appsv1.ReplicaSet) { rs.Spec.Replicas, rs.Spec.MinReadySeconds = i32(-1), -1 }),
			"spec.replicas: Invalid value: -1: must be greater than or equal to 0\n" +
				"spec.minReadySeconds: Invalid value: -1: must be greater than or equal to 0"},
		{"empty selector", replicaSet(func(rs *appsv1.ReplicaSet) { rs.Spec.Selector = &metav1.LabelSelector{} }),
			"spec.selector: Invalid value: {}: empty selector is invalid for deployment"},
		{"no selector", replicaSet(func(rs *appsv1.ReplicaSet) { rs.Spec.Selector = nil }),
			"spec.selector: Required value\n" +
				`spec.template.metadata.labels: Invalid value: {"app":"web"}: ` + "`selector` does not match template `labels`"},
	})
	rs := replicaSet(nil)
	create(replicaSetHooks, rs)
	changed := rs.DeepCopy()
	changed.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web", "tier": "front"}}
	changed.Spec.Template.Labels = map[string]string{"app": "web", "tier": "front"}
	if got, want := fieldtest.Lines(replicaSetHooks.Validate(changed, rs)),
		`spec.selector: Invalid value: {"matchLabels":{"app":"web","tier":"front"}}: field is immutable`; got != want {
		t.Errorf("selector change: got %q, want %q", got, want)
	}
}

// TestStatefulSetSpecRules: kube's ValidateStatefulSetSpec with its
// options for a new set.
func TestStatefulSetSpecRules(t *testing.T) {
	rolling := func(ru *appsv1.RollingUpdateStatefulSetStrategy) func(*appsv1.StatefulSet) {
		return func(ss *appsv1.StatefulSet) { ss.Spec.UpdateStrategy.RollingUpdate = ru }
	}
	claim := func(mut func(*corev1.PersistentVolumeClaimSpec)) func(*appsv1.StatefulSet) {
		return func(ss *appsv1.StatefulSet) { mut(&ss.Spec.VolumeClaimTemplates[0].Spec) }
	}
	const vct = "spec.volumeClaimTemplates[0].spec"
	runCreates(t, statefulSetHooks, []createCase{
		{"valid", statefulSet(nil), ""},
		// kube warns of a negative history limit, and takes it.
		{"negative history limit", statefulSet(func(ss *appsv1.StatefulSet) { ss.Spec.RevisionHistoryLimit = i32(-1) }), ""},
		// The controller sets the pods' hostname and subdomain.
		{"template hostname", statefulSet(func(ss *appsv1.StatefulSet) {
			ss.Spec.Template.Spec.Hostname, ss.Spec.Template.Spec.Subdomain = "Not_A_Label", "Not_A_Label"
		}), ""},
		// A claim template stands in for the template's volume of its name.
		{"template volume named as a claim", statefulSet(func(ss *appsv1.StatefulSet) {
			ss.Spec.Template.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
		}), ""},
		{"service name", statefulSet(func(ss *appsv1.StatefulSet) { ss.Spec.ServiceName = "Web_Service" }),
			`spec.serviceName: Invalid value: "Web_Service": ` + labelMsg},
		{"negative start ordinal", statefulSet(func(ss *appsv1.StatefulSet) { ss.Spec.Ordinals = &appsv1.StatefulSetOrdinals{Start: -1} }),
			"spec.ordinals.start: Invalid value: -1: must be greater than or equal to 0"},
		{"retention policy", statefulSet(func(ss *appsv1.StatefulSet) {
			ss.Spec.PersistentVolumeClaimRetentionPolicy = &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{WhenDeleted: "Keep", WhenScaled: "Forget"}
		}), `spec.persistentVolumeClaimRetentionPolicy.whenDeleted: Unsupported value: "Keep": supported values: "Retain", "Delete"` + "\n" +
			`spec.persistentVolumeClaimRetentionPolicy.whenScaled: Unsupported value: "Forget": supported values: "Retain", "Delete"`},
		{"unknown strategy", statefulSet(func(ss *appsv1.StatefulSet) { ss.Spec.UpdateStrategy.Type = "Sometimes" }),
			`spec.updateStrategy: Invalid value: {"Type":"Sometimes","RollingUpdate":null}: must be 'RollingUpdate' or 'OnDelete'`},
		// Recreate is kube's StatefulSetRecreateStrategy feature, off in 1.37.
		{"recreate", statefulSet(func(ss *appsv1.StatefulSet) { ss.Spec.UpdateStrategy.Type = appsv1.RecreateStatefulSetStrategyType }),
			`spec.updateStrategy: Invalid value: {"Type":"Recreate","RollingUpdate":null}: must be 'RollingUpdate' or 'OnDelete'`},
		{"on delete with rolling update", statefulSet(func(ss *appsv1.StatefulSet) {
			ss.Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{Type: appsv1.OnDeleteStatefulSetStrategyType,
				RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{Partition: i32(2)}}
		}), `spec.updateStrategy.rollingUpdate: Invalid value: {"Partition":2,"MaxUnavailable":null}: only allowed for updateStrategy 'RollingUpdate'`},
		{"negative partition", statefulSet(rolling(&appsv1.RollingUpdateStatefulSetStrategy{Partition: i32(-1)})),
			"spec.updateStrategy.rollingUpdate.partition: Invalid value: -1: must be greater than or equal to 0"},
		{"max unavailable", statefulSet(rolling(&appsv1.RollingUpdateStatefulSetStrategy{MaxUnavailable: intOrStr("50%")})), ""},
		{"max unavailable zero", statefulSet(rolling(&appsv1.RollingUpdateStatefulSetStrategy{MaxUnavailable: intOrStr("0%")})),
			`spec.updateStrategy.rollingUpdate.maxUnavailable: Invalid value: "0%": cannot be 0`},
		{"max unavailable over 100%", statefulSet(rolling(&appsv1.RollingUpdateStatefulSetStrategy{MaxUnavailable: intOrStr("200%")})),
			`spec.updateStrategy.rollingUpdate.maxUnavailable: Invalid value: "200%": must not be greater than 100%`},
		{"empty selector", statefulSet(func(ss *appsv1.StatefulSet) { ss.Spec.Selector = &metav1.LabelSelector{} }),
			"spec.selector: Invalid value: {}: empty selector is invalid for statefulset"},
		{"active deadline", statefulSet(func(ss *appsv1.StatefulSet) { ss.Spec.Template.Spec.ActiveDeadlineSeconds = ptrTo[int64](30) }),
			"spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in StatefulSet is not Supported"},
		{"claim without access modes or size", statefulSet(claim(func(s *corev1.PersistentVolumeClaimSpec) {
			*s = corev1.PersistentVolumeClaimSpec{}
		})), vct + ".accessModes: Required value: at least 1 access mode is required\n" + vct + ".resources[storage]: Required value"},
		{"claim access modes", statefulSet(claim(func(s *corev1.PersistentVolumeClaimSpec) {
			s.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOncePod, corev1.ReadWriteOnce, "ReadSometimes"}
		})), vct + `.accessModes: Unsupported value: "ReadSometimes": supported values: "ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"` + "\n" +
			vct + ".accessModes: Forbidden: may not use ReadWriteOncePod with other access modes"},
		{"claim of nothing", statefulSet(claim(func(s *corev1.PersistentVolumeClaimSpec) {
			s.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("0")
		})), vct + `.resources[storage]: Invalid value: "0": must be greater than zero`},
		{"claim classes and mode", statefulSet(claim(func(s *corev1.PersistentVolumeClaimSpec) {
			s.StorageClassName, s.VolumeAttributesClassName = ptrTo("Fast_SSD"), ptrTo("Gold_IOPS")
			s.VolumeMode = ptrTo[corev1.PersistentVolumeMode]("Raw")
		})), vct + `.storageClassName: Invalid value: "Fast_SSD": ` + subdomainMsg + "\n" +
			vct + `.volumeMode: Unsupported value: "Raw": supported values: "Block", "Filesystem"` + "\n" +
			vct + `.volumeAttributesClassName: Invalid value: "Gold_IOPS": ` + subdomainMsg},
		{"claim from a snapshot", statefulSet(claim(func(s *corev1.PersistentVolumeClaimSpec) {
			s.DataSource = &corev1.TypedLocalObjectReference{APIGroup: ptrTo("snapshot.storage.k8s.io"), Kind: "VolumeSnapshot", Name: "snap"}
		})), ""},
		{"claim sources", statefulSet(claim(func(s *corev1.PersistentVolumeClaimSpec) {
			s.DataSource = &corev1.TypedLocalObjectReference{Kind: "VolumeSnapshot"}
			s.DataSourceRef = &corev1.TypedObjectReference{APIGroup: ptrTo("Snapshots"), Kind: "VolumeSnapshot", Name: "snap"}
		})), vct + ".dataSource.name: Required value\n" +
			vct + `.dataSource: Invalid value: "VolumeSnapshot": must be 'PersistentVolumeClaim' when referencing the default apiGroup` + "\n" +
			vct + `.dataSourceRef.apiGroup: Invalid value: "Snapshots": ` + subdomainMsg + "\n" +
			vct + ": Invalid value: {}: must match dataSourceRef"},
		{"claim from another namespace", statefulSet(claim(func(s *corev1.PersistentVolumeClaimSpec) {
			s.DataSource = &corev1.TypedLocalObjectReference{Kind: "PersistentVolumeClaim", Name: "src"}
			s.DataSourceRef = &corev1.TypedObjectReference{Kind: "PersistentVolumeClaim", Name: "src", Namespace: ptrTo("Other_NS")}
		})), vct + `.dataSourceRef.namespace: Invalid value: "Other_NS": ` + labelMsg + "\n" +
			vct + ": Invalid value: {}: may not be specified when dataSourceRef.namespace is specified"},
	})
}

const annotationKeyMsg = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"

const subdomainMsg = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"

// updateCase is a write to a stored object and kube 1.37's errors for it.
type updateCase struct {
	name   string
	stored func(*appsv1.StatefulSet) // the set as an older server stored it
	write  func(*appsv1.StatefulSet)
	want   string
}

// TestStatefulSetUpdateRules: kube's ValidateStatefulSetUpdate: the
// fields the pods and claims are named after are immutable, each named;
// the others change; what the stored set already got wrong is tolerated.
func TestStatefulSetUpdateRules(t *testing.T) {
	invalidTemplate := func(ss *appsv1.StatefulSet) { ss.Spec.Template.Spec.Containers[0].Image = "" }
	cases := []updateCase{
		{"mutable fields", nil, func(ss *appsv1.StatefulSet) {
			ss.Spec.Replicas, ss.Spec.MinReadySeconds, ss.Spec.RevisionHistoryLimit = i32(5), 10, i32(3)
			ss.Spec.Ordinals = &appsv1.StatefulSetOrdinals{Start: 2}
			ss.Spec.Template.Spec.Containers[0].Image = "nginx:2"
			ss.Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{Type: appsv1.OnDeleteStatefulSetStrategyType}
			ss.Spec.PersistentVolumeClaimRetentionPolicy.WhenScaled = appsv1.DeletePersistentVolumeClaimRetentionPolicyType
		}, ""},
		{"service name", nil, func(ss *appsv1.StatefulSet) { ss.Spec.ServiceName = "other" },
			`spec.serviceName: Invalid value: "other": field is immutable`},
		{"pod management policy", nil, func(ss *appsv1.StatefulSet) { ss.Spec.PodManagementPolicy = appsv1.ParallelPodManagement },
			`spec.podManagementPolicy: Invalid value: "Parallel": field is immutable`},
		{"selector", nil, func(ss *appsv1.StatefulSet) {
			ss.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web", "tier": "db"}}
			ss.Spec.Template.Labels = map[string]string{"app": "web", "tier": "db"}
		}, `spec.selector: Invalid value: {"matchLabels":{"app":"web","tier":"db"}}: field is immutable`},
		// (kube's internal claims have no apiVersion and kind to differ)
		{"claim templates' kind", nil, func(ss *appsv1.StatefulSet) {
			ss.Spec.VolumeClaimTemplates[0].TypeMeta = metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolumeClaim"}
		}, ""},
		{"invalid service name kept", func(ss *appsv1.StatefulSet) { ss.Spec.ServiceName = "Web_Service" },
			func(ss *appsv1.StatefulSet) { ss.Spec.Replicas = i32(3) }, ""},
		{"invalid claim template kept", func(ss *appsv1.StatefulSet) { ss.Spec.VolumeClaimTemplates[0].Spec.AccessModes = nil },
			func(ss *appsv1.StatefulSet) { ss.Spec.Replicas = i32(3) }, ""},
		{"invalid template kept", invalidTemplate, func(ss *appsv1.StatefulSet) { ss.Spec.Replicas = i32(3) }, ""},
		{"template made invalid", nil, invalidTemplate, "spec.template.spec.containers[0].image: Required value"},
		// The tolerant update still checks what kube's apps rules add.
		{"invalid template kept, active deadline added", invalidTemplate, func(ss *appsv1.StatefulSet) {
			ss.Spec.Template.Spec.ActiveDeadlineSeconds = ptrTo[int64](30)
		}, "spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in StatefulSet is not Supported"},
		{"invalid template kept, annotation added", invalidTemplate, func(ss *appsv1.StatefulSet) {
			ss.Spec.Template.Annotations = map[string]string{"-bad": "x"}
		}, `spec.template.annotations: Invalid value: "-bad": ` + annotationKeyMsg},
		{"recreate kept", func(ss *appsv1.StatefulSet) {
			ss.Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{Type: appsv1.RecreateStatefulSetStrategyType}
		}, func(ss *appsv1.StatefulSet) { ss.Spec.Replicas = i32(3) }, ""},
		{"from recreate to an unknown strategy", func(ss *appsv1.StatefulSet) {
			ss.Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{Type: appsv1.RecreateStatefulSetStrategyType}
		}, func(ss *appsv1.StatefulSet) { ss.Spec.UpdateStrategy.Type = "Sometimes" },
			`spec.updateStrategy: Invalid value: {"Type":"Sometimes","RollingUpdate":null}: must be 'RollingUpdate', 'OnDelete', or 'Recreate'`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			stored := statefulSet(nil)
			statefulSetHooks.PrepareCreate(stored)
			if c.stored != nil {
				c.stored(stored)
			}
			ss := stored.DeepCopy()
			c.write(ss)
			statefulSetHooks.PrepareUpdate(ss, stored)
			if got := fieldtest.Lines(statefulSetHooks.Validate(ss, stored)); got != c.want {
				t.Errorf("got\n%s\nwant\n%s", got, c.want)
			}
		})
	}
}

// TestStatefulSetClaimTemplatesImmutable: a claim template changes only
// with a new set.
func TestStatefulSetClaimTemplatesImmutable(t *testing.T) {
	stored := statefulSet(nil)
	create(statefulSetHooks, stored)
	for name, write := range map[string]func(*appsv1.StatefulSet){
		"size": func(ss *appsv1.StatefulSet) {
			ss.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("2Gi")
		},
		"added": func(ss *appsv1.StatefulSet) {
			ss.Spec.VolumeClaimTemplates = append(ss.Spec.VolumeClaimTemplates, claimTemplate("logs"))
		},
	} {
		ss := stored.DeepCopy()
		write(ss)
		statefulSetHooks.PrepareUpdate(ss, stored)
		errs := statefulSetHooks.Validate(ss, stored)
		if len(errs) != 1 || errs[0].Field != "spec.volumeClaimTemplates" || errs[0].Type != field.ErrorTypeInvalid || errs[0].Detail != "field is immutable" {
			t.Errorf("%s: %s", name, fieldtest.Lines(errs))
		}
	}
}

// TestDaemonSetSpecRules: kube's ValidateDaemonSetSpec.
func TestDaemonSetSpecRules(t *testing.T) {
	rolling := func(maxUnavailable, maxSurge string) func(*appsv1.DaemonSet) {
		return func(ds *appsv1.DaemonSet) {
			ds.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateDaemonSet{MaxUnavailable: intOrStr(maxUnavailable), MaxSurge: intOrStr(maxSurge)}
		}
	}
	runCreates(t, daemonSetHooks, []createCase{
		{"valid", daemonSet(nil), ""},
		// kube does not require a daemon set's selector; a missing one
		// matches no template.
		{"no selector", daemonSet(func(ds *appsv1.DaemonSet) { ds.Spec.Selector = nil }),
			`spec.template.metadata.labels: Invalid value: {"app":"web"}: ` + "`selector` does not match template `labels`"},
		{"empty selector", daemonSet(func(ds *appsv1.DaemonSet) { ds.Spec.Selector = &metav1.LabelSelector{} }),
			"spec.selector: Invalid value: {}: empty selector is invalid for daemonset"},
		{"active deadline", daemonSet(func(ds *appsv1.DaemonSet) { ds.Spec.Template.Spec.ActiveDeadlineSeconds = ptrTo[int64](30) }),
			"spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in DaemonSet is not Supported"},
		{"counts in kube's order", daemonSet(func(ds *appsv1.DaemonSet) {
			ds.Spec.MinReadySeconds, ds.Spec.RevisionHistoryLimit = -1, i32(-1)
			ds.Spec.UpdateStrategy.Type = "Sometimes"
		}), "spec.minReadySeconds: Invalid value: -1: must be greater than or equal to 0\n" +
			`spec.updateStrategy: Unsupported value: {"Type":"Sometimes","RollingUpdate":null}: supported values: "RollingUpdate", "OnDelete"` + "\n" +
			"spec.revisionHistoryLimit: Invalid value: -1: must be greater than or equal to 0"},
		{"surge only", daemonSet(rolling("0", "50%")), ""},
		{"on delete with rolling update", daemonSet(func(ds *appsv1.DaemonSet) {
			ds.Spec.UpdateStrategy = appsv1.DaemonSetUpdateStrategy{Type: appsv1.OnDeleteDaemonSetStrategyType, RollingUpdate: &appsv1.RollingUpdateDaemonSet{}}
		}), ""},
		{"surge and unavailable", daemonSet(rolling("1", "1")),
			"spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: 1: may not be set when maxUnavailable is non-zero"},
		{"neither", daemonSet(rolling("0%", "0")),
			"spec.updateStrategy.rollingUpdate.maxUnavailable: Required value: cannot be 0 when maxSurge is 0"},
		{"over 100%", daemonSet(rolling("0", "150%")),
			`spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: "150%": must not be greater than 100%`},
		{"bad percentages", daemonSet(rolling("x%", "1")),
			`spec.updateStrategy.rollingUpdate.maxUnavailable: Invalid value: "x%": ` + percentMsg},
		{"invalid label value in the selector", daemonSet(func(ds *appsv1.DaemonSet) {
			ds.Spec.Selector.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"not a value"}}}
		}), `spec.selector.matchExpressions[0].values[0]: Invalid value: "not a value": ` + labelValueMsg},
	})
	// A negative template generation cannot come through a write, which
	// counts it; kube checks it still.
	ds := daemonSet(func(ds *appsv1.DaemonSet) {
		ds.Annotations = map[string]string{appsv1.DeprecatedTemplateGeneration: "-3"}
	})
	daemonSetHooks.Default(ds)
	if got, want := fieldtest.Lines(daemonSetHooks.Validate(ds, nil)), "spec.templateGeneration: Invalid value: -3: must be greater than or equal to 0"; got != want {
		t.Errorf("template generation: got %q, want %q", got, want)
	}
}

const labelValueMsg = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"

// TestDaemonSetUpdateRules: kube's ValidateDaemonSetSpecUpdate, on
// objects as a write would leave them were the template generation not
// counted for it, and the tolerance of stored selectors.
func TestDaemonSetUpdateRules(t *testing.T) {
	gen := func(g string) func(*appsv1.DaemonSet) {
		return func(ds *appsv1.DaemonSet) { ds.Annotations = map[string]string{appsv1.DeprecatedTemplateGeneration: g} }
	}
	newImage := func(ds *appsv1.DaemonSet) { ds.Spec.Template.Spec.Containers[0].Image = "nginx:2" }
	cases := []struct {
		name          string
		stored, write func(*appsv1.DaemonSet)
		want          string
	}{
		{"template counted", gen("2"), func(ds *appsv1.DaemonSet) { gen("3")(ds); newImage(ds) }, ""},
		{"decremented", gen("3"), gen("2"), "spec.templateGeneration: Invalid value: 2: must not be decremented"},
		{"template not counted", gen("2"), newImage, "spec.templateGeneration: Invalid value: 2: must be incremented upon template update"},
		{"counted without template", gen("2"), gen("3"), "spec.templateGeneration: Invalid value: 3: must not be incremented without template update"},
		{"selector", gen("1"), func(ds *appsv1.DaemonSet) {
			ds.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web", "tier": "db"}}
		}, `spec.selector: Invalid value: {"matchLabels":{"app":"web","tier":"db"}}: field is immutable` + "\n" +
			`spec.template.metadata.labels: Invalid value: {"app":"web"}: ` + "`selector` does not match template `labels`"},
		{"invalid label value in the stored selector kept", func(ds *appsv1.DaemonSet) {
			gen("1")(ds)
			ds.Spec.Selector.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"not a value"}}}
		}, func(ds *appsv1.DaemonSet) { ds.Spec.MinReadySeconds = 5 }, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			stored := daemonSet(nil)
			daemonSetHooks.Default(stored)
			c.stored(stored)
			ds := stored.DeepCopy()
			c.write(ds)
			if got := fieldtest.Lines(daemonSetHooks.Validate(ds, stored)); got != c.want {
				t.Errorf("got\n%s\nwant\n%s", got, c.want)
			}
		})
	}
}
