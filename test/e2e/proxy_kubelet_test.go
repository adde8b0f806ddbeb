package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"kapi/internal/server"
)

// kubeletCluster is kapi with a test kubelet as the node n1 (at
// 127.0.0.1, its port in the node's status, hence
// --proxy-allow-loopback), kapi's --kubelet-* flags pointing at the
// kubelet's CA and client certificate, and pods on it: web (one
// container, app, running), two (containers a and b), pending (no
// node).
func kubeletCluster(t *testing.T) (*kapi, *testKubelet) {
	t.Helper()
	kl := startTestKubelet(t)
	k := startKapi(t, func(c *server.Config) {
		c.ProxyAllowLoopback = true
		c.Kubelet.CertificateAuthority, c.Kubelet.ClientCertificate, c.Kubelet.ClientKey = kl.caFile, kl.certFile, kl.keyFile
	})
	ctx := context.Background()
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}, Status: corev1.NodeStatus{
		Addresses:       []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}},
		DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: kl.port}}}}
	if _, err := k.client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// As kube's e2e framework, before the first Pod: the ServiceAccount
	// admission needs the namespace's default ServiceAccount.
	k.waitDefaultServiceAccount(t, "default")
	for name, containers := range map[string][]string{"web": {"app"}, "two": {"a", "b"}, "pending": {"app"}} {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"}}
		for _, c := range containers {
			pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: c, Image: "busybox"})
		}
		if name != "pending" {
			pod.Spec.NodeName = "n1"
		}
		created, err := k.client.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		created.Status.Phase = corev1.PodRunning
		if _, err := k.client.CoreV1().Pods("default").UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	return k, kl
}

// background runs kubectl until the test stops it (stop kills it and
// waits), its output read line by line.
func (k *kapi) background(t *testing.T, args ...string) (lines *bufio.Reader, stop func()) {
	t.Helper()
	cmd := k.kubectlCommand(context.Background(), args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			cmd.Process.Kill()
			cmd.Wait()
		}
	}
	t.Cleanup(stop)
	return bufio.NewReader(out), stop
}

// waitEnded waits for the kubelet to see the streaming request to path
// end (or fails the test after a minute, rather than hang).
func waitEnded(t *testing.T, kl *testKubelet, path string) {
	t.Helper()
	for {
		select {
		case p := <-kl.ended:
			if p == path {
				return
			}
		case <-time.After(time.Minute):
			t.Fatalf("the kubelet's connection for %s did not end", path)
		}
	}
}

