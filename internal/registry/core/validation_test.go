package core

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/registry"

	"kapi/internal/registry/fieldtest"
)

// errPaths renders errors as "path: Type" for comparison.

// create runs a row's create hooks as the store does.
func create(h *registry.Hooks, obj runtime.Object) field.ErrorList {
	h.PrepareCreate(obj)
	return h.Validate(obj, nil)
}

// update runs a row's update hooks as the store does.
func update(h *registry.Hooks, obj, old runtime.Object) field.ErrorList {
	h.PrepareUpdate(obj, old)
	return h.Validate(obj, old)
}

func pod(mut func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx:1.27",
			Ports: []corev1.ContainerPort{{ContainerPort: 80}}}}}}
	if mut != nil {
		mut(p)
	}
	return p
}

func TestPodValidation(t *testing.T) {
	cases := []struct {
		name string
		mut  func(*corev1.Pod)
		want string
	}{
		{"valid", nil, ""},
		{"no containers", func(p *corev1.Pod) { p.Spec.Containers = nil }, "spec.containers: Required value"},
		{"no image", func(p *corev1.Pod) { p.Spec.Containers[0].Image = "" }, "spec.containers[0].image: Required value"},
		{"no name", func(p *corev1.Pod) { p.Spec.Containers[0].Name = "" }, "spec.containers[0].name: Required value"},
		{"bad name", func(p *corev1.Pod) { p.Spec.Containers[0].Name = "Web_1" }, "spec.containers[0].name: Invalid value"},
		{"duplicate name", func(p *corev1.Pod) {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "c", Image: "x"})
		}, "spec.containers[1].name: Duplicate value"},
		{"init and regular share names (reported on the init container, as kube checks regular ones first)", func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{{Name: "c", Image: "x"}}
		}, "spec.initContainers[0].name: Duplicate value"},
		{"port too big", func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].ContainerPort = 70000 }, "spec.containers[0].ports[0].containerPort: Invalid value"},
		{"port missing", func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].ContainerPort = 0 }, "spec.containers[0].ports[0].containerPort: Required value"},
		{"host port", func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].HostPort = -1 }, "spec.containers[0].ports[0].hostPort: Invalid value"},
		{"protocol", func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].Protocol = "HTTP" }, "spec.containers[0].ports[0].protocol: Unsupported value"},
		{"duplicate port name", func(p *corev1.Pod) {
			p.Spec.Containers[0].Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: 80}, {Name: "http", ContainerPort: 81}}
		}, "spec.containers[0].ports[1].name: Duplicate value"},
		{"restart policy", func(p *corev1.Pod) { p.Spec.RestartPolicy = "Sometimes" }, "spec.restartPolicy: Unsupported value"},
		{"dns policy", func(p *corev1.Pod) { p.Spec.DNSPolicy = "Google" }, "spec.dnsPolicy: Unsupported value"},
		{"pull policy", func(p *corev1.Pod) { p.Spec.Containers[0].ImagePullPolicy = "Sometimes" }, "spec.containers[0].imagePullPolicy: Unsupported value"},
		{"mount of unknown volume", func(p *corev1.Pod) {
			p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
		}, "spec.containers[0].volumeMounts[0].name: Not found"},
		{"duplicate volume", func(p *corev1.Pod) { p.Spec.Volumes = []corev1.Volume{{Name: "v"}, {Name: "v"}} }, "spec.volumes[1].name: Duplicate value"},
		{"active deadline", func(p *corev1.Pod) { d := int64(0); p.Spec.ActiveDeadlineSeconds = &d }, "spec.activeDeadlineSeconds: Invalid value"},
		{"node selector", func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"a b": "c"} }, "spec.nodeSelector: Invalid value"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := fieldtest.Paths(create(podHooks, pod(c.mut))); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestPodDefaults(t *testing.T) {
	p := pod(func(p *corev1.Pod) {
		p.Spec.Containers = append(p.Spec.Containers,
			corev1.Container{Name: "latest", Image: "busybox"},
			corev1.Container{Name: "registry", Image: "localhost:5000/app"},
			corev1.Container{Name: "digest", Image: "nginx@sha256:abcd"})
		p.Spec.Containers[0].LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{}}}
		p.Spec.Volumes = []corev1.Volume{{Name: "v"}}
	})
	if errs := create(podHooks, p); len(errs) > 0 {
		t.Fatal(errs)
	}
	s := p.Spec
	c := s.Containers[0]
	for _, x := range []struct{ name, got, want string }{
		{"dnsPolicy", string(s.DNSPolicy), "ClusterFirst"},
		{"restartPolicy", string(s.RestartPolicy), "Always"},
		{"schedulerName", s.SchedulerName, "default-scheduler"},
		{"terminationMessagePath", c.TerminationMessagePath, "/dev/termination-log"},
		{"terminationMessagePolicy", string(c.TerminationMessagePolicy), "File"},
		{"pull policy with tag", string(c.ImagePullPolicy), "IfNotPresent"},
		{"pull policy without tag", string(s.Containers[1].ImagePullPolicy), "Always"},
		{"pull policy with registry port", string(s.Containers[2].ImagePullPolicy), "Always"},
		{"pull policy with digest", string(s.Containers[3].ImagePullPolicy), "IfNotPresent"},
		{"port protocol", string(c.Ports[0].Protocol), "TCP"},
		{"probe path", c.LivenessProbe.HTTPGet.Path, "/"},
		{"phase", string(p.Status.Phase), "Pending"},
		{"qos", string(p.Status.QOSClass), "BestEffort"},
	} {
		if x.got != x.want {
			t.Errorf("%s = %q, want %q", x.name, x.got, x.want)
		}
	}
	if s.SecurityContext == nil || s.TerminationGracePeriodSeconds == nil || *s.TerminationGracePeriodSeconds != 30 ||
		s.EnableServiceLinks == nil || !*s.EnableServiceLinks || c.LivenessProbe.PeriodSeconds != 10 || s.Volumes[0].EmptyDir == nil {
		t.Errorf("defaults missing: %+v", s)
	}
}

