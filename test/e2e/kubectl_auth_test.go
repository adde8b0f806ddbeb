package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kapi/internal/server"
)

// tokenKubeconfig writes a kubeconfig for kapi that authenticates with a
// bearer token only.
func (k *kapi) tokenKubeconfig(t *testing.T, token string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "token.kubeconfig")
	doc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: kapi
  cluster: {server: %q, certificate-authority: %q}
users:
- name: u
  user: {token: %q}
contexts:
- name: kapi
  context: {cluster: kapi, user: u}
current-context: kapi
`, k.srv.URL, k.srv.PKI.CACert, token)
	if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// kubectlWith runs kubectl with another kubeconfig.
func (k *kapi) kubectlWith(kubeconfig string, args ...string) (string, error) {
	return k.kubectl("", append([]string{"--kubeconfig", kubeconfig}, args...)...)
}

func TestKubectlAuth(t *testing.T) {
	k := startKapi(t, func(c *server.Config) { c.TokenAuthFile = tokenFile(t) })
	alice := k.tokenKubeconfig(t, "alice-token")

	if out := k.mustKubectl("", "auth", "can-i", "create", "deployments"); strings.TrimSpace(out) != "yes" {
		t.Fatalf("admin can-i: %q", out)
	}
	out, err := k.kubectlWith(alice, "auth", "can-i", "create", "deployments")
	if err == nil || strings.TrimSpace(out) != "no" {
		t.Fatalf("alice can-i create deployments: %v %q", err, out)
	}
	k.mustKubectl("", "create", "role", "cm-reader", "--verb=get,list", "--resource=configmaps")
	k.mustKubectl("", "create", "rolebinding", "alice-cm", "--role=cm-reader", "--user=alice")
	// The binding reaches the authorizer's cache a moment later.
	if waitUntil(10*time.Second, func() bool {
		out, err := k.kubectlWith(alice, "auth", "can-i", "list", "configmaps")
		return err == nil && strings.TrimSpace(out) == "yes"
	}) != nil {
		t.Fatal("alice can-i list configmaps never became yes after the binding")
	}
	out, err = k.kubectlWith(alice, "auth", "can-i", "--list")
	if err != nil || !strings.Contains(out, "configmaps") || !strings.Contains(out, "[get list]") || !strings.Contains(out, "selfsubjectreviews.authentication.k8s.io") {
		t.Fatalf("alice can-i --list: %v\n%s", err, out)
	}
	out, err = k.kubectlWith(alice, "auth", "whoami")
	if err != nil || !strings.Contains(out, "alice") || !strings.Contains(out, "dev") {
		t.Fatalf("alice whoami: %v\n%s", err, out)
	}
	out = k.mustKubectl("", "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}")
	if out != "kubernetes-admin" {
		t.Fatalf("admin whoami: %q", out)
	}

	// Impersonation: the admin may; alice may not until allowed.
	out = k.mustKubectl("", "auth", "whoami", "--as", "carol", "--as-group", "auditors", "-o", "jsonpath={.status.userInfo.username} {.status.userInfo.groups}")
	if !strings.HasPrefix(out, "carol ") || !strings.Contains(out, "auditors") || !strings.Contains(out, "system:authenticated") {
		t.Fatalf("admin --as carol: %q", out)
	}
	// (get --raw: without the right, even discovery is refused, and
	// client-go reports discovery errors without their message. The
	// refusal is kube 1.37's, whose constrained impersonation reports
	// the first mode that applies.)
	if out, err := k.kubectlWith(alice, "get", "--raw", "/api/v1/namespaces/default/configmaps", "--as", "bob"); err == nil ||
		!strings.Contains(out, `configmaps is forbidden: User "alice" cannot impersonate-on:user-info:list resource "configmaps" in API group "" in the namespace "default"`) {
		t.Fatalf("alice --as bob without the right: %v %q", err, out)
	}
	k.mustKubectl("", "create", "clusterrole", "impersonate-bob", "--verb=impersonate", "--resource=users", "--resource-name=bob")
	k.mustKubectl("", "create", "clusterrolebinding", "alice-impersonates-bob", "--clusterrole=impersonate-bob", "--user=alice")
	if waitUntil(10*time.Second, func() bool {
		out, err = k.kubectlWith(alice, "auth", "whoami", "--as", "bob", "-o", "jsonpath={.status.userInfo.username}")
		return err == nil && out == "bob"
	}) != nil {
		t.Fatalf("alice --as bob with the right: %v %q", err, out)
	}
	// Bob himself may not list configmaps.
	if out, err := k.kubectlWith(alice, "get", "--raw", "/api/v1/namespaces/default/configmaps", "--as", "bob"); err == nil ||
		!strings.Contains(out, `User "bob" cannot list resource "configmaps"`) {
		t.Fatalf("alice as bob lists configmaps: %v %q", err, out)
	}

	// kubectl create token, then use the token.
	k.mustKubectl("", "create", "serviceaccount", "builder")
	token := strings.TrimSpace(k.mustKubectl("", "create", "token", "builder"))
	out, err = k.kubectlWith(k.tokenKubeconfig(t, token), "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}")
	if err != nil || out != "system:serviceaccount:default:builder" {
		t.Fatalf("whoami with the created token: %v %q", err, out)
	}
}
