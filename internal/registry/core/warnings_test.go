package core

import (
	"context"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/request"
)

// warningPod has one of each thing kube warns about in a pod.
func warningPod() *corev1.Pod {
	grace := int64(-5)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web.1", Annotations: map[string]string{
			"scheduler.alpha.kubernetes.io/critical-pod":     "",
			corev1.SeccompPodAnnotationKey:                   "runtime/default",
			corev1.SeccompContainerAnnotationKeyPrefix + "c": "runtime/default",
		}},
		Spec: corev1.PodSpec{
			NodeSelector: map[string]string{"beta.kubernetes.io/os": "linux", "kubernetes.io/os": "linux"},
			Affinity: &corev1.Affinity{
				NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
					NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{
						{Key: "failure-domain.beta.kubernetes.io/zone", Operator: corev1.NodeSelectorOpExists}}}}}},
				PodAntiAffinity: &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{TopologyKey: "x"}}},
			},
			TopologySpreadConstraints: []corev1.TopologySpreadConstraint{{TopologyKey: "beta.kubernetes.io/instance-type", MaxSkew: 1}},
			Volumes: []corev1.Volume{
				{Name: "repo", VolumeSource: corev1.VolumeSource{GitRepo: &corev1.GitRepoVolumeSource{Repository: "r"}}},
				{Name: "token", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
					{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token"}},
					{ConfigMap: &corev1.ConfigMapProjection{Items: []corev1.KeyToPath{{Key: "k", Path: "token"}}}},
				}}}},
			},
			ImagePullSecrets:              []corev1.LocalObjectReference{{Name: "s"}, {Name: "s"}},
			HostAliases:                   []corev1.HostAlias{{IP: "10.0.0.1"}, {IP: "10.0.0.1"}},
			TerminationGracePeriodSeconds: &grace,
			Containers: []corev1.Container{{
				Name: "c", Image: "nginx",
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("100m")}},
				Env:       []corev1.EnvVar{{Name: "A", Value: "1"}, {Name: "A", Value: "2"}, {Name: "B", Value: "1"}, {Name: "B", Value: "$(B):2"}},
				Ports:     []corev1.ContainerPort{{ContainerPort: 80, Protocol: "TCP"}, {ContainerPort: 80, Protocol: "TCP"}},
			}},
		},
	}
}

