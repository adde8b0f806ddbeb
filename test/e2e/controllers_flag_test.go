package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"kapi/internal/server"
)

// TestControllersFlag: --controllers=*,-namespace-controller runs every
// loop but the namespace one: a new namespace gets its default
// ServiceAccount, a deleted one stays Terminating; a name no loop has is refused at start, with kube's
// message.
func TestControllersFlag(t *testing.T) {
	t.Parallel()
	k := startKapi(t, func(c *server.Config) { c.Controllers = []string{"*", "-namespace-controller"} })
	ctx := context.Background()
	waitDefaultSA := func(ns string) {
		t.Helper()
		if err := waitUntil(30*time.Second, func() bool {
			_, err := k.client.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
			return err == nil
		}); err != nil {
			t.Fatalf("namespace %s got no default ServiceAccount", ns)
		}
	}
	if _, err := k.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kept"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitDefaultSA("kept")
	if err := k.client.CoreV1().Namespaces().Delete(ctx, "kept", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	// The loops have seen what came after the delete.
	if _, err := k.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "later"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitDefaultSA("later")
	ns, err := k.client.CoreV1().Namespaces().Get(ctx, "kept", metav1.GetOptions{})
	if err != nil || ns.DeletionTimestamp == nil || ns.Status.Phase != corev1.NamespaceTerminating {
		t.Fatalf("the namespace should stay Terminating with its loop off: %+v %v", ns.Status, err)
	}
	if _, err := k.client.CoreV1().ServiceAccounts("kept").Get(ctx, "default", metav1.GetOptions{}); err != nil {
		t.Fatalf("the Terminating namespace lost its contents with the namespace loop off: %v", err)
	}
	// (The metrics registry is the process's, shared by the servers of
	// parallel tests, so the queue metrics are checked on separate
	// processes, in TestControllersLeaderElection.)

	cfg := server.Defaults()
	cfg.DataDir, cfg.SecurePort, cfg.Controllers = t.TempDir(), 0, []string{"*", "-no-such-controller"}
	if _, err := server.Start(ctx, cfg); err == nil || !strings.Contains(err.Error(), `--controllers: "-no-such-controller" is not in the list of known controllers`) {
		t.Fatalf("an unknown controller name: %v", err)
	}
}