func TestPodUpdate(t *testing.T) {
	old := pod(nil)
	create(podHooks, old)
	img := old.DeepCopy()
	img.Spec.Containers[0].Image = "nginx:1.28"
	if errs := update(podHooks, img, old); len(errs) > 0 {
		t.Errorf("image change rejected: %v", errs)
	}
	ports := old.DeepCopy()
	ports.Spec.Containers[0].Ports[0].ContainerPort = 81
	if got := fieldtest.Paths(update(podHooks, ports, old)); got != "spec: Forbidden" {
		t.Errorf("port change: %q", got)
	}
}

func TestConfigMapAndSecretValidation(t *testing.T) {
	yes := true
	big := strings.Repeat("x", maxDataSize)
	cases := []struct {
		name string
		hook *registry.Hooks
		obj  runtime.Object
		want string
	}{
		{"cm valid", configMapHooks, &corev1.ConfigMap{Data: map[string]string{"a.txt": "x", "-_.A": "y"}}, ""},
		{"cm bad key", configMapHooks, &corev1.ConfigMap{Data: map[string]string{"a/b": "x"}}, "data[a/b]: Invalid value"},
		{"cm duplicate key", configMapHooks, &corev1.ConfigMap{Data: map[string]string{"k": "x"}, BinaryData: map[string][]byte{"k": nil}}, "binaryData[k]: Invalid value"},
		{"cm too big", configMapHooks, &corev1.ConfigMap{Data: map[string]string{"k": big}}, "[]: Too long"},
		{"secret valid", secretHooks, &corev1.Secret{Data: map[string][]byte{"k": []byte("v")}}, ""},
		{"secret bad key", secretHooks, &corev1.Secret{Data: map[string][]byte{"..": nil}}, "data[..]: Invalid value"},
		{"secret too big", secretHooks, &corev1.Secret{StringData: map[string]string{"k": big}}, "data: Too long"},
		{"tls", secretHooks, &corev1.Secret{Type: corev1.SecretTypeTLS, Data: map[string][]byte{"tls.crt": nil}}, "data[tls.key]: Required value"},
		{"sa token", secretHooks, &corev1.Secret{Type: corev1.SecretTypeServiceAccountToken},
			"metadata.annotations[kubernetes.io/service-account.name]: Required value"},
		{"dockerconfigjson", secretHooks, &corev1.Secret{Type: corev1.SecretTypeDockerConfigJson,
			Data: map[string][]byte{".dockerconfigjson": []byte("{")}}, "data[.dockerconfigjson]: Invalid value"},
		{"ssh", secretHooks, &corev1.Secret{Type: corev1.SecretTypeSSHAuth}, "data[ssh-privatekey]: Required value"},
		{"immutable ok", configMapHooks, &corev1.ConfigMap{Immutable: &yes}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := fieldtest.Paths(create(c.hook, c.obj)); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestImmutableConfigMapAndSecret(t *testing.T) {
	yes, no := true, false
	oldCM := &corev1.ConfigMap{Data: map[string]string{"k": "v"}, Immutable: &yes}
	cm := oldCM.DeepCopy()
	cm.Data["k"] = "w"
	cm.Immutable = &no
	if got := fieldtest.Paths(update(configMapHooks, cm, oldCM)); got != "immutable: Forbidden; data: Forbidden" {
		t.Errorf("config map: %q", got)
	}
	labelsOnly := oldCM.DeepCopy()
	labelsOnly.Labels = map[string]string{"a": "b"}
	if errs := update(configMapHooks, labelsOnly, oldCM); len(errs) > 0 {
		t.Errorf("metadata change rejected: %v", errs)
	}

	oldSecret := &corev1.Secret{Data: map[string][]byte{"k": []byte("v")}}
	create(secretHooks, oldSecret)
	if oldSecret.Type != corev1.SecretTypeOpaque {
		t.Errorf("type defaulted to %q", oldSecret.Type)
	}
	s := oldSecret.DeepCopy()
	s.Type = "example.com/other"
	if got := fieldtest.Paths(update(secretHooks, s, oldSecret)); got != "type: Invalid value" {
		t.Errorf("secret type change: %q", got)
	}
	oldSecret.Immutable = &yes
	s = oldSecret.DeepCopy()
	s.StringData = map[string]string{"k": "new"}
	if got := fieldtest.Paths(update(secretHooks, s, oldSecret)); got != "data: Forbidden" {
		t.Errorf("immutable secret: %q", got)
	}
}

func TestReplicationControllerDefaultsSelector(t *testing.T) {
	rc := &corev1.ReplicationController{Spec: corev1.ReplicationControllerSpec{Template: &corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "x"}}}}}}
	if errs := create(replicationControllerHooks, rc); len(errs) > 0 {
		t.Fatal(errs)
	}
	if rc.Spec.Selector["app"] != "web" || *rc.Spec.Replicas != 1 || rc.Labels["app"] != "web" {
		t.Errorf("defaults: %+v", rc)
	}
	rc.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever
	if got := fieldtest.Paths(replicationControllerHooks.Validate(rc, nil)); got != "spec.template.spec.restartPolicy: Unsupported value" {
		t.Errorf("restartPolicy Never: %q", got)
	}
}

