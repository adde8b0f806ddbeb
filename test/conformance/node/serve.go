package main

// Running kube's test servers. kube's admission webhook, CRD conversion
// webhook and custom resource field selector specs deploy agnhost (kube's
// e2e test image) as a webhook server behind a Service, and kapi calls it
// at an endpoint the EndpointSlice controller took from the pod's IP; the
// proxy specs deploy agnhost's porter, which kapi's pod and service
// proxies reach the same way. With
// -agnhost (an agnhost built from kube's sources, test/images/agnhost) the
// stand-in runs those pods: agnhost with the container's arguments, in a
// network namespace of its own that holds the pod's IP (a veth pair, the
// machine's end routing the pod's IP; root only), so that several pods
// listen on the same port at once as in a cluster, with the container's
// environment and its secret, configMap and projected volumes (the
// service account's token among them) as folders. Other pods keep
// running as before, without a process.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// servedCommands are agnhost's subcommands the stand-in runs: servers
// that need nothing of a container but their port.
var servedCommands = map[string]bool{"webhook": true, "crd-conversion-webhook": true, "porter": true}

// gateway is the machine's address on every pod's veth: the pods' default
// route, and the source of the machine's connections to them.
const gateway = "169.254.1.1"

// netnsPrefix names the network namespaces of the stand-in's pods, so that
// a start removes those a killed stand-in left.
const netnsPrefix = "kapi-pod-"

// servers runs pods' agnhost servers, one process and network namespace
// per pod.
type servers struct {
	client  kubernetes.Interface
	agnhost string // the agnhost binary, in a folder laid out as its image's root
	root    string // the volumes' folders and the servers' logs

	mu      sync.Mutex
	next    int                   // the next network's number
	running map[types.UID]*served // by pod UID
}

// served is a pod's server process and network.
type served struct {
	netns string
	cmd   *exec.Cmd
	done  chan struct{} // closed when the process has exited
}

func newServers(client kubernetes.Interface, agnhost, root string) *servers {
	// Networks a killed stand-in left.
	if out, err := exec.Command("ip", "netns", "list").Output(); err == nil {
		for _, line := range strings.Split(string(out), "\n") {
			if f := strings.Fields(line); len(f) > 0 && strings.HasPrefix(f[0], netnsPrefix) {
				exec.Command("ip", "netns", "del", f[0]).Run()
			}
		}
	}
	return &servers{client: client, agnhost: agnhost, root: root, running: map[types.UID]*served{}}
}

// agnhostArgs are the arguments of pod's agnhost server, if it runs one
// the stand-in serves.
func agnhostArgs(pod *corev1.Pod) ([]string, bool) {
	if len(pod.Spec.Containers) != 1 {
		return nil, false
	}
	c := pod.Spec.Containers[0]
	argv := append(append([]string{}, c.Command...), c.Args...)
	if len(c.Command) > 0 {
		if c.Command[0] != "/agnhost" {
			return nil, false
		}
		argv = argv[1:] // the image's entrypoint
	}
	if !strings.Contains(c.Image, "/agnhost:") || len(argv) == 0 || !servedCommands[argv[0]] {
		return nil, false
	}
	return argv, true
}

// start runs pod's server once the pod has its IP, unless it runs already.
func (s *servers) start(ctx context.Context, pod *corev1.Pod) {
	args, ok := agnhostArgs(pod)
	if !ok || pod.Status.PodIP == "" {
		return
	}
	s.mu.Lock()
	if _, ok := s.running[pod.UID]; ok {
		s.mu.Unlock()
		return
	}
	s.next++
	n := s.next
	p := &served{netns: fmt.Sprintf("%s%d", netnsPrefix, n), done: make(chan struct{})}
	s.running[pod.UID] = p
	s.mu.Unlock()
	if err := s.run(ctx, pod, args, n, p); err != nil {
		// Tried again on the pod's next change.
		s.mu.Lock()
		delete(s.running, pod.UID)
		s.mu.Unlock()
		fmt.Fprintf(os.Stderr, "pod %s/%s: %v\n", pod.Namespace, pod.Name, err)
	}
}

