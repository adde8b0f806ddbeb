package e2e

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// runningPod makes pod ns/name declaring containerPort, with ip as its
// status.podIP ("" for none).
func runningPod(t *testing.T, k *kapi, ns, name string, containerPort int32, ip string) {
	t.Helper()
	ctx := context.Background()
	k.waitDefaultServiceAccount(t, ns)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{Containers: []corev1.Container{{
		Name: "c", Image: "busybox", Ports: []corev1.ContainerPort{{ContainerPort: containerPort}}}}}}
	pod, err := k.client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ip == "" {
		return
	}
	pod.Status.Phase = corev1.PodRunning
	pod.Status.PodIP, pod.Status.PodIPs = ip, []corev1.PodIP{{IP: ip}}
	if _, err := k.client.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestProxyPods: pods/[scheme:]name[:port]/proxy/<path> reaches the
// pod's IP, at the port given or the first one its containers declare;
// a pod without an IP is kube's 400 "address not allowed".
func TestProxyPods(t *testing.T) {
	k := startKapi(t, allowLoopback, withoutLoops(rootCAPublisher))
	_, port := loopbackServer(t, http.HandlerFunc(echoBackend), false)
	_, securePort := loopbackServer(t, http.HandlerFunc(echoBackend), true)
	runningPod(t, k, "default", "web", port, "127.0.0.1")
	runningPod(t, k, "default", "pending", port, "")
	const pods = "/api/v1/namespaces/default/pods/"
	for _, id := range []string{"web", "web:" + itoa(port), "http:web:" + itoa(port), "https:web:" + itoa(securePort)} {
		for _, m := range []string{"GET", "POST", "PUT", "DELETE"} {
			code, _, body := proxyDo(t, k.rest, k.srv.URL, m, pods+id+"/proxy/p/q?z=1", "b")
			if code != 200 || !strings.HasPrefix(body, m+" /p/q?z=1 body=b auth=\"\"") {
				t.Errorf("%s through pod %s: %d %s", m, id, code, body)
			}
		}
	}
	for _, c := range []struct {
		id, msg string
		code    int
	}{
		{"pending", "address not allowed", 400},
		{"missing", `pods "missing" not found`, 404},
		{"gopher:web:80", `invalid pod request "gopher:web:80"`, 400},
	} {
		code, st, body := k.do(t, "GET", pods+c.id+"/proxy/", "", nil)
		if code != c.code || st == nil || st.Message != c.msg {
			t.Errorf("%s: %d %s, want %d %q", c.id, code, body, c.code, c.msg)
		}
	}
}

// TestProxyLoopbackRefused: without --proxy-allow-loopback no proxy
// reaches the host: a pod whose IP is loopback or link-local is kube's
// 400 "address not allowed", and so is a Service whose endpoints are
// (kapi's own "kubernetes" Service, on 127.0.0.1); the validation of
// EndpointSlices refuses loopback addresses.
func TestProxyLoopbackRefused(t *testing.T) {
	k := startKapi(t, withoutLoops(rootCAPublisher))
	_, port := loopbackServer(t, http.HandlerFunc(echoBackend), false)
	runningPod(t, k, "default", "local", port, "127.0.0.1")
	runningPod(t, k, "default", "metadata", 80, "169.254.169.254")
	for _, path := range []string{
		"/api/v1/namespaces/default/pods/local/proxy/",
		"/api/v1/namespaces/default/pods/metadata/proxy/latest/meta-data/",
		"/api/v1/namespaces/default/services/https:kubernetes:443/proxy/api",
	} {
		code, st, body := k.do(t, "GET", path, "", nil)
		if code != 400 || st == nil || st.Reason != metav1.StatusReasonBadRequest || st.Message != "address not allowed" {
			t.Errorf("%s without --proxy-allow-loopback: %d %s", path, code, body)
		}
	}
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }
