package core

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/registry/fieldtest"
)

// errorLines are the errors as kube-apiserver's Status causes read, one
// a line.

func list(kv ...string) corev1.ResourceList {
	l := corev1.ResourceList{}
	for i := 0; i < len(kv); i += 2 {
		l[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return l
}

// A pod's container, init container and pod-level resources are checked
// on create as kube-apiserver 1.37 does, with its messages, field paths
// and (map keys in name order, limits first) order.
func TestPodResourceValidation(t *testing.T) {
	const c0 = "spec.containers[0].resources"
	dnsMsg := validation.IsDNS1123Label("Bad_")[0]
	always := corev1.ContainerRestartPolicyAlways
	cases := []struct {
		name string
		mut  func(*corev1.Pod)
		want []string
	}{
		{"requests above limits", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources = corev1.ResourceRequirements{Requests: list("cpu", "2", "memory", "1Gi"), Limits: list("cpu", "1", "memory", "512Mi")}
		}, []string{
			c0 + `.requests: Invalid value: "2": must be less than or equal to cpu limit of 1`,
			c0 + `.requests: Invalid value: "1Gi": must be less than or equal to memory limit of 512Mi`,
		}},
		{"init container", func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "busybox",
				Resources: corev1.ResourceRequirements{Requests: list("cpu", "500m"), Limits: list("cpu", "100m")}}}
		}, []string{`spec.initContainers[0].resources.requests: Invalid value: "500m": must be less than or equal to cpu limit of 100m`}},
		{"negative", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources = corev1.ResourceRequirements{Requests: list("cpu", "-1", "memory", "-5Mi")}
		}, []string{
			c0 + `.requests[cpu]: Invalid value: "-1": must be greater than or equal to 0`,
			c0 + `.requests[memory]: Invalid value: "-5Mi": must be greater than or equal to 0`,
		}},
		{"unknown unqualified name", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources = corev1.ResourceRequirements{Requests: list("foo", "1")}
		}, []string{
			c0 + `.requests[foo]: Invalid value: "foo": must be a standard resource type or fully qualified`,
			c0 + `.requests[foo]: Invalid value: "foo": must be a standard resource for containers`,
		}},
		{"quota resources", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources = corev1.ResourceRequirements{Requests: list("pods", "1500m", "limits.hugepages-2Mi", "2Mi")}
		}, []string{
			c0 + `.requests[limits.hugepages-2Mi]: Invalid value: "limits.hugepages-2Mi": must be a standard resource type or fully qualified`,
			c0 + `.requests[limits.hugepages-2Mi]: Invalid value: "limits.hugepages-2Mi": must be a standard resource for containers`,
			c0 + `.requests[pods]: Invalid value: "pods": must be a standard resource for containers`,
			c0 + `.requests[pods]: Invalid value: "1500m": must be an integer`,
		}},
		{"fractional extended resource", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources = corev1.ResourceRequirements{Limits: list("example.com/gpu", "500m")}
		}, []string{
			c0 + `.limits[example.com/gpu]: Invalid value: "500m": must be an integer`,
			c0 + `.requests[example.com/gpu]: Invalid value: "500m": must be an integer`,
		}},
		{"extended resource without limit", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources = corev1.ResourceRequirements{Requests: list("example.com/gpu", "1")}
		}, []string{c0 + `.limits: Required value: Limit must be set for non overcommitable resources`}},
		{"extended resource request below limit", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources = corev1.ResourceRequirements{Requests: list("example.com/gpu", "1"), Limits: list("example.com/gpu", "2")}
		}, []string{c0 + `.requests: Invalid value: "1": must be equal to example.com/gpu limit of 2`}},
		{"bad extended name", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources = corev1.ResourceRequirements{Limits: list("requests.example.com/gpu", "1", "cpu", "1")}
		}, []string{
			c0 + `.limits[requests.example.com/gpu]: Invalid value: "requests.example.com/gpu": doesn't follow extended resource name standard`,
			c0 + `.requests[requests.example.com/gpu]: Invalid value: "requests.example.com/gpu": doesn't follow extended resource name standard`,
		}},
		{"huge pages alone", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources = corev1.ResourceRequirements{Limits: list("hugepages-2Mi", "4Mi")}
		}, []string{c0 + `: Forbidden: HugePages require cpu or memory`}},
		{"huge pages not whole pages", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources = corev1.ResourceRequirements{Limits: list("hugepages-2Mi", "3Mi", "memory", "1Gi")}
		}, []string{
			c0 + `.limits[hugepages-2Mi]: Invalid value: "3Mi": 3Mi is not positive integer multiple of hugepages-2Mi`,
			c0 + `.requests[hugepages-2Mi]: Invalid value: "3Mi": 3Mi is not positive integer multiple of hugepages-2Mi`,
		}},
		{"claims of no pod claim", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources.Claims = []corev1.ResourceClaim{{Name: "gpu"}, {Name: ""}}
		}, []string{
			c0 + `.claims[0]: Not found: "gpu": must be one of the names in pod.spec.resourceClaims which is empty`,
			c0 + `.claims[1]: Required value`,
		}},
		{"claims", func(p *corev1.Pod) {
			p.Spec.ResourceClaims = []corev1.PodResourceClaim{{Name: "b"}, {Name: "a"}}
			p.Spec.Containers[0].Resources.Claims = []corev1.ResourceClaim{{Name: "a"}, {Name: "a"}, {Name: "c"},
				{Name: "b", Request: "r1"}, {Name: "b", Request: "r1"}, {Name: "b"}}
			p.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "busybox",
				Resources: corev1.ResourceRequirements{Claims: []corev1.ResourceClaim{{Name: "a", Request: "Bad_"}}}}}
		}, []string{
			c0 + `.claims[1]: Duplicate value: "a"`,
			c0 + `.claims[2]: Not found: "c": must be one of the names in pod.spec.resourceClaims: a, b`,
			c0 + `.claims[4]: Duplicate value: "b/r1"`,
			c0 + `.claims[5]: Duplicate value: "b"`,
			`spec.initContainers[0].resources.claims[0].request: Invalid value: "Bad_": ` + dnsMsg,
		}},
		{"pod level requests above limits", func(p *corev1.Pod) {
			p.Spec.Resources = &corev1.ResourceRequirements{Requests: list("cpu", "2"), Limits: list("cpu", "1")}
		}, []string{`spec.resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1`}},
		{"pod level unsupported resource and claims", func(p *corev1.Pod) {
			p.Spec.Resources = &corev1.ResourceRequirements{Requests: list("ephemeral-storage", "1Gi", "foo", "1"),
				Claims: []corev1.ResourceClaim{{Name: "gpu"}}}
		}, []string{
			`spec.resources.claims: Forbidden: claims may not be set for Resources at pod-level`,
			`spec.resources.requests[ephemeral-storage]: Unsupported value: "ephemeral-storage": supported values: "cpu", "hugepages-", "memory"`,
			`spec.resources.requests[foo]: Invalid value: "foo": must be a standard resource type or fully qualified`,
			`spec.resources.claims[0]: Not found: "gpu": must be one of the names in pod.spec.resourceClaims which is empty`,
		}},
		{"pod level windows", func(p *corev1.Pod) {
			p.Spec.OS = &corev1.PodOS{Name: corev1.Windows}
			p.Spec.Resources = &corev1.ResourceRequirements{Requests: list("cpu", "2"), Limits: list("cpu", "1")}
		}, []string{`spec.resources: Forbidden: may not be set for a windows pod`}},
		{"pod level below containers", func(p *corev1.Pod) {
			p.Spec.Resources = &corev1.ResourceRequirements{Requests: list("cpu", "1", "memory", "1Gi"),
				Limits: list("cpu", "2", "memory", "1Gi", "hugepages-2Mi", "2Mi")}
			p.Spec.Containers[0].Resources = corev1.ResourceRequirements{Requests: list("cpu", "1500m"),
				Limits: list("cpu", "3", "hugepages-2Mi", "4Mi")}
			p.Spec.InitContainers = []corev1.Container{{Name: "side", Image: "busybox", RestartPolicy: &always,
				Resources: corev1.ResourceRequirements{Requests: list("cpu", "500m")}}}
		}, []string{
			`spec.resources.requests[cpu]: Invalid value: "1": must be greater than or equal to aggregate container requests of 2`,
			`spec.resources.limits[hugepages-2Mi]: Invalid value: "2Mi": must be greater than or equal to aggregate container limits of 4Mi`,
			`spec.resources.containers[0][cpu].limits: Invalid value: "3": must be less than or equal to pod limits of 2`,
			`spec.resources.containers[0][hugepages-2Mi].limits: Invalid value: "4Mi": must be less than or equal to pod limits of 2Mi`,
		}},
		{"overhead", func(p *corev1.Pod) {
			p.Spec.Overhead = list("cpu", "-100m", "pods", "1")
		}, []string{
			`spec.overhead.limits[cpu]: Invalid value: "-100m": must be greater than or equal to 0`,
			`spec.overhead.limits[pods]: Invalid value: "pods": must be a standard resource for containers`,
		}},
		{"valid", func(p *corev1.Pod) {
			p.Spec.ResourceClaims = []corev1.PodResourceClaim{{Name: "gpu"}}
			p.Spec.Resources = &corev1.ResourceRequirements{Limits: list("cpu", "2", "memory", "2Gi", "hugepages-1Gi", "2Gi")}
			p.Spec.Containers[0].Resources = corev1.ResourceRequirements{Requests: list("cpu", "1", "memory", "1Gi", "ephemeral-storage", "1Gi"),
				Limits: list("cpu", "2", "example.com/gpu", "1", "hugepages-1Gi", "2Gi", "kubernetes.io/foo", "500m"),
				Claims: []corev1.ResourceClaim{{Name: "gpu", Request: "one"}, {Name: "gpu", Request: "two"}}}
		}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := fieldtest.Lines(create(podHooks, pod(c.mut)))
			if want := strings.Join(c.want, "\n"); got != want {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
}

// Ephemeral containers may not have resources; like kube, their
// resources are checked all the same.
func TestEphemeralContainerResources(t *testing.T) {
	p := pod(nil)
	podHooks.PrepareCreate(p)
	p.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
		Name: "debug", Image: "busybox", ImagePullPolicy: corev1.PullIfNotPresent, TerminationMessagePolicy: corev1.TerminationMessageReadFile,
		Resources: corev1.ResourceRequirements{Requests: list("cpu", "2"), Limits: list("cpu", "1")}}}}
	want := `spec.ephemeralContainers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1` + "\n" +
		`spec.ephemeralContainers[0].resources: Forbidden: cannot be set for an Ephemeral Container`
	if got := fieldtest.Lines(ValidatePodSpec(&p.Spec, field.NewPath("spec"))); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// Workload templates get the same checks, under spec.template.spec.