func (s *servers) run(ctx context.Context, pod *corev1.Pod, args []string, n int, p *served) error {
	defer func() {
		if p.cmd == nil {
			close(p.done)
			exec.Command("ip", "netns", "del", p.netns).Run()
		}
	}()
	c := pod.Spec.Containers[0]
	mounts, err := s.volumes(ctx, pod)
	if err != nil {
		return err
	}
	// A volume mounted below /run (the service account's token at
	// /var/run/secrets/kubernetes.io/serviceaccount, which client-go's
	// in-cluster configuration reads) is bound there in the process's own
	// mount namespace (ip netns exec makes one), on a tmpfs over /run;
	// elsewhere its path in the arguments becomes its folder's.
	var binds []string
	for _, m := range c.VolumeMounts {
		dir, ok := mounts[m.Name]
		if !ok {
			continue
		}
		if p := strings.TrimPrefix(m.MountPath, "/var"); strings.HasPrefix(p, "/run/") {
			binds = append(binds, dir, p)
			continue
		}
		for i := range args {
			args[i] = strings.ReplaceAll(args[i], m.MountPath, dir)
		}
	}
	env, err := s.env(ctx, pod)
	if err != nil {
		return err
	}
	if err := network(p.netns, fmt.Sprintf("kapi%d", n), pod.Status.PodIP); err != nil {
		return err
	}
	log, err := os.Create(filepath.Join(s.root, fmt.Sprintf("%s_%s_%s.log", pod.Namespace, pod.Name, pod.UID)))
	if err != nil {
		return err
	}
	argv := append([]string{"netns", "exec", p.netns, s.agnhost}, args...)
	if len(binds) > 0 {
		argv = append(append(append([]string{"netns", "exec", p.netns, "sh", "-c", bindScript, "sh"}, binds...), "--", s.agnhost), args...)
	}
	cmd := exec.Command("ip", argv...)
	cmd.Env = env
	// agnhost's folder stands for its image's root, the servers' working
	// directory: porter's TLS certificate is there.
	cmd.Dir = filepath.Dir(s.agnhost)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		log.Close()
		return err
	}
	p.cmd = cmd
	go func() {
		cmd.Wait()
		log.Close()
		exec.Command("ip", "netns", "del", p.netns).Run()
		close(p.done)
	}()
	return nil
}

// bindScript mounts a tmpfs over /run, binds each folder given (pairs of
// folder and path up to "--") at its path, and runs the rest.
const bindScript = `mount -t tmpfs tmpfs /run || exit 1
while [ "$1" != -- ]; do mkdir -p "$2" && mount --bind "$1" "$2" || exit 1; shift 2; done
shift
exec "$@"`

// env is the server's environment: the container's, and the API server's
// address as a kubelet gives it to every container (the kubernetes
// Service's cluster IP and port), which client-go's in-cluster
// configuration reads.
func (s *servers) env(ctx context.Context, pod *corev1.Pod) ([]string, error) {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=/tmp"}
	svc, err := s.client.CoreV1().Services(metav1.NamespaceDefault).Get(ctx, "kubernetes", metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	if len(svc.Spec.Ports) > 0 {
		env = append(env, "KUBERNETES_SERVICE_HOST="+svc.Spec.ClusterIP, fmt.Sprintf("KUBERNETES_SERVICE_PORT=%d", svc.Spec.Ports[0].Port))
	}
	for _, e := range pod.Spec.Containers[0].Env {
		env = append(env, e.Name+"="+envValue(pod, e))
	}
	return env, nil
}

// stop ends the server of a pod that is being deleted or is gone: SIGTERM,
// then SIGKILL after the grace period, as a kubelet stops a container.
func (s *servers) stop(pod *corev1.Pod) {
	s.mu.Lock()
	p, ok := s.running[pod.UID]
	delete(s.running, pod.UID)
	s.mu.Unlock()
	if !ok || p.cmd == nil {
		return
	}
	grace := time.Duration(ptrOr(pod.DeletionGracePeriodSeconds, 30)) * time.Second
	go func() {
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(grace):
			syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		}
	}()
}

