package admission

import (
	"context"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/registry"
	"kapi/internal/registry/core"
)

func TestAlwaysAdmitAndDeny(t *testing.T) {
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "c"}}
	a := attrs(Create, row("v1/configmaps", true), "", cm, nil)
	if err := NewAlwaysAdmit().Admit(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	wantErr(t, NewAlwaysDeny().Admit(context.Background(), a), `configmaps "c" is forbidden: admission control is denying all modifications`, 403)
	wantErr(t, NewAlwaysDeny().Validate(context.Background(), attrs(Delete, row("v1/configmaps", true), "", nil, cm)),
		`configmaps "c" is forbidden: admission control is denying all modifications`, 403)
	if !handlesConnect(NewAlwaysDeny()) {
		t.Error("AlwaysDeny does not handle CONNECT")
	}
}

func TestAlwaysPullImages(t *testing.T) {
	pod := func(images ...string) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p"}, Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{{Name: "init", Image: images[0], ImagePullPolicy: corev1.PullNever}},
			Containers:     []corev1.Container{{Name: "c", Image: images[1], ImagePullPolicy: corev1.PullIfNotPresent}}}}
		if len(images) > 2 {
			p.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debug", Image: images[2]}}}
		}
		return p
	}
	policies := func(p *corev1.Pod) []corev1.PullPolicy {
		var out []corev1.PullPolicy
		core.VisitContainers(&p.Spec, specPath, func(c *corev1.Container, _ *field.Path) { out = append(out, c.ImagePullPolicy) })
		return out
	}
	always := []corev1.PullPolicy{corev1.PullAlways, corev1.PullAlways}
	ctx := context.Background()

	created := pod("busybox", "nginx")
	if err := (AlwaysPullImages{}).Admit(ctx, attrs(Create, podsRow, "", created, nil)); err != nil || !reflect.DeepEqual(policies(created), always) {
		t.Fatalf("create: %v, policies %v", err, policies(created))
	}
	// An update with no new image is left alone; one with a new image,
	// or an ephemeral container, is not.
	same := pod("busybox", "nginx")
	if err := (AlwaysPullImages{}).Admit(ctx, attrs(Update, podsRow, "", same, pod("busybox", "nginx"))); err != nil ||
		!reflect.DeepEqual(policies(same), []corev1.PullPolicy{corev1.PullNever, corev1.PullIfNotPresent}) {
		t.Fatalf("update with the same images: %v, policies %v", err, policies(same))
	}
	if err := (AlwaysPullImages{}).Validate(ctx, attrs(Update, podsRow, "", same, pod("busybox", "nginx"))); err != nil {
		t.Fatalf("update with the same images refused: %v", err)
	}
	debug := pod("busybox", "nginx", "alpine")
	if err := (AlwaysPullImages{}).Admit(ctx, attrs(Update, podsRow, "ephemeralcontainers", debug, pod("busybox", "nginx"))); err != nil ||
		!reflect.DeepEqual(policies(debug), append(always, corev1.PullAlways)) {
		t.Fatalf("ephemeral container: %v, policies %v", err, policies(debug))
	}
	if err := (AlwaysPullImages{}).Admit(ctx, attrs(Update, podsRow, "status", pod("a", "b"), pod("c", "d"))); err != nil {
		t.Fatal(err)
	}
	// Validation: what something else changed back is refused with kube's
	// message, the aggregate as kube answers it.
	wantErr(t, (AlwaysPullImages{}).Validate(ctx, attrs(Create, podsRow, "", pod("busybox", "nginx"), nil)),
		`[pods "p" is forbidden: spec.initContainers[0].imagePullPolicy: Unsupported value: "Never": supported values: "Always", `+
			`pods "p" is forbidden: spec.containers[0].imagePullPolicy: Unsupported value: "IfNotPresent": supported values: "Always"]`, 500)
	if err := (AlwaysPullImages{}).Validate(ctx, attrs(Create, podsRow, "", created, nil)); err != nil {
		t.Fatal(err)
	}
}