// settled waits for the goroutines of the test process (kapi's among
// them) to come back to at most base plus a few (HTTP keep-alives), and
// fails naming the count if they do not within a minute.
func settled(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for runtime.NumGoroutine() > base+4 {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("goroutines: %d, were %d\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestKubeletLogs(t *testing.T) {
	k, kl := kubeletCluster(t)
	if out := k.mustKubectl("", "logs", "web"); out != "app line 1\napp line 2\n" {
		t.Errorf("kubectl logs web: %q", out)
	}
	if out := k.mustKubectl("", "logs", "two", "-c", "b", "--tail=5", "--timestamps", "--limit-bytes=100"); out != "b line 1\nb line 2\n" {
		t.Errorf("kubectl logs two -c b: %q", out)
	}
	if q := kl.queries(); q[len(q)-1] != "/containerLogs/default/two/b?limitBytes=100&tailLines=5&timestamps=true" {
		t.Errorf("the kubelet was asked %q", q[len(q)-1])
	}
	// No node: an empty log, as kube.
	if out := k.mustKubectl("", "logs", "pending"); out != "" {
		t.Errorf("kubectl logs pending: %q", out)
	}
	ctx := context.Background()
	pods := k.client.CoreV1().Pods("default")
	for _, c := range []struct {
		opts *corev1.PodLogOptions
		name string
		code int32
		msg  string
	}{
		{&corev1.PodLogOptions{}, "two", 400, "a container name must be specified for pod two, choose one of: [a b]"},
		{&corev1.PodLogOptions{Container: "c"}, "two", 400, "container c is not valid for pod two"},
		{&corev1.PodLogOptions{TailLines: ptr(int64(-1))}, "web", 422, `PodLogOptions "web" is invalid: tailLines: Invalid value: -1: must be greater than or equal to 0`},
		{&corev1.PodLogOptions{}, "nope", 404, `pods "nope" not found`},
		// The kubelet's own 404: its body is the message.
		{&corev1.PodLogOptions{Container: "missing"}, "web", 400, "container missing is not valid for pod web"},
	} {
		body, err := pods.GetLogs(c.name, c.opts).Stream(ctx) // as kubectl logs reads it
		if err == nil {
			body.Close()
		}
		var se *apierrors.StatusError
		if !errors.As(err, &se) || se.Status().Code != c.code || !strings.Contains(se.Status().Message, c.msg) {
			t.Errorf("log of %s %+v: %v, want %d %q", c.name, c.opts, err, c.code, c.msg)
		}
	}

	// A kubelet that cannot be reached: kube's answer is the client's own
	// error, bare (500, no reason), and kubectl prints it so.
	port := freePortRange(t, 1)
	lost := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "lost"}, Status: corev1.NodeStatus{
		Addresses:       []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}},
		DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: int32(port)}}}}
	if _, err := k.client.CoreV1().Nodes().Create(ctx, lost, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := pods.Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "stranded"}, Spec: corev1.PodSpec{NodeName: "lost",
		Containers: []corev1.Container{{Name: "app", Image: "busybox"}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(`Error from server: Get "https://127.0.0.1:%d/containerLogs/default/stranded/app": dial tcp 127.0.0.1:%d: connect: connection refused`, port, port)
	if out, err := k.kubectl("", "logs", "stranded"); err == nil || strings.TrimSpace(out) != want {
		t.Errorf("kubectl logs of a pod on an unreachable node: %v %q, want %q", err, out, want)
	}

	// Followed: a line the kubelet writes later reaches kubectl; when
	// kubectl goes, the kubelet's request ends.
	base := runtime.NumGoroutine()
	out, stop := k.background(t, "logs", "-f", "web")
	for _, want := range []string{"app line 1\n", "app line 2\n"} {
		if line, err := out.ReadString('\n'); line != want {
			t.Fatalf("kubectl logs -f: %q %v", line, err)
		}
	}
	kl.more <- "a later line"
	if line, err := out.ReadString('\n'); line != "a later line\n" {
		t.Fatalf("kubectl logs -f, later: %q %v", line, err)
	}
	stop()
	waitEnded(t, kl, "/containerLogs/default/web/app")
	settled(t, base)
}

func TestKubeletExec(t *testing.T) {
	k, kl := kubeletCluster(t)
	if out := k.mustKubectl("", "exec", "web", "--", "echo", "hello", "world"); out != "hello world\n" {
		t.Errorf("kubectl exec echo: %q", out)
	}
	if q := kl.queries(); q[len(q)-1] != "/exec/default/web/app?command=echo&command=hello&command=world&stderr=1&stdout=1" {
		t.Errorf("the kubelet was asked %q", q[len(q)-1])
	}
	if out := k.mustKubectl("from stdin\nand more\n", "exec", "-i", "two", "-c", "b", "--", "cat"); out != "from stdin\nand more\n" {
		t.Errorf("kubectl exec -i cat: %q", out)
	}
	out, err := k.kubectl("", "exec", "web", "--", "exit", "3")
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 3 || !strings.Contains(out, "exiting") {
		t.Errorf("kubectl exec exit 3: %v %q", err, out)
	}
	if out := k.mustKubectl("attached\n", "attach", "-i", "web"); !strings.Contains(out, "attached\n") {
		t.Errorf("kubectl attach -i: %q", out)
	}
	// No node: kube's 400.
	if out, err := k.kubectl("", "exec", "pending", "--", "echo"); err == nil || !strings.Contains(out, "pod pending does not have a host assigned") {
		t.Errorf("kubectl exec pending: %v %q", err, out)
	}
	ctx := context.Background()
	rc := k.client.CoreV1().RESTClient()
	for _, c := range []struct {
		sub, name, msg string
	}{
		{"exec", "pending", "pod pending does not have a host assigned"},
		{"attach", "pending", "pod pending does not have a host assigned"},
		{"portforward", "pending", "pod pending does not have a host assigned"},
		{"exec", "web", "Upgrade request required"},
	} {
		err := rc.Post().Namespace("default").Resource("pods").Name(c.name).SubResource(c.sub).Param("command", "echo").Do(ctx).Error()
		if !apierrors.IsBadRequest(err) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("POST %s/%s: %v, want 400 %q", c.name, c.sub, err, c.msg)
		}
	}

	// kubectl goes: the kubelet's exec ends, no goroutine stays in kapi.
	base := runtime.NumGoroutine()
	lines, stop := k.background(t, "exec", "web", "--", "wait")
	if line, err := lines.ReadString('\n'); line != "waiting\n" {
		t.Fatalf("kubectl exec wait: %q %v", line, err)
	}
	stop()
	waitEnded(t, kl, "/exec/default/web/app")
	settled(t, base)
}

