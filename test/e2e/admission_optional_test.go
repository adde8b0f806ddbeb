package e2e

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"kapi/internal/server"
)

// TestOptionalAdmissionPlugins: kube's plugins that are off by default,
// named in --enable-admission-plugins: AlwaysPullImages makes every
// container pull always, ExtendedResourceToleration tolerates the taints
// of the extended resources a pod requests, LimitPodHardAntiAffinityTopology
// refuses required anti-affinity across anything but hosts, and
// DenyServiceExternalIPs refuses new external IPs, PodNodeSelector gives
// pods their namespace's node selector, NamespaceAutoProvision makes the
// namespace a create names, PodTolerationRestriction gives pods their
// namespace's default tolerations; each with kube's message.
func TestOptionalAdmissionPlugins(t *testing.T) {
	t.Parallel()
	k := startKapi(t, func(c *server.Config) {
		c.EnableAdmissionPlugins = []string{"AlwaysPullImages", "ExtendedResourceToleration", "LimitPodHardAntiAffinityTopology",
			"DenyServiceExternalIPs", "PodNodeSelector", "NamespaceExists", "NamespaceAutoProvision", "PodTolerationRestriction"}
	})
	ctx := context.Background()
	pods := k.client.CoreV1().Pods("default")
	gpu := corev1.ResourceList{"nvidia.com/gpu": resource.MustParse("1")}
	p, err := pods.Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "gpu"}, Spec: corev1.PodSpec{
		InitContainers: []corev1.Container{{Name: "init", Image: "busybox", ImagePullPolicy: corev1.PullNever}},
		Containers: []corev1.Container{{Name: "c", Image: "cuda", ImagePullPolicy: corev1.PullIfNotPresent,
			Resources: corev1.ResourceRequirements{Requests: gpu, Limits: gpu}}}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Spec.InitContainers[0].ImagePullPolicy != corev1.PullAlways || p.Spec.Containers[0].ImagePullPolicy != corev1.PullAlways {
		t.Errorf("pull policies %q and %q, want Always", p.Spec.InitContainers[0].ImagePullPolicy, p.Spec.Containers[0].ImagePullPolicy)
	}
	if !slices.Contains(p.Spec.Tolerations, corev1.Toleration{Key: "nvidia.com/gpu", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}) {
		t.Errorf("no toleration of nvidia.com/gpu: %+v", p.Spec.Tolerations)
	}

	_, err = pods.Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "spread"}, Spec: corev1.PodSpec{
		Containers: []corev1.Container{{Name: "c", Image: "nginx"}},
		Affinity: &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "x"}}, TopologyKey: "topology.kubernetes.io/zone"}}}}}}, metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) || err.Error() != `pods "spread" is forbidden: affinity.PodAntiAffinity.RequiredDuringScheduling has TopologyKey topology.kubernetes.io/zone but only key kubernetes.io/hostname is allowed` {
		t.Errorf("anti-affinity across zones: %v", err)
	}

	services := k.client.CoreV1().Services("default")
	port := []corev1.ServicePort{{Port: 80}}
	_, err = services.Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "ext"}, Spec: corev1.ServiceSpec{Ports: port, ExternalIPs: []string{"192.0.2.10"}}}, metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) || err.Error() != `services "ext" is forbidden: Use of external IPs is denied by admission control` {
		t.Errorf("a Service with an external IP: %v", err)
	}
	svc, err := services.Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "plain"}, Spec: corev1.ServiceSpec{Ports: port}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	svc.Spec.ExternalIPs = []string{"192.0.2.11"}
	if _, err := services.Update(ctx, svc, metav1.UpdateOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("an update adding an external IP: %v", err)
	}

	// PodNodeSelector: the namespace's annotation is merged into the pod's
	// selector; a conflicting pod is refused.
	if _, err := k.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "pinned",
		Annotations: map[string]string{"scheduler.alpha.kubernetes.io/node-selector": "pool=pinned",
			"scheduler.alpha.kubernetes.io/defaultTolerations": `[{"key":"pool","operator":"Equal","value":"pinned","effect":"NoSchedule"}]`}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pinned := k.client.CoreV1().Pods("pinned")
	p, err = pinned.Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "a"}, Spec: corev1.PodSpec{
		NodeSelector: map[string]string{"disk": "ssd"}, Containers: []corev1.Container{{Name: "c", Image: "nginx"}}}}, metav1.CreateOptions{})
	if err != nil || len(p.Spec.NodeSelector) != 2 || p.Spec.NodeSelector["pool"] != "pinned" || p.Spec.NodeSelector["disk"] != "ssd" {
		t.Errorf("a pod in the pinned namespace: %v, node selector %v", err, p.Spec.NodeSelector)
	}
	if err == nil && !slices.Contains(p.Spec.Tolerations, corev1.Toleration{Key: "pool", Operator: corev1.TolerationOpEqual, Value: "pinned", Effect: corev1.TaintEffectNoSchedule}) {
		t.Errorf("the namespace's default toleration is not the pod's: %+v", p.Spec.Tolerations)
	}
	_, err = pinned.Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "b"}, Spec: corev1.PodSpec{
		NodeSelector: map[string]string{"pool": "other"}, Containers: []corev1.Container{{Name: "c", Image: "nginx"}}}}, metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) || err.Error() != `pods "b" is forbidden: pod node label selector conflicts with its namespace node label selector` {
		t.Errorf("a pod choosing another pool: %v", err)
	}

	// NamespaceAutoProvision: a create in a namespace that does not exist
	// makes it.
	if _, err := k.client.CoreV1().ConfigMaps("made-on-demand").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c"}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("a create in a new namespace: %v", err)
	}
	if _, err := k.client.CoreV1().Namespaces().Get(ctx, "made-on-demand", metav1.GetOptions{}); err != nil {
		t.Errorf("the namespace made: %v", err)
	}
}

// TestEventRateLimit: kube's EventRateLimit, configured through
// --admission-control-config-file, answers an Event beyond the server's
// burst with kube's 429; other kinds are not counted.
func TestEventRateLimit(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	limits := filepath.Join(dir, "eventratelimit.yaml")
	config := filepath.Join(dir, "admission.yaml")
	if err := os.WriteFile(limits, []byte("apiVersion: eventratelimit.admission.k8s.io/v1alpha1\nkind: Configuration\nlimits:\n- type: Server\n  qps: 1\n  burst: 3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(config, []byte("apiVersion: apiserver.config.k8s.io/v1\nkind: AdmissionConfiguration\nplugins:\n- name: EventRateLimit\n  path: "+limits+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	k := startKapi(t, func(c *server.Config) {
		c.EnableAdmissionPlugins, c.AdmissionControlConfigFile = []string{"EventRateLimit"}, config
	})
	ctx := context.Background()
	events := k.client.CoreV1().Events("default")
	var refused error
	for i := range 100 { // the bucket refills at 1/s: creates one after another outrun it
		_, err := events.Create(ctx, &corev1.Event{ObjectMeta: metav1.ObjectMeta{GenerateName: "e-"},
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "p"}, Reason: "Test", Message: strconv.Itoa(i)}, metav1.CreateOptions{})
		if err != nil {
			refused = err
			break
		}
	}
	if !apierrors.IsTooManyRequests(refused) || refused.Error() != "Too many requests: limit reached on type Server for key " {
		t.Fatalf("events beyond the burst: %v", refused)
	}
	if _, err := k.client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "not-an-event"}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("a ConfigMap while events are refused: %v", err)
	}
}