func TestSelectableFieldsAreStable(t *testing.T) {
	for name, f := range map[string]func(runtime.Object) map[string]string{
		"pods": podFields, "events": EventFields, "secrets": secretFields, "nodes": nodeFields,
		"namespaces": namespaceFields, "replicationcontrollers": replicationControllerFields, "services": serviceFields,
	} {
		var empty, full runtime.Object
		switch name {
		case "pods":
			empty, full = &corev1.Pod{}, &corev1.Pod{Spec: corev1.PodSpec{NodeName: "n"}, Status: corev1.PodStatus{Phase: "Running", PodIPs: []corev1.PodIP{{IP: "10.0.0.1"}}}}
		case "events":
			empty, full = &corev1.Event{}, &corev1.Event{Reason: "r", Source: corev1.EventSource{Component: "c"}}
		case "secrets":
			empty, full = &corev1.Secret{}, &corev1.Secret{Type: "Opaque"}
		case "nodes":
			empty, full = &corev1.Node{}, &corev1.Node{Spec: corev1.NodeSpec{Unschedulable: true}}
		case "namespaces":
			empty, full = &corev1.Namespace{}, &corev1.Namespace{Status: corev1.NamespaceStatus{Phase: "Active"}}
		case "replicationcontrollers":
			empty, full = &corev1.ReplicationController{}, &corev1.ReplicationController{Status: corev1.ReplicationControllerStatus{Replicas: 2}}
		case "services":
			empty, full = &corev1.Service{}, &corev1.Service{Spec: corev1.ServiceSpec{ClusterIP: "10.96.0.1", Type: "ClusterIP"}}
		}
		a, b := f(empty), f(full)
		if len(a) != len(b) || len(a) == 0 {
			t.Errorf("%s: keys differ: %v vs %v", name, a, b)
		}
		for k := range a {
			if _, ok := b[k]; !ok {
				t.Errorf("%s: %s missing from a full object", name, k)
			}
		}
	}
	if f := podFields(&corev1.Pod{Status: corev1.PodStatus{PodIPs: []corev1.PodIP{{IP: "10.0.0.1"}, {IP: "fd00::1"}}}}); f["status.podIP"] != "10.0.0.1" || f["spec.hostNetwork"] != "false" {
		t.Errorf("pod fields: %v", f)
	}
}