// stopAll kills every server and waits for their networks to go, as the
// stand-in exits.
func (s *servers) stopAll() {
	s.mu.Lock()
	all := s.running
	s.running = map[types.UID]*served{}
	s.mu.Unlock()
	for _, p := range all {
		if p.cmd != nil {
			syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
	}
}

// network makes the network namespace name holding ip on eth0, one end of
// a veth pair whose other end, host, is the machine's: it routes ip, and
// holds the gateway the namespace's default route goes through.
func network(name, host, ip string) error {
	for _, args := range [][]string{
		{"netns", "add", name},
		{"link", "add", host, "type", "veth", "peer", "name", "eth0", "netns", name},
		{"-n", name, "addr", "add", ip + "/32", "dev", "eth0"},
		{"-n", name, "link", "set", "lo", "up"},
		{"-n", name, "link", "set", "eth0", "up"},
		{"addr", "add", gateway + "/32", "dev", host},
		{"link", "set", host, "up"},
		{"route", "add", ip + "/32", "dev", host, "src", gateway},
		{"-n", name, "route", "add", "default", "via", gateway, "dev", "eth0", "onlink"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	return nil
}

// volumes writes pod's secret, configMap and projected volumes into
// folders of their own.
func (s *servers) volumes(ctx context.Context, pod *corev1.Pod) (map[string]string, error) {
	out := map[string]string{}
	for _, v := range pod.Spec.Volumes {
		files, err := s.files(ctx, pod, v)
		if err != nil {
			return nil, err
		}
		if files == nil {
			continue
		}
		dir := filepath.Join(s.root, "pods", string(pod.UID), v.Name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		for path, data := range files {
			f := filepath.Join(dir, filepath.Clean("/"+path))
			if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
				return nil, err
			}
			if err := os.WriteFile(f, data, 0o644); err != nil {
				return nil, err
			}
		}
		out[v.Name] = dir
	}
	return out, nil
}

// files are the files of volume v by path, as a kubelet writes them: a
// secret's or configMap's keys (or the items named), and a projected
// volume's sources, its service account token requested for the pod as a
// kubelet requests it; nil for a volume of another kind.
func (s *servers) files(ctx context.Context, pod *corev1.Pod, v corev1.Volume) (map[string][]byte, error) {
	files := map[string][]byte{}
	add := func(data map[string][]byte, items []corev1.KeyToPath) {
		if len(items) == 0 {
			for k, d := range data {
				files[k] = d
			}
		}
		for _, it := range items {
			files[it.Path] = data[it.Key]
		}
	}
	secret := func(name string, items []corev1.KeyToPath) error {
		sec, err := s.client.CoreV1().Secrets(pod.Namespace).Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			add(sec.Data, items)
		}
		return err
	}
	configMap := func(name string, items []corev1.KeyToPath) error {
		cm, err := s.client.CoreV1().ConfigMaps(pod.Namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		data := map[string][]byte{}
		for k, d := range cm.Data {
			data[k] = []byte(d)
		}
		for k, d := range cm.BinaryData {
			data[k] = d
		}
		add(data, items)
		return nil
	}
	switch {
	case v.Secret != nil:
		return files, secret(v.Secret.SecretName, v.Secret.Items)
	case v.ConfigMap != nil:
		return files, configMap(v.ConfigMap.Name, v.ConfigMap.Items)
	case v.Projected == nil:
		return nil, nil
	}
	for _, src := range v.Projected.Sources {
		var err error
		switch {
		case src.Secret != nil:
			err = secret(src.Secret.Name, src.Secret.Items)
		case src.ConfigMap != nil:
			err = configMap(src.ConfigMap.Name, src.ConfigMap.Items)
		case src.DownwardAPI != nil:
			for _, it := range src.DownwardAPI.Items {
				if it.FieldRef != nil {
					files[it.Path] = []byte(fieldValue(pod, it.FieldRef.FieldPath))
				}
			}
		case src.ServiceAccountToken != nil:
			t := src.ServiceAccountToken
			req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: t.ExpirationSeconds,
				BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID}}}
			if t.Audience != "" {
				req.Spec.Audiences = []string{t.Audience}
			}
			var tr *authenticationv1.TokenRequest
			tr, err = s.client.CoreV1().ServiceAccounts(pod.Namespace).CreateToken(ctx, pod.Spec.ServiceAccountName, req, metav1.CreateOptions{})
			if err == nil {
				files[t.Path] = []byte(tr.Status.Token)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	return files, nil
}
