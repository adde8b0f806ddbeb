package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"kapi/internal/registry/builtin"
)

const manifest = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: nginx
        image: nginx:1.27
        ports:
        - containerPort: 80
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - port: 80
    targetPort: 80
`

func TestKubectlWorkflow(t *testing.T) {
	k := startKapi(t)

	out := k.mustKubectl("", "get", "ns")
	for _, ns := range []string{"default", "kube-system", "kube-public", "kube-node-lease"} {
		if !strings.Contains(out, ns) {
			t.Errorf("get ns lacks %s:\n%s", ns, out)
		}
	}
	if !strings.HasPrefix(out, "NAME") || !strings.Contains(out, "STATUS") || !strings.Contains(out, "Active") {
		t.Errorf("get ns is not kubectl's table:\n%s", out)
	}

	k.mustKubectl("", "create", "configmap", "settings", "--from-literal=color=blue")
	out = k.mustKubectl("", "get", "configmap", "settings", "-o", "jsonpath={.data.color}")
	if out != "blue" {
		t.Fatalf("configmap data %q", out)
	}

	out = k.mustKubectl(manifest, "apply", "-f", "-")
	if !strings.Contains(out, "deployment.apps/web created") || !strings.Contains(out, "service/web created") {
		t.Fatalf("apply:\n%s", out)
	}
	out = k.mustKubectl(manifest, "apply", "-f", "-")
	if !strings.Contains(out, "deployment.apps/web unchanged") {
		t.Fatalf("second apply:\n%s", out)
	}
	out = k.mustKubectl("", "get", "deploy,svc", "-o", "wide")
	for _, want := range []string{"deployment.apps/web", "service/web", "READY", "UP-TO-DATE", "CONTAINERS", "nginx:1.27", "CLUSTER-IP", "PORT(S)", "80/TCP", "SELECTOR", "app=web"} {
		if !strings.Contains(out, want) {
			t.Errorf("get deploy,svc -o wide lacks %q:\n%s", want, out)
		}
	}

	// The three patch types.
	k.mustKubectl("", "patch", "configmap", "settings", "--type=json", "-p", `[{"op":"replace","path":"/data/color","value":"red"}]`)
	k.mustKubectl("", "patch", "configmap", "settings", "--type=merge", "-p", `{"data":{"size":"L"}}`)
	k.mustKubectl("", "patch", "deployment", "web", "--type=strategic", "-p", `{"spec":{"template":{"spec":{"containers":[{"name":"nginx","image":"nginx:1.28"}]}}}}`)
	out = k.mustKubectl("", "get", "configmap", "settings", "-o", "jsonpath={.data.color}/{.data.size}")
	if out != "red/L" {
		t.Fatalf("after patches: %q", out)
	}
	out = k.mustKubectl("", "get", "deployment", "web", "-o", "jsonpath={.spec.template.spec.containers[0].image} {.metadata.generation}")
	if out != "nginx:1.28 2" {
		t.Fatalf("after strategic patch: %q", out)
	}

	out = k.mustKubectl("", "delete", "configmap", "settings")
	if !strings.Contains(out, `configmap "settings" deleted`) {
		t.Fatalf("delete:\n%s", out)
	}
	if out, err := k.kubectl("", "get", "configmap", "settings"); err == nil || !strings.Contains(out, "NotFound") {
		t.Fatalf("get after delete: %v\n%s", err, out)
	}

	out = k.mustKubectl("", "get", "--raw", "/version")
	var v struct{ Major, Minor, GitVersion string }
	if err := json.Unmarshal([]byte(out), &v); err != nil || v.Major != "1" || v.Minor != "37" {
		t.Fatalf("/version: %v %s", err, out)
	}
}

// TestKubectlAPIResources: kubectl api-resources lists every resource of
// the catalogue.
func TestKubectlAPIResources(t *testing.T) {
	k := startKapi(t)
	out := k.mustKubectl("", "api-resources", "-o", "name")
	listed := map[string]bool{}
	for _, l := range strings.Fields(out) {
		listed[l] = true
	}
	for _, r := range builtin.Resources() {
		name := r.Name
		if r.Group != "" {
			name += "." + r.Group
		}
		if !listed[name] {
			t.Errorf("api-resources lacks %s", name)
		}
	}
	out = k.mustKubectl("", "api-resources", "--api-group=apps")
	if !strings.Contains(out, "deploy") || !strings.Contains(out, "apps/v1") || !strings.Contains(out, "true") {
		t.Errorf("api-resources --api-group=apps:\n%s", out)
	}
}

func TestKubectlExplain(t *testing.T) {
	k := startKapi(t)
	out := k.mustKubectl("", "explain", "deployment.spec")
	for _, want := range []string{"GROUP:", "apps", "KIND:", "Deployment", "FIELD: spec <DeploymentSpec>", "replicas", "template", "<PodTemplateSpec> -required-"} {
		if !strings.Contains(out, want) {
			t.Errorf("explain deployment.spec lacks %q:\n%s", want, out)
		}
	}
}

// TestKubectlWatch: kubectl get -w prints the change made while it runs.
func TestKubectlWatch(t *testing.T) {
	k := startKapi(t)
	k.mustKubectl("", "create", "configmap", "before-watch")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := k.kubectlCommand(ctx, "get", "configmaps", "-w", "-n", "default")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); cmd.Wait() }()
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	created := false
	deadline := time.After(45 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("kubectl get -w ended")
			}
			if strings.HasPrefix(l, "before-watch") && !created {
				// The watch is open; make the change it must print.
				if _, err := k.kubectl("", "create", "configmap", "seen-by-watch", "--from-literal=a=b"); err != nil {
					t.Fatal(err)
				}
				created = true
			}
			if strings.HasPrefix(l, "seen-by-watch") {
				f := strings.Fields(l)
				if len(f) < 3 || f[1] != "1" {
					t.Fatalf("watch line %q, want NAME DATA AGE with DATA 1", l)
				}
				return
			}
		case <-deadline:
			t.Fatal("kubectl get -w did not print the new configmap")
		}
	}
}