// TestPodWarnings: a pod's warnings, in kube's words and order, on create
// only.
func TestPodWarnings(t *testing.T) {
	want := []string{
		`metadata.name: this is used in the Pod's hostname, which can result in surprising behavior; a DNS label is recommended: [must not contain dots]`,
		`spec.nodeSelector[beta.kubernetes.io/os]: deprecated since v1.14; use "kubernetes.io/os" instead`,
		`spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].key: failure-domain.beta.kubernetes.io/zone is deprecated since v1.17; use "topology.kubernetes.io/zone" instead`,
		`spec.topologySpreadConstraints[0].topologyKey: beta.kubernetes.io/instance-type is deprecated since v1.17; use "node.kubernetes.io/instance-type" instead`,
		`spec.topologySpreadConstraints[0].labelSelector: a null labelSelector results in matching no pod`,
		`metadata.annotations[scheduler.alpha.kubernetes.io/critical-pod]: non-functional in v1.16+; use the "priorityClassName" field instead`,
		`spec.volumes[0].gitRepo: deprecated in v1.11`,
		`spec.volumes[1].projected.sources.configMap[0]: has duplicated path with ServiceAccountToken "token"`,
		`spec.hostAliases[1].ip: duplicate ip "10.0.0.1"`,
		`spec.imagePullSecrets[1].name: duplicate name "s"`,
		`metadata.annotations[seccomp.security.alpha.kubernetes.io/pod]: non-functional in v1.27+; use the "seccompProfile" field instead`,
		`metadata.annotations[container.seccomp.security.alpha.kubernetes.io/c]: non-functional in v1.27+; use the "seccompProfile" field instead`,
		`spec.containers[0].resources.requests[memory]: fractional byte value "100m" is invalid, must be an integer`,
		`spec.containers[0].env[1]: hides previous definition of "A", which may be dropped when using apply`,
		`spec.containers[0].ports[1]: duplicate port definition with spec.containers[0].ports[0]`,
		`spec.terminationGracePeriodSeconds: must be >= 0; negative values are invalid and will be treated as 1`,
		`spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].labelSelector: a null labelSelector results in matching no pod`,
	}
	pod := warningPod()
	if got := podWarnings(pod, nil); !slices.Equal(got, want) {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := podWarnings(pod, pod.DeepCopy()); got != nil {
		t.Errorf("an update warned: %q", got)
	}
	// In a template, the paths start at the template and the name is not
	// the template's to warn about.
	tpl := &corev1.PodTemplateSpec{ObjectMeta: pod.ObjectMeta, Spec: pod.Spec}
	got := TemplateWarnings(field.NewPath("spec", "template"), tpl)
	if len(got) != len(want)-1 || got[0] != "spec.template."+want[1] || got[5] != "spec.template."+want[6] {
		t.Errorf("template warnings: %q", got)
	}
	rc := &corev1.ReplicationController{ObjectMeta: metav1.ObjectMeta{Name: "web.1", Generation: 1}}
	if got := WorkloadWarnings(rc, nil, rc.Name, func() []string { return []string{"t"} }); len(got) != 2 ||
		!strings.HasPrefix(got[0], "metadata.name: this is used in Pod names and hostnames") || got[1] != "t" {
		t.Errorf("a new workload's warnings: %q", got)
	}
	if got := WorkloadWarnings(rc, rc.DeepCopy(), rc.Name, func() []string { return []string{"t"} }); got != nil {
		t.Errorf("warnings of an update that left the generation: %q", got)
	}
}

// TestAppArmorFromAnnotations: a new pod's AppArmor annotations become its
// containers' fields, with kube's warning; one equal to the pod's
// profile, or already a field, stays as it is.
func TestAppArmorFromAnnotations(t *testing.T) {
	var warned []string
	ctx := request.WithWarnings(context.Background(), func(text string) { warned = append(warned, text) })
	key := corev1.DeprecatedAppArmorBetaContainerAnnotationKeyPrefix
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{
			key + "a": "localhost/prof", key + "b": "runtime/default", key + "c": "unconfined", key + "d": "bogus"}},
		Spec: corev1.PodSpec{
			SecurityContext: &corev1.PodSecurityContext{AppArmorProfile: &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeRuntimeDefault}},
			Containers: []corev1.Container{{Name: "a"}, {Name: "b"}, {Name: "d"},
				{Name: "c", SecurityContext: &corev1.SecurityContext{AppArmorProfile: &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeRuntimeDefault}}}},
		},
	}
	appArmorFromAnnotations(ctx, pod)
	c := pod.Spec.Containers
	if p := c[0].SecurityContext.AppArmorProfile; p.Type != corev1.AppArmorProfileTypeLocalhost || *p.LocalhostProfile != "prof" {
		t.Errorf("a: %+v", p)
	}
	if c[1].SecurityContext != nil || c[2].SecurityContext != nil || c[3].SecurityContext.AppArmorProfile.Type != corev1.AppArmorProfileTypeRuntimeDefault {
		t.Errorf("b, d, c: %+v %+v %+v", c[1].SecurityContext, c[2].SecurityContext, c[3].SecurityContext)
	}
	want := []string{
		`metadata.annotations[container.apparmor.security.beta.kubernetes.io/a]: deprecated since v1.30; use the "appArmorProfile" field instead`,
		`metadata.annotations[container.apparmor.security.beta.kubernetes.io/d]: deprecated since v1.30; use the "appArmorProfile" field instead`,
	}
	if !slices.Equal(warned, want) {
		t.Errorf("warnings %q", warned)
	}
}

