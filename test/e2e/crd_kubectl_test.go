package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const widgetCRDYAML = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wd], categories: [all]}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    subresources:
      status: {}
      scale: {specReplicasPath: .spec.replicas, statusReplicasPath: .status.replicas, labelSelectorPath: .status.selector}
    additionalPrinterColumns:
    - {name: Color, type: string, jsonPath: .spec.color}
    - {name: Replicas, type: integer, jsonPath: .spec.replicas}
    - {name: Note, type: string, jsonPath: .spec.note, priority: 1}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
    schema:
      openAPIV3Schema:
        type: object
        description: A Widget is a thing for tests.
        properties:
          spec:
            type: object
            description: What the widget should be.
            properties:
              color: {type: string, enum: [red, blue, green], default: red, description: The color of the widget.}
              replicas: {type: integer, minimum: 0}
              note: {type: string}
              tags:
                type: array
                x-kubernetes-list-type: map
                x-kubernetes-list-map-keys: [key]
                items:
                  type: object
                  required: [key]
                  properties:
                    key: {type: string}
                    value: {type: string}
          status:
            type: object
            properties:
              replicas: {type: integer}
              selector: {type: string}
`

// TestCRDKubectl: the workflow of a kubectl user, with the real kubectl:
// apply a CRD, work with its custom resources (printer columns, explain,
// scale, status patch, server-side apply and its conflicts, get all,
// api-resources), then delete the CRD and see them go.
func TestCRDKubectl(t *testing.T) {
	k := startKapi(t)
	out := k.mustKubectl(widgetCRDYAML, "apply", "-f", "-")
	if !strings.Contains(out, "customresourcedefinition.apiextensions.k8s.io/widgets.example.com created") {
		t.Fatalf("apply CRD: %s", out)
	}
	k.mustKubectl("", "wait", "--for=condition=Established", "--timeout=10s", "crd/widgets.example.com")
	k.mustKubectl(`apiVersion: example.com/v1
