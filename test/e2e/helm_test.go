package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// helmChart is the chart TestHelm installs: a CRD in crds/ (installed
// first, and kept on uninstall, as helm does), a custom resource of it, a
// ConfigMap and a Service (left out with service=false), a Deployment
// (only with deployment=true: kapi runs no deployment controller, so a
// --wait for it would never end, as on a cluster without
// kube-controller-manager) and a pre-install hook.
var helmChart = map[string]string{
	"Chart.yaml": `apiVersion: v2
name: demo
version: 0.1.0
appVersion: "1.0"
`,
	"values.yaml": `greeting: hello
service: true
deployment: false
`,
	"crds/gadgets.yaml": `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.helm.example.com
spec:
  group: helm.example.com
  names: {kind: Gadget, plural: gadgets, singular: gadget, listKind: GadgetList}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer}
`,
	"templates/gadget.yaml": `apiVersion: helm.example.com/v1
kind: Gadget
metadata:
  name: {{ .Release.Name }}-gadget
spec:
  size: 3
`,
	"templates/configmap.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-config
  labels: {app: {{ .Release.Name }}}
data:
  greeting: {{ .Values.greeting | quote }}
`,
	"templates/service.yaml": `{{- if .Values.service }}
apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}-svc
spec:
  selector: {app: {{ .Release.Name }}}
  ports:
  - port: 80
    targetPort: 8080
{{- end }}
`,
	"templates/deployment.yaml": `{{- if .Values.deployment }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-web
spec:
  replicas: 1
  selector:
    matchLabels: {app: {{ .Release.Name }}}
  template:
    metadata:
      labels: {app: {{ .Release.Name }}}
    spec:
      containers:
      - name: web
        image: registry.example/web:1
        env:
        - name: GREETING
          valueFrom:
            configMapKeyRef: {name: {{ .Release.Name }}-config, key: greeting}
{{- end }}
`,
	"templates/hook.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-pre-install
  annotations:
    "helm.sh/hook": pre-install
    "helm.sh/hook-delete-policy": before-hook-creation
data:
  at: install
`,
}

// helmBinary builds helm (test/helm) into bins.helm once, for the tests
// that use it: a large binary the other tests need not wait for.
func helmBinary(t *testing.T) string {
	t.Helper()
	helmBuild.Do(func() { helmBuild.err = goBuild("kapi/test/helm", bins.helm) })
	if helmBuild.err != nil {
		t.Fatalf("building helm: %v", helmBuild.err)
	}
	return bins.helm
}

var helmBuild struct {
	sync.Once
	err error
}

