package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"kapi/internal/server"
)

// TestComponentStatuses: the deprecated componentstatuses, as
// kube-apiserver serves them: each read checks the scheduler's and the
// controller manager's healthz (here a server of the test's and a closed
// port) and etcd; kubectl get cs prints kube's table and warning; an
// unknown component is kube's 500.
func TestComponentStatuses(t *testing.T) {
	t.Parallel()
	healthz := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" || !strings.HasPrefix(r.Header.Get("User-Agent"), "kube-probe/1.") {
			http.Error(w, "unexpected probe", http.StatusBadRequest)
			return
		}
		w.Write([]byte("ok"))
	}))
	defer healthz.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := fmt.Sprintf("https://%s/healthz", l.Addr())
	l.Close()
	k := startKapi(t, withoutLoops(rootCAPublisher), func(c *server.Config) {
		c.ComponentHealthz = map[string]string{"scheduler": healthz.URL + "/healthz", "controller-manager": closed}
	})
	ctx := context.Background()

	list, err := k.client.CoreV1().ComponentStatuses().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]corev1.ComponentCondition{}
	for _, cs := range list.Items {
		if len(cs.Conditions) != 1 || cs.Conditions[0].Type != corev1.ComponentHealthy {
			t.Fatalf("%s: conditions %+v", cs.Name, cs.Conditions)
		}
		got[cs.Name] = cs.Conditions[0]
	}
	if c := got["scheduler"]; c.Status != corev1.ConditionTrue || c.Message != "ok" || c.Error != "" {
		t.Errorf("scheduler: %+v", c)
	}
	if c := got["controller-manager"]; c.Status != corev1.ConditionFalse || !strings.Contains(c.Message, "connect: connection refused") || c.Error != "" {
		t.Errorf("controller-manager: %+v", c)
	}
	if c := got["etcd-0"]; c.Status != corev1.ConditionTrue || c.Message != "ok" || len(got) != 3 {
		t.Errorf("etcd-0: %+v, of %d", c, len(got))
	}

	if cs, err := k.client.CoreV1().ComponentStatuses().Get(ctx, "etcd-0", metav1.GetOptions{}); err != nil || cs.Conditions[0].Status != corev1.ConditionTrue {
		t.Errorf("get etcd-0: %+v %v", cs, err)
	}
	_, err = k.client.CoreV1().ComponentStatuses().Get(ctx, "nope", metav1.GetOptions{})
	if se, ok := err.(*apierrors.StatusError); !ok || se.ErrStatus.Code != http.StatusInternalServerError || se.ErrStatus.Message != "Component not found: nope" {
		t.Errorf("get an unknown component: %#v", err)
	}
	if list, err := k.client.CoreV1().ComponentStatuses().List(ctx, metav1.ListOptions{LabelSelector: "a=b"}); err != nil || len(list.Items) != 0 {
		t.Errorf("a list by a label nothing has: %+v %v", list, err)
	}

	out := k.mustKubectl("", "get", "cs")
	for _, want := range []string{
		"Warning: v1 ComponentStatus is deprecated in v1.19+",
		"NAME                 STATUS      MESSAGE",
		"scheduler            Healthy     ok",
		"etcd-0               Healthy     ok",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("kubectl get cs printed\n%s\nwithout %q", out, want)
		}
	}
	if !strings.Contains(out, "controller-manager   Unhealthy   Get \""+closed+"\": dial tcp") {
		t.Errorf("kubectl get cs printed\n%s\nwithout the controller manager's failure", out)
	}
}