func TestTemplateResourceValidation(t *testing.T) {
	d := &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: pod(func(p *corev1.Pod) {
		p.Spec.Containers[0].Resources = corev1.ResourceRequirements{Requests: list("cpu", "2"), Limits: list("cpu", "1")}
	}).Spec}}}
	DefaultPodSpec(&d.Spec.Template.Spec)
	want := `spec.template.spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1`
	if got := fieldtest.Lines(ValidateWorkloadTemplate(&d.Spec.Template, nil, field.NewPath("spec", "template"), "ReplicaSet")); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// An update that leaves a stored pod's resources as they were does not
// check them again: a pod an older kapi stored with requests above its
// limits still takes a label (or its finalizers' removal, or its
// kubelet's status). A new pod with them is refused.
func TestPodUpdateKeepsStoredResources(t *testing.T) {
	old := pod(nil)
	podHooks.PrepareCreate(old)
	old.Spec.Containers[0].Resources = corev1.ResourceRequirements{Requests: list("cpu", "2"), Limits: list("cpu", "1")}
	p := old.DeepCopy()
	p.Labels = map[string]string{"a": "b"}
	if got := fieldtest.Lines(update(podHooks, p, old)); got != "" {
		t.Errorf("a label on a stored pod: %s", got)
	}
	want := `spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1`
	if got := fieldtest.Lines(podHooks.Validate(old.DeepCopy(), nil)); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// A resize is checked with the full resource validation, and, as kube's
// GetValidationOptionsFromPodSpecAndMeta, keeps huge pages the old pod
// had that are not whole pages; a new pod may not have them.
func TestResizeResourceValidation(t *testing.T) {
	stored := pod(func(p *corev1.Pod) {
		p.Spec.Containers[0].Resources = corev1.ResourceRequirements{Limits: list("cpu", "1", "memory", "1Gi", "hugepages-2Mi", "3Mi")}
	})
	podHooks.PrepareCreate(stored)
	wantNew := `spec.containers[0].resources.limits[hugepages-2Mi]: Invalid value: "3Mi": 3Mi is not positive integer multiple of hugepages-2Mi` + "\n" +
		`spec.containers[0].resources.requests[hugepages-2Mi]: Invalid value: "3Mi": 3Mi is not positive integer multiple of hugepages-2Mi`
	if got := fieldtest.Lines(ValidatePodSpec(&stored.Spec, field.NewPath("spec"))); got != wantNew {
		t.Errorf("new pod: got\n%s\nwant\n%s", got, wantNew)
	}

	in := stored.DeepCopy()
	in.Spec.Containers[0].Resources.Limits[corev1.ResourceCPU] = resource.MustParse("2")
	in.Spec.Containers[0].Resources.Requests[corev1.ResourceCPU] = resource.MustParse("2")
	out := resizeWrite(in, stored.DeepCopy())
	if got := fieldtest.Lines(validatePodResize(out, stored)); got != "" {
		t.Errorf("resize keeping huge pages: got\n%s", got)
	}

	in = stored.DeepCopy()
	in.Spec.Containers[0].Resources.Requests[corev1.ResourceCPU] = resource.MustParse("-1")
	out = resizeWrite(in, stored.DeepCopy())
	want := `spec.containers[0].resources.requests[cpu]: Invalid value: "-1": must be greater than or equal to 0`
	if got := fieldtest.Lines(validatePodResize(out, stored)); !strings.HasPrefix(got, want+"\n") {
		t.Errorf("resize to a negative request: got\n%s\nwant first\n%s", got, want)
	}
}
