package core

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"kapi/internal/registry/fieldtest"
)

// TestServiceAccountAlias: spec.serviceAccount is taken when
// serviceAccountName is empty (a pod naming only the old field runs as
// that account, not as "default"), loses to serviceAccountName, and a
// pod writes it out as serviceAccountName; a template keeps both as
// given. A pod stored before kapi wrote the alias can still be updated.
func TestServiceAccountAlias(t *testing.T) {
	for _, c := range []struct{ name, old, want string }{
		{"", "builder", "builder"},
		{"runner", "builder", "runner"},
		{"runner", "", "runner"},
		{"", "", ""},
	} {
		p := pod(func(p *corev1.Pod) { p.Spec.ServiceAccountName, p.Spec.DeprecatedServiceAccount = c.name, c.old })
		podHooks.PrepareCreate(p)
		if p.Spec.ServiceAccountName != c.want || p.Spec.DeprecatedServiceAccount != c.want {
			t.Errorf("serviceAccountName %q, serviceAccount %q: got %q and %q, want %q for both",
				c.name, c.old, p.Spec.ServiceAccountName, p.Spec.DeprecatedServiceAccount, c.want)
		}
		s := corev1.PodSpec{ServiceAccountName: c.name, DeprecatedServiceAccount: c.old}
		DefaultPodSpec(&s)
		if s.ServiceAccountName != c.name || s.DeprecatedServiceAccount != c.old {
			t.Errorf("template: serviceAccountName %q, serviceAccount %q: got %q and %q", c.name, c.old, s.ServiceAccountName, s.DeprecatedServiceAccount)
		}
	}
}

func TestPodStoredWithoutAlias(t *testing.T) {
	old := pod(func(p *corev1.Pod) { p.Spec.ServiceAccountName = "runner" })
	podHooks.PrepareCreate(old)
	old.Spec.DeprecatedServiceAccount = ""
	labelled := old.DeepCopy()
	labelled.Labels = map[string]string{"a": "b"}
	if errs := update(podHooks, labelled, old); len(errs) > 0 {
		t.Errorf("updating a pod stored without spec.serviceAccount: %v", errs)
	}
	if labelled.Spec.DeprecatedServiceAccount != "runner" {
		t.Errorf("spec.serviceAccount after the update: %q", labelled.Spec.DeprecatedServiceAccount)
	}
}