kind: Widget
metadata: {name: w1}
spec: {replicas: 3, note: first}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w2}
spec: {replicas: 1, color: blue}
`, "apply", "-f", "-")

	// Printer columns, the wide one with -o wide, a default filled in.
	out = k.mustKubectl("", "get", "widgets")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "NAME") || !strings.Contains(lines[0], "COLOR") || strings.Contains(lines[0], "NOTE") ||
		!strings.Contains(lines[1], "w1") || !strings.Contains(lines[1], "red") || !strings.Contains(lines[1], " 3 ") {
		t.Fatalf("get widgets:\n%s", out)
	}
	if out := k.mustKubectl("", "get", "wd", "-o", "wide"); !strings.Contains(out, "NOTE") || !strings.Contains(out, "first") {
		t.Errorf("get wd -o wide:\n%s", out)
	}
	if out := k.mustKubectl("", "get", "widget", "w2", "-o", "jsonpath={.spec.color}"); out != "blue" {
		t.Errorf("w2's color %q", out)
	}

	// Explain reads the CRD's schema from /openapi/v3.
	out = k.mustKubectl("", "explain", "widgets.spec.color")
	for _, want := range []string{"KIND:       Widget", "VERSION:    v1", "FIELD: color <string>", "The color of the widget.", "red"} {
		if !strings.Contains(out, want) {
			t.Errorf("explain widgets.spec.color lacks %q:\n%s", want, out)
		}
	}
	if out := k.mustKubectl("", "explain", "widget"); !strings.Contains(out, "A Widget is a thing for tests.") {
		t.Errorf("explain widget:\n%s", out)
	}

	// Scale, and a status patch, which leaves the spec and the
	// generation alone.
	k.mustKubectl("", "scale", "widget", "w1", "--replicas=5")
	if out := k.mustKubectl("", "get", "widget", "w1", "-o", "jsonpath={.spec.replicas} {.metadata.generation}"); out != "5 2" {
		t.Errorf("after scale: replicas and generation %q, want 5 2", out)
	}
	k.mustKubectl("", "patch", "widget", "w1", "--subresource=status", "--type=merge",
		"-p", `{"spec":{"replicas":9},"status":{"replicas":5,"selector":"app=w1"}}`)
	if out := k.mustKubectl("", "get", "widget", "w1", "-o", "jsonpath={.spec.replicas} {.status.replicas} {.metadata.generation}"); out != "5 5 2" {
		t.Errorf("after the status patch: %q, want 5 5 2", out)
	}
	if out := k.mustKubectl("", "get", "--raw", "/apis/example.com/v1/namespaces/default/widgets/w1/scale"); !strings.Contains(out, `"selector":"app=w1"`) ||
		!strings.Contains(out, `"kind":"Scale"`) {
		t.Errorf("scale of w1: %s", out)
	}
	// A strategic merge patch is refused (kubectl patch's default type).
	if out, err := k.kubectl("", "patch", "widget", "w1", "-p", `{"spec":{"note":"x"}}`); err == nil || !strings.Contains(out, "application/strategic-merge-patch+json is not supported") {
		t.Errorf("strategic merge patch of a custom resource: %v\n%s", err, out)
	}

	// Server-side apply: a second manager's change to an owned field
	// conflicts, until forced; the list-map merges by key.
	apply := func(manager, body string, extra ...string) (string, error) {
		return k.kubectl(body, append([]string{"apply", "--server-side", "--field-manager=" + manager, "-f", "-"}, extra...)...)
	}
	if out, err := apply("alice", "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w3}\nspec: {replicas: 1, tags: [{key: a, value: one}]}\n"); err != nil {
		t.Fatalf("apply w3: %v\n%s", err, out)
	}
	out, err := apply("bob", "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w3}\nspec: {replicas: 2, tags: [{key: b, value: two}]}\n")
	if err == nil || !strings.Contains(out, "conflict") || !strings.Contains(out, ".spec.replicas") {
		t.Fatalf("conflicting apply: %v\n%s", err, out)
	}
	if out, err := apply("bob", "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w3}\nspec: {replicas: 2, tags: [{key: b, value: two}]}\n", "--force-conflicts"); err != nil {
		t.Fatalf("forced apply: %v\n%s", err, out)
	}
	if out := k.mustKubectl("", "get", "widget", "w3", "-o", "jsonpath={.spec.replicas} {.spec.tags[*].key}"); out != "2 a b" {
		t.Errorf("after the forced apply: %q, want 2 a b", out)
	}

	// get all and api-resources know the CRD.
	if out := k.mustKubectl("", "get", "all"); !strings.Contains(out, "widget.example.com/w1") {
		t.Errorf("get all:\n%s", out)
	}
	out = k.mustKubectl("", "api-resources", "--api-group=example.com")
	if !strings.Contains(out, "widgets") || !strings.Contains(out, "wd") || !strings.Contains(out, "example.com/v1") || !strings.Contains(out, "Widget") {
		t.Errorf("api-resources:\n%s", out)
	}

	// Deleting the CRD deletes its custom resources and stops serving.
	k.mustKubectl("", "delete", "crd", "widgets.example.com", "--timeout=30s")
	if out, err := k.kubectl("", "get", "crd", "widgets.example.com"); err == nil {
		t.Errorf("the CRD is still there:\n%s", out)
	}
	resp, err := k.srv.Etcd().Get(context.Background(), "/registry/example.com/widgets/", clientv3WithPrefix()...)
	if err != nil || len(resp.Kvs) != 0 {
		t.Errorf("custom resources left in etcd: %v %d", err, len(resp.Kvs))
	}
	if err := waitUntil(5*time.Second, func() bool {
		_, err := k.dynamic.Resource(widgetGVR).Namespace("default").List(context.Background(), metav1.ListOptions{})
		return err != nil && strings.Contains(err.Error(), "could not find the requested resource")
	}); err != nil {
		t.Errorf("widgets are still served after the CRD went")
	}
	if out, err := k.kubectl("", "get", "widgets"); err == nil || !strings.Contains(out, `the server doesn't have a resource type "widgets"`) {
		t.Errorf("get widgets after the CRD went: %v\n%s", err, out)
	}
}