// TestKindWarnings: the other core kinds' warnings.
func TestKindWarnings(t *testing.T) {
	pc := corev1.ServiceTrafficDistributionPreferClose
	for _, c := range []struct {
		name string
		got  []string
		want []string
	}{
		{"headless service", serviceWarnings(&corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{corev1.DeprecatedAnnotationTopologyAwareHints: "auto"}},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: "None", LoadBalancerIP: "010.0.0.1",
				ExternalName: "x.example.com", TrafficDistribution: &pc, SessionAffinity: corev1.ServiceAffinityNone}}, nil), []string{
			"annotation service.kubernetes.io/topology-aware-hints is deprecated, please use service.kubernetes.io/topology-mode instead",
			"spec.loadBalancerIP is ignored for headless services",
			`spec.loadBalancerIP: non-standard IP address "010.0.0.1" is invalid: use "10.0.0.1"`,
			`spec.externalName is ignored when spec.type is not "ExternalName"`,
			`spec.trafficDistribution: "PreferClose" is deprecated; use "PreferSameZone"`,
		}},
		{"service IPs", serviceWarnings(&corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP,
			ClusterIP: "fd00::0:1", ClusterIPs: []string{"fd00::0:1"}, LoadBalancerSourceRanges: []string{"10.0.0.1/8"}}}, nil), []string{
			`spec.clusterIPs[0]: IPv6 address "fd00::0:1" should be in RFC 5952 canonical format ("fd00::1")`,
			`spec.loadBalancerSourceRanges[0]: CIDR value "10.0.0.1/8" is ambiguous in this context (should be "10.0.0.0/8" or "10.0.0.1/32"?)`,
		}},
		{"endpoints", endpointsWarnings(&corev1.Endpoints{Subsets: []corev1.EndpointSubset{{
			NotReadyAddresses: []corev1.EndpointAddress{{IP: "::ffff:10.0.0.1"}}}}}, nil), []string{
			`subsets[0].notReadyAddresses[0].ip: non-standard IP address "::ffff:10.0.0.1" is invalid: use "10.0.0.1"`,
		}},
		{"managed endpoints", endpointsWarnings(&corev1.Endpoints{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"endpoints.kubernetes.io/managed-by": "endpoint-controller"}},
			Subsets:    []corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{{IP: "::ffff:10.0.0.1"}}}}}, nil), nil},
		{"node", nodeWarnings(&corev1.Node{Spec: corev1.NodeSpec{DoNotUseExternalID: "x"}}, nil), []string{
			"spec.externalID: this field is deprecated, and is unused by Kubernetes"}},
		{"pv", persistentVolumeWarnings(&corev1.PersistentVolume{Spec: corev1.PersistentVolumeSpec{
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRecycle,
			PersistentVolumeSource:        corev1.PersistentVolumeSource{RBD: &corev1.RBDPersistentVolumeSource{}}}}, nil), []string{
			"spec.persistentVolumeReclaimPolicy: The Recycle reclaim policy is deprecated. Instead, the recommended approach is to use dynamic provisioning.",
			"spec.rbd: deprecated in v1.28, non-functional in v1.31+",
		}},
		{"pvc", persistentVolumeClaimWarnings(&corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{corev1.BetaStorageClassAnnotation: "fast"}},
			Spec: corev1.PersistentVolumeClaimSpec{Resources: corev1.VolumeResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1500m")}}}}, nil), []string{
			`metadata.annotations[volume.beta.kubernetes.io/storage-class]: deprecated since v1.8; use "storageClassName" attribute instead`,
			`spec.resources.requests[storage]: fractional byte value "1500m" is invalid, must be an integer`,
		}},
		{"tls secret", secretWarnings(&corev1.Secret{Type: corev1.SecretTypeTLS, Data: map[string][]byte{"tls.crt": []byte("x"), "tls.key": []byte("y")}}, nil),
			[]string{"tls: failed to find any PEM data in certificate input"}},
		{"service account", serviceAccountWarnings(&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{
			Annotations: map[string]string{"kubernetes.io/enforce-mountable-secrets": "true"}}}, &corev1.ServiceAccount{}), []string{
			"metadata.annotations[kubernetes.io/enforce-mountable-secrets]: deprecated in v1.32+; prefer separate namespaces to isolate access to mounted secrets"}},
		{"service account that had it", serviceAccountWarnings(&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{
			Annotations: map[string]string{"kubernetes.io/enforce-mountable-secrets": "true"}}}, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{
			Annotations: map[string]string{"kubernetes.io/enforce-mountable-secrets": "true"}}}), nil},
	} {
		if !slices.Equal(c.got, c.want) {
			t.Errorf("%s: warnings\n%s\nwant\n%s", c.name, strings.Join(c.got, "\n"), strings.Join(c.want, "\n"))
		}
	}
}