// TestPodStatusAliases: podIP is podIPs[0], set from podIP alone, and
// podIP wins when the two differ, as kube's conversion; hostIP the same.
func TestPodStatusAliases(t *testing.T) {
	for _, c := range []struct {
		ip   string
		ips  []string
		want []string
	}{
		{"10.0.0.1", nil, []string{"10.0.0.1"}},
		{"", []string{"10.0.0.1", "fd00::1"}, []string{"10.0.0.1", "fd00::1"}},
		{"10.0.0.2", []string{"10.0.0.1", "fd00::1"}, []string{"10.0.0.2"}},
		{"10.0.0.1", []string{"10.0.0.1", "fd00::1"}, []string{"10.0.0.1", "fd00::1"}},
		{"", nil, nil},
	} {
		old := pod(nil)
		p := pod(func(p *corev1.Pod) {
			p.Status.PodIP, p.Status.HostIP = c.ip, c.ip
			for _, ip := range c.ips {
				p.Status.PodIPs = append(p.Status.PodIPs, corev1.PodIP{IP: ip})
				p.Status.HostIPs = append(p.Status.HostIPs, corev1.HostIP{IP: ip})
			}
		})
		podHooks.PrepareUpdate(p, old)
		var pods, hosts []string
		for i := range p.Status.PodIPs {
			pods, hosts = append(pods, p.Status.PodIPs[i].IP), append(hosts, p.Status.HostIPs[i].IP)
		}
		want := ""
		if len(c.want) > 0 {
			want = c.want[0]
		}
		if !equal(pods, c.want) || !equal(hosts, c.want) || p.Status.PodIP != want || p.Status.HostIP != want {
			t.Errorf("podIP %q, podIPs %v: got %q %v, hostIP %q %v; want %q %v", c.ip, c.ips, p.Status.PodIP, pods, p.Status.HostIP, hosts, want, c.want)
		}
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestEphemeralContainers: set on create is forbidden; through the
// subresource they are added, with kube's allow list (no ports,
// resources, probes, lifecycle, subPath), unique names and a target that
// exists; existing ones stay as they are.
func TestEphemeralContainers(t *testing.T) {
	eph := func(name string, mut ...func(*corev1.EphemeralContainer)) corev1.EphemeralContainer {
		e := corev1.EphemeralContainer{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: name, Image: "busybox",
			ImagePullPolicy: corev1.PullIfNotPresent, TerminationMessagePolicy: corev1.TerminationMessageReadFile}}
		for _, m := range mut {
			m(&e)
		}
		return e
	}
	if got := fieldtest.Paths(create(podHooks, pod(func(p *corev1.Pod) { p.Spec.EphemeralContainers = []corev1.EphemeralContainer{eph("d")} }))); got != "spec.ephemeralContainers: Forbidden" {
		t.Errorf("ephemeral containers on create: %q", got)
	}
	old := pod(nil)
	podHooks.PrepareCreate(old)
	write := func(es ...corev1.EphemeralContainer) string {
		in := old.DeepCopy()
		in.Spec.EphemeralContainers = es
		out, err := EphemeralContainers.Write(nil, in, old)
		if err != nil {
			t.Fatal(err)
		}
		return fieldtest.Paths(EphemeralContainers.Validate(out, old))
	}
	for _, c := range []struct {
		name string
		es   []corev1.EphemeralContainer
		want string
	}{
		{"added", []corev1.EphemeralContainer{eph("d", func(e *corev1.EphemeralContainer) { e.TargetContainerName = "c" })}, ""},
		{"a container's name", []corev1.EphemeralContainer{eph("c")}, "spec.ephemeralContainers[0].name: Duplicate value"},
		{"no image", []corev1.EphemeralContainer{eph("d", func(e *corev1.EphemeralContainer) { e.Image = "" })}, "spec.ephemeralContainers[0].image: Required value"},
		{"ports and probes", []corev1.EphemeralContainer{eph("d", func(e *corev1.EphemeralContainer) {
			e.Ports = []corev1.ContainerPort{{ContainerPort: 80, Protocol: corev1.ProtocolTCP}}
			e.ReadinessProbe = &corev1.Probe{}
		})}, "spec.ephemeralContainers[0].ports: Forbidden; spec.ephemeralContainers[0].readinessProbe: Forbidden"},
		{"target", []corev1.EphemeralContainer{eph("d", func(e *corev1.EphemeralContainer) { e.TargetContainerName = "nope" })}, "spec.ephemeralContainers[0].targetContainerName: Not found"},
	} {
		if got := write(c.es...); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	// An added one stays.
	in := old.DeepCopy()
	in.Spec.EphemeralContainers = []corev1.EphemeralContainer{eph("d")}
	with, _ := EphemeralContainers.Write(nil, in, old)
	old = with.(*corev1.Pod)
	if got := write(eph("d", func(e *corev1.EphemeralContainer) { e.Image = "alpine" })); got != "spec.ephemeralContainers: Forbidden" {
		t.Errorf("changed: %q", got)
	}
	if got := write(); got != "spec.ephemeralContainers: Forbidden" {
		t.Errorf("removed: %q", got)
	}
	if got := write(eph("d"), eph("e")); got != "" {
		t.Errorf("another added: %q", got)
	}
}

// TestNegativeGracePeriod: a pod's negative terminationGracePeriodSeconds
// is stored as 1 (SetDefaults_Pod; a template keeps it), and the grace
// period of a stored pod never changes, except that one stored negative
// (before this default) may become 1, as kube's ValidatePodUpdate.
func TestNegativeGracePeriod(t *testing.T) {
	grace := func(g int64) func(*corev1.Pod) {
		return func(p *corev1.Pod) { p.Spec.TerminationGracePeriodSeconds = &g }
	}
	p := pod(grace(-1))
	podHooks.PrepareCreate(p)
	if g := p.Spec.TerminationGracePeriodSeconds; g == nil || *g != 1 {
		t.Fatalf("created with -1: terminationGracePeriodSeconds %v, want 1", g)
	}
	s := corev1.PodSpec{TerminationGracePeriodSeconds: ptr.To(int64(-1))}
	DefaultPodSpec(&s)
	if *s.TerminationGracePeriodSeconds != -1 {
		t.Errorf("template: terminationGracePeriodSeconds %d, want -1 kept", *s.TerminationGracePeriodSeconds)
	}
	for _, c := range []struct {
		old, new int64
		ok       bool
	}{{30, 30, true}, {30, 60, false}, {30, 1, false}, {-1, -1, true}, {-1, 1, true}, {-1, 5, false}, {-5, 0, false}} {
		old := pod(nil)
		podHooks.PrepareCreate(old)
		old.Spec.TerminationGracePeriodSeconds = ptr.To(c.old) // as stored, maybe before the default
		obj := old.DeepCopy()
		obj.Spec.TerminationGracePeriodSeconds = ptr.To(c.new)
		errs := update(podHooks, obj, old)
		if ok := len(errs) == 0; ok != c.ok {
			t.Errorf("stored %d, updated to %d: errors %v, want allowed %v", c.old, c.new, errs, c.ok)
		}
	}
}

// TestPodUpdateTolerations: an update keeps every stored toleration, in
// any order (admission adds the node not-ready and unreachable ones
// again at the end when an update leaves them out), changing at most its
// tolerationSeconds; it may add others. kube's
// validateOnlyAddedTolerations, with its message.
func TestPodUpdateTolerations(t *testing.T) {
	notReady := corev1.Toleration{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](300)}
	gpu := corev1.Toleration{Key: "gpu", Operator: corev1.TolerationOpEqual, Value: "yes", Effect: corev1.TaintEffectNoSchedule}
	added := corev1.Toleration{Key: "foo", Operator: corev1.TolerationOpEqual, Value: "bar", Effect: corev1.TaintEffectNoSchedule}
	longer := notReady
	longer.TolerationSeconds = ptr.To[int64](600)
	otherValue := gpu
	otherValue.Value = "no"
	for _, c := range []struct {
		name string
		new  []corev1.Toleration
		want string
	}{
		{"one added first", []corev1.Toleration{added, gpu, notReady}, ""},
		{"reordered", []corev1.Toleration{notReady, gpu}, ""},
		{"tolerationSeconds changed", []corev1.Toleration{gpu, longer}, ""},
		{"one removed", []corev1.Toleration{gpu}, "existing toleration can not be modified except its tolerationSeconds"},
		{"a value changed", []corev1.Toleration{otherValue, notReady}, "existing toleration can not be modified except its tolerationSeconds"},
	} {
		old := pod(func(p *corev1.Pod) { p.Spec.Tolerations = []corev1.Toleration{gpu, notReady} })
		podHooks.PrepareCreate(old)
		obj := old.DeepCopy()
		obj.Spec.Tolerations = c.new
		errs := update(podHooks, obj, old)
		switch {
		case c.want == "" && len(errs) > 0:
			t.Errorf("%s: %v", c.name, errs)
		case c.want != "" && (len(errs) == 0 || errs[0].Field != "spec.tolerations" || errs[0].Detail != c.want):
			t.Errorf("%s: errors %v, want spec.tolerations: %s", c.name, errs, c.want)
		}
	}
}
