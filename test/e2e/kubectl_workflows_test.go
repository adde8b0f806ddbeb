package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const appConfig = `apiVersion: v1
kind: ConfigMap
metadata:
  name: app
data:
  color: blue
  size: L
`

// TestKubectlApplyWorkflows: server-side apply by two managers with a
// conflict and --force-conflicts; client-side apply twice with a field
// removed; diff; edit with a scripted editor; label and annotate.
func TestKubectlApplyWorkflows(t *testing.T) {
	k := startKapi(t)
	ctx := context.Background()
	get := func(jsonpath string) string {
		return k.mustKubectl("", "get", "configmap", "app", "-o", "jsonpath="+jsonpath)
	}

	k.mustKubectl(appConfig, "apply", "--server-side", "--field-manager=team-a", "-f", "-")
	changed := strings.Replace(appConfig, "blue", "green", 1)
	out, err := k.kubectl(changed, "apply", "--server-side", "--field-manager=team-b", "-f", "-")
	if err == nil || !strings.Contains(out, "conflict") || !strings.Contains(out, ".data.color") {
		t.Fatalf("second manager's apply: want a conflict on .data.color, got %v\n%s", err, out)
	}
	if get("{.data.color}") != "blue" {
		t.Fatal("a conflicting apply changed the object")
	}
	k.mustKubectl(changed, "apply", "--server-side", "--field-manager=team-b", "--force-conflicts", "-f", "-")
	if got := get("{.data.color}"); got != "green" {
		t.Fatalf("after --force-conflicts: %q", got)
	}
	cm, err := k.client.CoreV1().ConfigMaps("default").Get(ctx, "app", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	owners := map[string]bool{}
	for _, f := range cm.ManagedFields {
		owners[f.Manager] = true
	}
	if !owners["team-a"] || !owners["team-b"] {
		t.Fatalf("managers %v", owners)
	}

	// Client-side apply, then again without a field: it is removed.
	web := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  a: \"1\"\n  b: \"2\"\n"
	k.mustKubectl(web, "apply", "-f", "-")
	k.mustKubectl(strings.Replace(web, "  b: \"2\"\n", "", 1), "apply", "-f", "-")
	out = k.mustKubectl("", "get", "configmap", "web", "-o", "jsonpath={.data}")
	if strings.Contains(out, `"b"`) || !strings.Contains(out, `"a":"1"`) {
		t.Fatalf("after the second client-side apply: %s", out)
	}

	// diff shows what would change, and changes nothing.
	out, err = k.kubectl(strings.Replace(web, `a: "1"`, `a: "9"`, 1), "diff", "-f", "-")
	if err == nil || !strings.Contains(out, `-  a: "1"`) || !strings.Contains(out, `+  a: "9"`) {
		t.Fatalf("diff: %v\n%s", err, out)
	}
	if got := k.mustKubectl("", "get", "configmap", "web", "-o", "jsonpath={.data.a}"); got != "1" {
		t.Fatalf("diff changed the object: %q", got)
	}

	// edit, with an editor that is a script.
	editor := filepath.Join(t.TempDir(), "editor.sh")
	if err := os.WriteFile(editor, []byte("#!/bin/sh\nsed -i 's/size: L/size: XL/' \"$1\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KUBE_EDITOR", editor)
	k.mustKubectl("", "edit", "configmap", "app")
	if got := get("{.data.size}"); got != "XL" {
		t.Fatalf("after edit: %q", got)
	}

	k.mustKubectl("", "label", "configmap", "app", "tier=frontend")
	k.mustKubectl("", "annotate", "configmap", "app", "owner=team-a")
	if got := get("{.metadata.labels.tier} {.metadata.annotations.owner}"); got != "frontend team-a" {
		t.Fatalf("after label and annotate: %q", got)
	}
	k.mustKubectl("", "label", "configmap", "app", "tier-")
	if got := get("{.metadata.labels}"); strings.Contains(got, "tier") {
		t.Fatalf("label removal: %q", got)
	}
}

const cronJob = `apiVersion: batch/v1
kind: CronJob
metadata:
  name: nightly
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
          - name: task
            image: busybox
            command: ["true"]
`

// TestKubectlCreateWorkflows: create deployment, create job --from a
// CronJob, rollout history.
func TestKubectlCreateWorkflows(t *testing.T) {
	k := startKapi(t)
	k.mustKubectl("", "create", "deployment", "shop", "--image=nginx:1.27", "--replicas=2")
	if got := k.mustKubectl("", "get", "deployment", "shop", "-o", "jsonpath={.spec.replicas} {.spec.template.spec.containers[0].image} {.spec.selector.matchLabels.app}"); got != "2 nginx:1.27 shop" {
		t.Fatalf("created deployment: %q", got)
	}
	k.mustKubectl(cronJob, "apply", "-f", "-")
	k.mustKubectl("", "create", "job", "manual-run", "--from=cronjob/nightly")
	got := k.mustKubectl("", "get", "job", "manual-run", "-o", "jsonpath={.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name} {.spec.template.spec.containers[0].image} {.metadata.annotations.cronjob\\.kubernetes\\.io/instantiate}")
	if got != "CronJob/nightly busybox manual" {
		t.Fatalf("job from cronjob: %q", got)
	}

	// rollout history reads the deployment's ReplicaSets; with no
	// controller here, one is made by hand as the deployment controller
	// would.
	uid := k.mustKubectl("", "get", "deployment", "shop", "-o", "jsonpath={.metadata.uid}")
	rs := `apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: shop-1
  annotations: {deployment.kubernetes.io/revision: "1"}
  labels: {app: shop}
  ownerReferences:
  - {apiVersion: apps/v1, kind: Deployment, name: shop, uid: "` + uid + `", controller: true}
spec:
  replicas: 2
  selector: {matchLabels: {app: shop}}
  template:
    metadata: {labels: {app: shop}}
    spec: {containers: [{name: nginx, image: "nginx:1.27"}]}
`
	k.mustKubectl(rs, "apply", "-f", "-")
	out := k.mustKubectl("", "rollout", "history", "deployment/shop")
	if !strings.Contains(out, "REVISION") || !strings.Contains(out, "1 ") {
		t.Fatalf("rollout history:\n%s", out)
	}
}