func TestKubeletPortForward(t *testing.T) {
	k, kl := kubeletCluster(t)
	// The pod's server: echoes what it reads.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	base := runtime.NumGoroutine()
	out, stop := k.background(t, "port-forward", "pod/web", ":"+port)
	line, err := out.ReadString('\n')
	m := regexp.MustCompile(`Forwarding from 127\.0\.0\.1:(\d+) -> ` + port).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("kubectl port-forward: %q %v", line, err)
	}
	c, err := net.Dial("tcp", "127.0.0.1:"+m[1])
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "ping through the kubelet\n")
	if got, err := bufio.NewReader(c).ReadString('\n'); got != "ping through the kubelet\n" {
		t.Errorf("through the port forward: %q %v", got, err)
	}
	c.Close()
	stop()
	waitEnded(t, kl, "/portForward/default/web")
	settled(t, base)
}

func TestKubeletNodeProxy(t *testing.T) {
	k, _ := kubeletCluster(t)
	out := k.mustKubectl("", "get", "--raw", "/api/v1/nodes/n1/proxy/pods?a=b")
	if out != "kubelet GET /pods?a=b user=kube-apiserver-kubelet-client" {
		t.Errorf("nodes/n1/proxy/pods: %q", out)
	}
	if out, err := k.kubectl("", "get", "--raw", "/api/v1/nodes/nope/proxy/pods"); err == nil || !strings.Contains(out, `nodes "nope" not found`) {
		t.Errorf("nodes/nope/proxy: %v %q", err, out)
	}
}

// A user allowed to get pods/exec but not to create it cannot exec,
// over WebSocket (a GET, which kube also authorizes as create) or SPDY
// (a POST: create); one allowed both can.
func TestKubeletExecAuthorization(t *testing.T) {
	k, _ := kubeletCluster(t)
	ctx := context.Background()
	for user, verbs := range map[string][]string{"alice": {"get"}, "bob": {"get", "create"}} {
		role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: user, Namespace: "default"}, Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get"}},
			{APIGroups: []string{""}, Resources: []string{"pods/exec"}, Verbs: verbs}}}
		if _, err := k.client.RbacV1().Roles("default").Create(ctx, role, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: user, Namespace: "default"},
			RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: user},
			Subjects: []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "User", Name: user}}}
		if _, err := k.client.RbacV1().RoleBindings("default").Create(ctx, rb, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	out, err := k.kubectl("", "--as", "alice", "exec", "web", "--", "echo", "hi")
	if err == nil || !strings.Contains(out, `User "alice" cannot create resource "pods/exec" in API group "" in the namespace "default"`) {
		t.Errorf("alice's exec: %v %q", err, out)
	}
	// The WebSocket's GET passes authorization as get, then is refused
	// for create.
	cfg := rest.CopyConfig(k.rest)
	cfg.Impersonate.UserName = "alice"
	alice := kubernetes.NewForConfigOrDie(cfg)
	err = alice.CoreV1().RESTClient().Get().Namespace("default").Resource("pods").Name("web").SubResource("exec").Param("command", "echo").Do(ctx).Error()
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `cannot create resource "pods/exec"`) {
		t.Errorf("alice's GET of pods/exec: %v", err)
	}
	if out := k.mustKubectl("", "--as", "bob", "exec", "web", "--", "echo", "hi"); out != "hi\n" {
		t.Errorf("bob's exec: %q", out)
	}
}
