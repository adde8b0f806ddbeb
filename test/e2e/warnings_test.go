package e2e

import (
	"context"
	"slices"
	"strings"
	"testing"

	discoveryv1 "k8s.io/api/discovery/v1"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// TestWarnings: what kube-apiserver warns about in an object it accepts
// reaches the client as Warning headers: the real kubectl prints them,
// client-go hands them to its handler. A workload's template is warned
// about when it is created and when its generation moves, not on every
// write; a CRD's schema only for what an update brings.
func TestWarnings(t *testing.T) {
	t.Parallel()
	k := startKapi(t, withoutLoops(rootCAPublisher))
	ctx := context.Background()
	ns := gcNamespace(t, k, "warn")

	// kubectl apply prints each warning on its own line.
	out := k.mustKubectl(`apiVersion: v1
kind: Pod
metadata:
  name: web.1
  namespace: warn
spec:
  nodeSelector:
    beta.kubernetes.io/arch: amd64
  containers:
  - name: c
    image: nginx
    resources:
      requests:
        memory: 100m
`, "apply", "-f", "-")
	for _, want := range []string{
		`Warning: metadata.name: this is used in the Pod's hostname, which can result in surprising behavior; a DNS label is recommended: [must not contain dots]`,
		`Warning: spec.nodeSelector[beta.kubernetes.io/arch]: deprecated since v1.14; use "kubernetes.io/arch" instead`,
		`Warning: spec.containers[0].resources.requests[memory]: fractional byte value "100m" is invalid, must be an integer`,
		`pod/web.1 created`,
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("kubectl apply printed\n%s\nwithout %q", out, want)
		}
	}

	warnings := &warningCollector{}
	cfg := rest.CopyConfig(k.rest)
	cfg.WarningHandler = warnings
	c := kubernetes.NewForConfigOrDie(cfg)
	seen := func(what string, want ...string) {
		t.Helper()
		if got := warnings.take(); !slices.Equal(got, want) {
			t.Errorf("%s: warnings %q, want %q", what, got, want)
		}
	}

	// A Deployment: its name and template on create; the template again
	// when its generation moves (replicas), not on a label's change.
	labels := map[string]string{"app": "web"}
	dup := []corev1.EnvVar{{Name: "A", Value: "1"}, {Name: "A", Value: "2"}}
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web.v1"}, Spec: appsv1.DeploymentSpec{
		Selector: &metav1.LabelSelector{MatchLabels: labels},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx", Env: dup}}}}}}
	d, err := c.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	envWarning := `spec.template.spec.containers[0].env[1]: hides previous definition of "A", which may be dropped when using apply`
	seen("deployment create",
		`metadata.name: this is used in Pod names and hostnames, which can result in surprising behavior; a DNS label is recommended: [must not contain dots]`,
		envWarning)
	if _, err := c.AppsV1().Deployments(ns).Patch(ctx, d.Name, types.MergePatchType, []byte(`{"metadata":{"labels":{"x":"y"}}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	seen("deployment label change")
	if _, err := c.AppsV1().Deployments(ns).Patch(ctx, d.Name, types.MergePatchType, []byte(`{"spec":{"replicas":3}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	seen("deployment scaled", envWarning)
	// Through the scale subresource too, which writes the Deployment.
	if _, err := c.AppsV1().Deployments(ns).UpdateScale(ctx, d.Name, &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: d.Name},
		Spec: autoscalingv1.ScaleSpec{Replicas: 2}}, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	seen("deployment scaled through scale", envWarning)
	// The status subresource gives none.
	if _, err := c.AppsV1().Deployments(ns).Patch(ctx, d.Name, types.MergePatchType, []byte(`{"status":{"replicas":1}}`), metav1.PatchOptions{}, "status"); err != nil {
		t.Fatal(err)
	}
	seen("deployment status")

	// Endpoints and EndpointSlices (whose hooks kapi makes at start-up)
	// warn about addresses in a non-standard form.
	ep := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: "ep"}, Subsets: []corev1.EndpointSubset{{
		Addresses: []corev1.EndpointAddress{{IP: "fd00::0:1"}}, Ports: []corev1.EndpointPort{{Port: 80}}}}}
	if _, err := c.CoreV1().Endpoints(ns).Create(ctx, ep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	seen("endpoints", "v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice",
		`subsets[0].addresses[0].ip: IPv6 address "fd00::0:1" should be in RFC 5952 canonical format ("fd00::1")`)
	// An EndpointSlice's IPv6 addresses must be canonical since kube 1.36
	// (StrictIPCIDRValidation): the same address is a 422 there, with no
	// warning; a new FQDN slice is warned about.
	slice := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: "eps"}, AddressType: discoveryv1.AddressTypeIPv6,
		Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"fd00::0:1"}}}}
	if _, err := c.DiscoveryV1().EndpointSlices(ns).Create(ctx, slice, metav1.CreateOptions{}); !apierrors.IsInvalid(err) ||
		!strings.Contains(err.Error(), `endpoints[0].addresses[0]: Invalid value: "fd00::0:1": must be in canonical form ("fd00::1")`) {
		t.Fatalf("a slice's non-canonical IPv6 address: %v", err)
	}
	seen("endpoint slice refused")
	slice = &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: "eps"}, AddressType: discoveryv1.AddressTypeFQDN,
		Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"web.example.com"}}}}
	if _, err := c.DiscoveryV1().EndpointSlices(ns).Create(ctx, slice, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	seen("endpoint slice", "spec.addressType: FQDN endpoints are deprecated")

	// A dry run warns as a write does; an invalid object gets its 422 and
	// no warnings.
	ing := `{"apiVersion":"networking.k8s.io/v1","kind":"Ingress","metadata":{"name":"i","annotations":{"kubernetes.io/ingress.class":"nginx"}},` +
		`"spec":{"defaultBackend":{"service":{"name":"s","port":{"number":80}}}}}`
	if err := c.NetworkingV1().RESTClient().Post().Namespace(ns).Resource("ingresses").Param("dryRun", "All").Body([]byte(ing)).Do(ctx).Error(); err != nil {
		t.Fatal(err)
	}
	seen("ingress dry run", `annotation "kubernetes.io/ingress.class" is deprecated, please use 'spec.ingressClassName' instead`)
	bad := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "bad"}, Spec: corev1.ServiceSpec{ClusterIP: "None", LoadBalancerIP: "10.0.0.1",
		Ports: []corev1.ServicePort{{Port: 0}}}}
	if _, err := c.CoreV1().Services(ns).Create(ctx, bad, metav1.CreateOptions{}); !apierrors.IsInvalid(err) {
		t.Fatalf("a service with port 0: %v", err)
	}
	seen("invalid service")
	// A status write gives its own status strategy's warnings: a load
	// balancer's IPv6 address not in canonical form.
	lb, err := c.CoreV1().Services(ns).Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "lb"}, Spec: corev1.ServiceSpec{
		Type: corev1.ServiceTypeLoadBalancer, Ports: []corev1.ServicePort{{Port: 80}}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	seen("load balancer service")
	lb.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "fd00::0:1"}}
	if _, err := c.CoreV1().Services(ns).UpdateStatus(ctx, lb, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	seen("load balancer status", `status.loadBalancer.ingress[0]: IPv6 address "fd00::0:1" should be in RFC 5952 canonical format ("fd00::1")`)

	// A CRD with a format the server does not check: warned on create, not
	// again on an update that keeps it.
	crd := widgetCRD()
	crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"].Properties["note"] = apiextensionsv1.JSONSchemaProps{Type: "string", Format: "colour"}
	crdClient := apiextensionsclient.NewForConfigOrDie(cfg)
	created, err := crdClient.ApiextensionsV1().CustomResourceDefinitions().Create(ctx, crd, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	seen("crd create", `unrecognized format "colour"`)
	if _, err := crdClient.ApiextensionsV1().CustomResourceDefinitions().Patch(ctx, created.Name, types.MergePatchType,
		[]byte(`{"metadata":{"labels":{"x":"y"}}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	seen("crd update")

	// A finalizer without a domain: refused on a built-in object, as
	// kube's core metadata validation does, and only warned about on a
	// custom resource.
	_, err = c.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "f", Finalizers: []string{"hold"}}}, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), `metadata.finalizers[0]: Invalid value: "hold": name is neither a standard finalizer name nor is it fully qualified`) {
		t.Errorf("a config map with finalizer hold: %v", err)
	}
	seen("invalid config map")
	if _, err := c.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "f",
		Finalizers: []string{"orphan", "example.com/hold"}}}, metav1.CreateOptions{}); err != nil {
		t.Errorf("a config map with kube's and a qualified finalizer: %v", err)
	}
	k.waitEstablished(t, created.Name)
	w := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "example.com/v1", "kind": "Widget",
		"metadata": map[string]any{"name": "w", "finalizers": []any{"hold", "example.com", "example.com/hold"}}}}
	if _, err := dynamic.NewForConfigOrDie(cfg).Resource(crGVR(created, "v1")).Namespace(ns).Create(ctx, w, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	seen("widget with finalizers",
		`metadata.finalizers: "example.com": prefer a domain-qualified finalizer name including a path (/) to avoid accidental conflicts with other finalizer writers`,
		`metadata.finalizers: "hold": prefer a domain-qualified finalizer name to avoid accidental conflicts with other finalizer writers`)
	if _, err := dynamic.NewForConfigOrDie(cfg).Resource(crGVR(created, "v1")).Namespace(ns).Patch(ctx, "w", types.MergePatchType,
		[]byte(`{"metadata":{"finalizers":["hold","more"]}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	seen("widget with a finalizer added",
		`metadata.finalizers: "more": prefer a domain-qualified finalizer name to avoid accidental conflicts with other finalizer writers`)
	if _, err := dynamic.NewForConfigOrDie(cfg).Resource(crGVR(created, "v1")).Namespace(ns).Patch(ctx, "w", types.MergePatchType,
		[]byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CoreV1().ConfigMaps(ns).Patch(ctx, "f", types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
}