func TestDenyServiceExternalIPs(t *testing.T) {
	services := row("v1/services", true)
	svc := func(ips ...string) *corev1.Service {
		return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "s"}, Spec: corev1.ServiceSpec{ExternalIPs: ips}}
	}
	const denied = `services "s" is forbidden: Use of external IPs is denied by admission control`
	for _, tc := range []struct {
		name     string
		obj, old *corev1.Service
		want     string
	}{
		{"create without", svc(), nil, ""},
		{"create with", svc("1.2.3.4"), nil, denied},
		{"update keeping them", svc("1.2.3.4"), svc("5.6.7.8", "1.2.3.4"), ""},
		{"update adding one", svc("1.2.3.4", "9.9.9.9"), svc("1.2.3.4"), denied},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := attrs(Create, services, "", tc.obj, nil)
			if tc.old != nil {
				a.Operation, a.OldObject = Update, tc.old
			}
			wantErr(t, DenyServiceExternalIPs{}.Validate(context.Background(), a), tc.want, 403)
		})
	}
}

func TestLimitPodHardAntiAffinityTopology(t *testing.T) {
	pod := func(key string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p"}, Spec: corev1.PodSpec{Affinity: &corev1.Affinity{
			PodAntiAffinity: &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{TopologyKey: key}}}}}}
	}
	if err := (LimitPodHardAntiAffinityTopology{}).Validate(context.Background(), attrs(Create, podsRow, "", pod(corev1.LabelHostname), nil)); err != nil {
		t.Fatal(err)
	}
	wantErr(t, LimitPodHardAntiAffinityTopology{}.Validate(context.Background(), attrs(Create, podsRow, "", pod("topology.kubernetes.io/zone"), nil)),
		`pods "p" is forbidden: affinity.PodAntiAffinity.RequiredDuringScheduling has TopologyKey topology.kubernetes.io/zone but only key kubernetes.io/hostname is allowed`, 403)
}

func TestExtendedResourceToleration(t *testing.T) {
	tol := func(key string) corev1.Toleration {
		return corev1.Toleration{Key: key, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}
	}
	five := int64(5)
	withSeconds := tol("example.com/fpga")
	withSeconds.TolerationSeconds = &five
	requests := func(names ...string) corev1.ResourceRequirements {
		r := corev1.ResourceRequirements{Requests: corev1.ResourceList{}}
		for _, n := range names {
			r.Requests[corev1.ResourceName(n)] = resource.MustParse("1")
		}
		return r
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p"}, Spec: corev1.PodSpec{
		InitContainers: []corev1.Container{{Name: "i", Resources: requests("example.com/fpga", "cpu")}},
		Containers:     []corev1.Container{{Name: "c", Resources: requests("nvidia.com/gpu", "memory", "kubernetes.io/native", "example.com/fpga")}},
		// The same toleration with seconds is replaced; another key's is kept.
		Tolerations: []corev1.Toleration{withSeconds, tol("other")},
	}}
	if err := (ExtendedResourceToleration{}).Admit(context.Background(), attrs(Create, podsRow, "", pod, nil)); err != nil {
		t.Fatal(err)
	}
	want := []corev1.Toleration{tol("example.com/fpga"), tol("other"), tol("nvidia.com/gpu")}
	if !reflect.DeepEqual(pod.Spec.Tolerations, want) {
		t.Fatalf("tolerations %+v, want %+v", pod.Spec.Tolerations, want)
	}
}

func TestNamespaceExists(t *testing.T) {
	p := NamespaceExists{Namespaces: objects("namespaces", &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns"}})}
	cm := func(ns string) *corev1.ConfigMap {
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "c"}}
	}
	configmaps := row("v1/configmaps", true)
	if err := p.Validate(context.Background(), attrs(Update, configmaps, "", cm("ns"), cm("ns"))); err != nil {
		t.Fatal(err)
	}
	wantErr(t, p.Validate(context.Background(), attrs(Delete, configmaps, "", nil, cm("gone"))), `namespaces "gone" not found`, 404)
}

