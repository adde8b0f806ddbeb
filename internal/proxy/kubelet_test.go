package proxy

import (
	"context"
	"net/http"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// nodeObjects holds nodes by name.
type nodeObjects map[string]*corev1.Node

func (n nodeObjects) Get(_ context.Context, _ schema.GroupVersionResource, _, name string) (runtime.Object, error) {
	if node, ok := n[name]; ok {
		return node, nil
	}
	return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "nodes"}, name)
}

func TestKubeletNodeAddress(t *testing.T) {
	nodes := nodeObjects{
		"both": {Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{
			{Type: corev1.NodeExternalIP, Address: "203.0.113.9"}, {Type: corev1.NodeInternalIP, Address: "10.0.0.7"}},
			DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: 10251}}}},
		"label":     {ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{corev1.LabelHostname: "node-a.example"}}},
		"loopback":  {Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}}}},
		"linklocal": {Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "169.254.169.254"}}}},
		"none":      {},
	}
	for _, c := range []struct {
		name          string
		allowLoopback bool
		want, err     string
	}{
		{name: "both", want: "10.0.0.7:10251"}, // InternalIP before ExternalIP; the node's port
		{name: "label", want: "node-a.example:10250"},
		{name: "loopback", err: "address not allowed"},
		{name: "linklocal", err: "address not allowed"},
		{name: "loopback", allowLoopback: true, want: "127.0.0.1:10250"},
		{name: "linklocal", allowLoopback: true, want: "169.254.169.254:10250"},
		{name: "none", err: "no preferred addresses found; known addresses: []"},
		{name: "gone", err: `nodes "gone" not found`},
	} {
		k, err := NewKubelets(KubeletConfig{AllowLoopback: c.allowLoopback}, nodes)
		if err != nil {
			t.Fatal(err)
		}
		kl, err := k.node(context.Background(), c.name)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s (loopback %v): %v, want %q", c.name, c.allowLoopback, err, c.err)
			}
			if c.err == "address not allowed" && !apierrors.IsBadRequest(err) {
				t.Errorf("%s: %v is not a 400", c.name, err)
			}
			continue
		}
		if err != nil || kl.hostPort() != c.want {
			t.Errorf("%s (loopback %v): %s %v, want %s", c.name, c.allowLoopback, kl.hostPort(), err, c.want)
		}
	}
}

// A loopback address is refused when dialled as well (a name resolving
// to it), not only when the node says it.
func TestKubeletDialerRefusesLoopback(t *testing.T) {
	nodes := nodeObjects{"n": {Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: "localhost"}}}}}
	var got error
	k, err := NewKubelets(KubeletConfig{Error: func(_ http.ResponseWriter, _ *http.Request, err error) { got = err }}, nodes)
	if err != nil {
		t.Fatal(err)
	}
	h, err := k.NodeProxy(context.Background(), "", "n", "/pods")
	if err != nil {
		t.Fatal(err)
	}
	r, _ := http.NewRequest(http.MethodGet, "/api/v1/nodes/n/proxy/pods", nil)
	h.ServeHTTP(nopWriter{}, r)
	if got == nil || !strings.Contains(got.Error(), "address not allowed") {
		t.Errorf("dialling localhost: %v", got)
	}
}

type nopWriter struct{}

func (nopWriter) Header() http.Header         { return http.Header{} }
func (nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (nopWriter) WriteHeader(int)             {}

func TestContainerOf(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: corev1.PodSpec{
		InitContainers: []corev1.Container{{Name: "init"}}, Containers: []corev1.Container{{Name: "a"}, {Name: "b"}}}}
	for name, want := range map[string]string{
		"":     "a container name must be specified for pod p, choose one of: [init a b]",
		"init": "init",
		"x":    "container x is not valid for pod p",
	} {
		got, err := containerOf(pod, name)
		if err != nil {
			got = err.Error()
		}
		if got != want {
			t.Errorf("container %q: %q, want %q", name, got, want)
		}
	}
	one := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "only"}}}}
	if got, err := containerOf(one, ""); got != "only" || err != nil {
		t.Errorf("one container: %q %v", got, err)
	}
}