// TestHelm drives a real helm (v4, built from helm.sh/helm/v4) through a
// release's life on kapi: install with a CRD, a custom resource of it and
// a hook, waiting (helm's watcher of the resources' status) until all are
// ready; upgrade that changes one resource, removes one and adds one;
// history; rollback; list; uninstall, waiting until all are gone but the
// CRD and the hook, which helm keeps. helm writes with server-side apply
// and keeps its releases in Secrets.
func TestHelm(t *testing.T) {
	t.Parallel()
	helmBin := helmBinary(t)
	k := startKapi(t)
	ctx := context.Background()
	chart := t.TempDir()
	for name, text := range helmChart {
		path := filepath.Join(chart, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	home := t.TempDir()
	helm := func(args ...string) string {
		t.Helper()
		c, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(c, helmBin, append([]string{"--kubeconfig", k.srv.Kubeconfig, "-n", "shop"}, args...)...)
		cmd.Env = append(os.Environ(), "HOME="+home, "HELM_CACHE_HOME="+filepath.Join(home, "cache"),
			"HELM_CONFIG_HOME="+filepath.Join(home, "config"), "HELM_DATA_HOME="+filepath.Join(home, "data"))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	cms, svcs := k.client.CoreV1().ConfigMaps("shop"), k.client.CoreV1().Services("shop")
	gadgets := k.dynamic.Resource(schema.GroupVersionResource{Group: "helm.example.com", Version: "v1", Resource: "gadgets"}).Namespace("shop")
	greeting := func() string {
		t.Helper()
		cm, err := cms.Get(ctx, "demo-config", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return cm.Data["greeting"]
	}
	serviceExists := func() bool {
		t.Helper()
		_, err := svcs.Get(ctx, "demo-svc", metav1.GetOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Fatal(err)
		}
		return err == nil
	}
	releases := func() []corev1.Secret {
		t.Helper()
		l, err := k.client.CoreV1().Secrets("shop").List(ctx, metav1.ListOptions{LabelSelector: "owner=helm,name=demo"})
		if err != nil {
			t.Fatal(err)
		}
		return l.Items
	}

	// Install: the CRD first, then the hook, then the rest, applied.
	helm("install", "demo", chart, "--create-namespace", "--wait", "--timeout", "60s")
	if got := greeting(); got != "hello" {
		t.Fatalf("greeting after install: %q", got)
	}
	if !serviceExists() {
		t.Fatal("no service after install")
	}
	if _, err := gadgets.Get(ctx, "demo-gadget", metav1.GetOptions{}); err != nil {
		t.Fatalf("the custom resource: %v", err)
	}
	if _, err := cms.Get(ctx, "demo-pre-install", metav1.GetOptions{}); err != nil {
		t.Fatalf("the pre-install hook: %v", err)
	}
	cm, err := cms.Get(ctx, "demo-config", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	applied := false
	for _, f := range cm.ManagedFields {
		applied = applied || f.Manager == "helm" && f.Operation == metav1.ManagedFieldsOperationApply
	}
	if !applied {
		t.Fatalf("demo-config's managed fields: %+v, want helm's apply", cm.ManagedFields)
	}
	if rs := releases(); len(rs) != 1 || rs[0].Type != "helm.sh/release.v1" || rs[0].Labels["status"] != "deployed" {
		t.Fatalf("release secrets after install: %+v", rs)
	}

	// Upgrade: the greeting changes, the service goes, a deployment comes.
	helm("upgrade", "demo", chart, "--set", "greeting=bye", "--set", "service=false", "--set", "deployment=true")
	if got := greeting(); got != "bye" {
		t.Fatalf("greeting after upgrade: %q", got)
	}
	if serviceExists() {
		t.Fatal("the service outlived the upgrade that removed it")
	}
	if _, err := k.client.AppsV1().Deployments("shop").Get(ctx, "demo-web", metav1.GetOptions{}); err != nil {
		t.Fatalf("the upgrade's deployment: %v", err)
	}
	if out := helm("history", "demo"); strings.Count(out, "\n") != 3 || !strings.Contains(out, "superseded") || !strings.Contains(out, "Upgrade complete") {
		t.Fatalf("history after upgrade:\n%s", out)
	}

	// Rollback to the first revision, waiting for it.
	helm("rollback", "demo", "1", "--wait", "--timeout", "60s")
	if got := greeting(); got != "hello" {
		t.Fatalf("greeting after rollback: %q", got)
	}
	if !serviceExists() {
		t.Fatal("no service after the rollback")
	}
	if _, err := k.client.AppsV1().Deployments("shop").Get(ctx, "demo-web", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("the deployment after the rollback: %v, want not found", err)
	}
	var listed []struct {
		Name, Status string
		Revision     string `json:"revision"`
	}
	if err := json.Unmarshal([]byte(helm("list", "-o", "json")), &listed); err != nil {
		t.Fatal(err)
	}
	if len(listed) != 1 || listed[0].Name != "demo" || listed[0].Status != "deployed" || listed[0].Revision != "3" {
		t.Fatalf("helm list: %+v", listed)
	}

	// Uninstall, waiting until everything is gone but what helm keeps:
	// the CRD, and the hook (helm deletes hooks only by their policy).
	helm("uninstall", "demo", "--wait", "--timeout", "60s")
	if _, err := cms.Get(ctx, "demo-config", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("demo-config after uninstall: %v", err)
	}
	if serviceExists() {
		t.Fatal("the service outlived the uninstall")
	}
	if _, err := gadgets.Get(ctx, "demo-gadget", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("the custom resource after uninstall: %v", err)
	}
	if rs := releases(); len(rs) != 0 {
		t.Fatalf("release secrets after uninstall: %d", len(rs))
	}
	if _, err := cms.Get(ctx, "demo-pre-install", metav1.GetOptions{}); err != nil {
		t.Fatalf("the pre-install hook after uninstall (helm keeps it): %v", err)
	}
	if _, err := k.crdClient().ApiextensionsV1().CustomResourceDefinitions().Get(ctx, "gadgets.helm.example.com", metav1.GetOptions{}); err != nil {
		t.Fatalf("the CRD after uninstall (helm keeps it): %v", err)
	}
}