func TestPodNodeSelector(t *testing.T) {
	namespaces := objects("namespaces",
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team", Annotations: map[string]string{namespaceNodeSelector: "pool=team,env=prod"}}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "plain"}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "listed"}},
	)
	p := NewPodNodeSelector(namespaces, []byte(`{"podNodeSelectorPluginConfig":{"clusterDefaultNodeSelector":"env=dev","listed":"env=dev,disk=ssd"}}`))
	pod := func(ns string, sel map[string]string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "p"}, Spec: corev1.PodSpec{NodeSelector: sel}}
	}
	for _, tc := range []struct {
		name string
		pod  *corev1.Pod
		want map[string]string
		err  string
	}{
		{"the namespace's", pod("team", map[string]string{"gpu": "yes"}), map[string]string{"pool": "team", "env": "prod", "gpu": "yes"}, ""},
		{"conflict", pod("team", map[string]string{"env": "dev"}), nil, `pods "p" is forbidden: pod node label selector conflicts with its namespace node label selector`},
		{"cluster default", pod("plain", nil), map[string]string{"env": "dev"}, ""},
		{"within the whitelist", pod("listed", map[string]string{"disk": "ssd"}), map[string]string{"env": "dev", "disk": "ssd"}, ""},
		{"beyond the whitelist", pod("listed", map[string]string{"gpu": "yes"}), nil, `pods "p" is forbidden: pod node label selector labels conflict with its namespace whitelist`},
		{"no namespace", pod("gone", nil), nil, `namespaces "gone" not found`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := p.Admit(context.Background(), attrs(Create, podsRow, "", tc.pod, nil))
			wantErr(t, err, tc.err, 0)
			if tc.err == "" && !reflect.DeepEqual(tc.pod.Spec.NodeSelector, tc.want) {
				t.Fatalf("node selector %v, want %v", tc.pod.Spec.NodeSelector, tc.want)
			}
		})
	}
	// Updates are not its business, as kube's handles creates only.
	if err := p.Validate(context.Background(), attrs(Update, podsRow, "", pod("team", map[string]string{"env": "dev"}), pod("team", nil))); err != nil {
		t.Fatal(err)
	}
}

func TestNamespaceAutoProvision(t *testing.T) {
	var created []string
	p := NamespaceAutoProvision{Namespaces: objects("namespaces", &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns"}}),
		Create: func(_ context.Context, name string) error { created = append(created, name); return nil }}
	configmaps := row("v1/configmaps", true)
	cm := func(ns string) *corev1.ConfigMap {
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "c"}}
	}
	for _, a := range []*Attributes{
		attrs(Create, configmaps, "", cm("ns"), nil),        // exists
		attrs(Update, configmaps, "", cm("new"), cm("new")), // not a create
		attrs(Create, configmaps, "", cm("new"), nil),       // made
	} {
		if err := p.Admit(context.Background(), a); err != nil {
			t.Fatal(err)
		}
	}
	dry := attrs(Create, configmaps, "", cm("dry"), nil)
	dry.DryRun = true
	if err := p.Admit(context.Background(), dry); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(created, []string{"new"}) {
		t.Fatalf("created %q, want [new]", created)
	}
}

func TestPodTolerationRestriction(t *testing.T) {
	namespaces := objects("namespaces",
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "gpu", Annotations: map[string]string{
			namespaceDefaultTolerations:   `[{"key":"gpu","operator":"Exists","effect":"NoSchedule"}]`,
			namespaceTolerationsWhitelist: `[{"key":"gpu","operator":"Exists"},{"key":"node.kubernetes.io/memory-pressure","operator":"Exists"}]`}}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "plain"}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "open", Annotations: map[string]string{namespaceTolerationsWhitelist: ""}}},
	)
	p, err := NewPodTolerationRestriction(namespaces, []byte(`{"apiVersion":"podtolerationrestriction.admission.k8s.io/v1alpha1","kind":"Configuration",
		"default":[{"key":"team","operator":"Equal","value":"a","effect":"NoSchedule"}],"whitelist":[{"key":"team","operator":"Exists"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	tol := func(key string, op corev1.TolerationOperator, value string, effect corev1.TaintEffect) corev1.Toleration {
		return corev1.Toleration{Key: key, Operator: op, Value: value, Effect: effect}
	}
	memory := tol(corev1.TaintNodeMemoryPressure, corev1.TolerationOpExists, "", corev1.TaintEffectNoSchedule)
	burstable := corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}}
	pod := func(ns string, r corev1.ResourceRequirements, ts ...corev1.Toleration) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "p"},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Resources: r}}, Tolerations: ts}}
	}
	const clusterConflict = "pod tolerations (possibly merged with namespace default tolerations) conflict with its cluster whitelist"
	for _, tc := range []struct {
		name string
		op   Operation
		pod  *corev1.Pod
		want []corev1.Toleration
		err  string
	}{
		{"namespace default, best effort", Create, pod("gpu", corev1.ResourceRequirements{}),
			[]corev1.Toleration{tol("gpu", corev1.TolerationOpExists, "", corev1.TaintEffectNoSchedule)}, ""},
		{"namespace default, burstable", Create, pod("gpu", burstable),
			[]corev1.Toleration{tol("gpu", corev1.TolerationOpExists, "", corev1.TaintEffectNoSchedule), memory}, ""},
		{"a covered one is dropped", Create, pod("gpu", corev1.ResourceRequirements{}, tol("gpu", corev1.TolerationOpEqual, "x", corev1.TaintEffectNoSchedule)),
			[]corev1.Toleration{tol("gpu", corev1.TolerationOpExists, "", corev1.TaintEffectNoSchedule)}, ""},
		{"beyond the namespace whitelist", Create, pod("gpu", corev1.ResourceRequirements{}, tol("other", corev1.TolerationOpExists, "", "")), nil,
			"pod tolerations (possibly merged with namespace default tolerations) conflict with its namespace whitelist"},
		{"cluster default", Create, pod("plain", corev1.ResourceRequirements{}),
			[]corev1.Toleration{tol("team", corev1.TolerationOpEqual, "a", corev1.TaintEffectNoSchedule)}, ""},
		{"beyond the cluster whitelist", Update, pod("plain", burstable), nil, clusterConflict},
		{"an empty whitelist allows all", Create, pod("open", corev1.ResourceRequirements{}, tol("other", corev1.TolerationOpExists, "", "")),
			[]corev1.Toleration{tol("other", corev1.TolerationOpExists, "", ""), tol("team", corev1.TolerationOpEqual, "a", corev1.TaintEffectNoSchedule)}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var old *corev1.Pod
			if tc.op == Update {
				old = tc.pod.DeepCopy()
			}
			a := attrs(tc.op, podsRow, "", tc.pod, nil)
			if old != nil {
				a.OldObject = old
			}
			wantErr(t, p.Admit(context.Background(), a), tc.err, 0)
			if tc.err == "" && !reflect.DeepEqual(tc.pod.Spec.Tolerations, tc.want) {
				t.Fatalf("tolerations %+v, want %+v", tc.pod.Spec.Tolerations, tc.want)
			}
		})
	}
	if _, err := NewPodTolerationRestriction(namespaces, []byte(`{"apiVersion":"v1","kind":"Pod"}`)); err == nil {
		t.Error("a configuration of another kind was taken")
	}
}

func TestOwnerReferencesPermissionEnforcement(t *testing.T) {
	p := OwnerReferencesPermissionEnforcement{Authorizer: denyAll{}, Catalogue: registry.NewCatalogue()}
	yes, no := true, false
	cm := func(refs ...metav1.OwnerReference) *corev1.ConfigMap {
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "c", OwnerReferences: refs}}
	}
	widget := func(block *bool) metav1.OwnerReference {
		return metav1.OwnerReference{APIVersion: "example.com/v1", Kind: "Widget", Name: "w", UID: "u1", BlockOwnerDeletion: block}
	}
	configmaps := row("v1/configmaps", true)
	ctx := context.Background()
	// A create may name owners; an update that keeps them needs nothing.
	for _, a := range []*Attributes{
		attrs(Create, configmaps, "", cm(widget(&no)), nil),
		attrs(Update, configmaps, "", cm(widget(&yes)), cm(widget(&yes))),
		attrs(Update, row("v1/pods", true), "status", cm(), cm(widget(nil))),
	} {
		if err := p.Validate(ctx, a); err != nil {
			t.Fatalf("%s %s: %v", a.Operation, a.Resource.Name, err)
		}
	}
	wantErr(t, p.Validate(ctx, attrs(Update, configmaps, "", cm(), cm(widget(nil)))),
		`configmaps "c" is forbidden: cannot set an ownerRef on a resource you can't delete: , <nil>`, 403)
	wantErr(t, p.Validate(ctx, attrs(Create, configmaps, "", cm(widget(&yes)), nil)),
		`configmaps "c" is forbidden: cannot set blockOwnerDeletion in this case because cannot find RESTMapping for APIVersion example.com/v1 Kind Widget: no matches for kind "Widget" in version "example.com/v1"`, 403)
	if got := newBlockingRefs([]metav1.OwnerReference{widget(&yes)}, []metav1.OwnerReference{widget(&no)}); len(got) != 1 {
		t.Errorf("a reference made blocking: %v", got)
	}
	if got := newBlockingRefs([]metav1.OwnerReference{widget(&yes)}, []metav1.OwnerReference{widget(&yes)}); len(got) != 0 {
		t.Errorf("a reference already blocking: %v", got)
	}
}
