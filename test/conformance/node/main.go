// Command node creates the Nodes that kube's conformance tests need to find
// (run.sh): Ready, untainted, with capacity.
//
//	go run ./test/conformance/node <kubeconfig>                     # one Node, then exit
//	go run ./test/conformance/node -nodes 2 -kubelet <kubeconfig>   # two, and stand in for their kubelets
//
// With -kubelet it stays and does, through the API only, what a kubelet
// does that kube-controller-manager's controllers wait for: it renews each
// Node's Lease, reports every pod bound to a Node Running and Ready at
// once (no container runs: specs that read a container's output still
// fail), or Pending when an image is one kube's tests use as unpullable,
// takes in-place resizes at once, and deletes a pod for good once it is
// marked for deletion, as a kubelet does when its containers have
// stopped (a pod a finalizer keeps is reported Failed, its containers
// killed). The pods of Jobs it runs (run.go): their shell scripts run on
// this machine, and their exit codes end the pods. With -agnhost (root
// only) it also runs the pods of agnhost's webhook servers, each in a
// network namespace holding the pod's IP (serve.go).
//
//	node -nodes 2 -kubelet -agnhost ./agnhost <kubeconfig>
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/retry"
)

// nodeName is the i-th Node's name: conformance-node, conformance-node-2, ...
func nodeName(i int) string {
	if i == 0 {
		return "conformance-node"
	}
	return fmt.Sprintf("conformance-node-%d", i+1)
}

// nodeIP is the address of the Node named by nodeName(i), its pods' host IP.
func nodeIP(i int) string { return fmt.Sprintf("127.0.0.%d", i+1) }

func main() {
	kubelet := flag.Bool("kubelet", false, "stay, and stand in for the Nodes' kubelets")
	count := flag.Int("nodes", 1, "how many Nodes")
	agnhost := flag.String("agnhost", "", "with -kubelet: run the pods of agnhost's servers with this agnhost, in a folder laid out as its image's root (root only: each pod in a network namespace)")
	flag.Parse()
	if flag.NArg() != 1 || *count < 1 {
		fmt.Fprintln(os.Stderr, "usage: node [-nodes N] [-kubelet] <kubeconfig>")
		os.Exit(2)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	client := kubernetes.NewForConfigOrDie(cfg)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var names []string
	for i := range *count {
		names = append(names, nodeName(i))
		if err := createNode(ctx, client, nodeName(i), nodeIP(i)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	if *kubelet {
		runKubelet(ctx, client, names, *agnhost)
	}
}

func createNode(ctx context.Context, client kubernetes.Interface, nodeName, ip string) error {
	nodes := client.CoreV1().Nodes()
	capacity := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("8Gi"),
		corev1.ResourcePods: resource.MustParse("110")}
	n, err := nodes.Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: nodeName,
		Labels: map[string]string{corev1.LabelHostname: nodeName, corev1.LabelOSStable: "linux"}}}, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	if err != nil {
		return err
	}
	// TaintNodesByCondition taints a node without a Ready condition; the
	// status makes it Ready, and the taint goes.
	n.Status = corev1.NodeStatus{Capacity: capacity, Allocatable: capacity,
		Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
			LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()}},
		Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: ip}, {Type: corev1.NodeHostName, Address: nodeName}}}
	if _, err = nodes.UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
		return err
	}
	// kube-controller-manager's node loops write the Node too (taints,
	// annotations): the untainting is retried on a conflict.
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		n, err := nodes.Get(ctx, nodeName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		n.Spec.Taints = nil
		_, err = nodes.Update(ctx, n, metav1.UpdateOptions{})
		return err
	})
}

// runKubelet renews each Node's Lease every 10 s, as a kubelet does (the
// node lifecycle controller marks a node whose Lease ages unreachable), and
// moves the Nodes' pods along until ctx ends.
func runKubelet(ctx context.Context, client kubernetes.Interface, nodes []string, agnhost string) {
	for _, n := range nodes {
		go renewLease(ctx, client, n)
	}
	hostIPs := map[string]string{} // by node
	for i, n := range nodes {
		hostIPs[n] = nodeIP(i)
	}
	factory := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.FieldSelector = fields.OneTermNotEqualSelector("spec.nodeName", "").String()
	}))
	var ips atomic.Uint32
	root, err := os.MkdirTemp("", "kapi-standin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	defer os.RemoveAll(root)
	jobs := &runner{client: client, root: root, running: map[string]*process{}}
	var srv *servers
	if agnhost != "" {
		srv = newServers(client, agnhost, root)
		defer srv.stopAll()
	}
	sync := func(obj any) {
		pod, ok := obj.(*corev1.Pod)
		if !ok || hostIPs[pod.Spec.NodeName] == "" {
			return
		}
		switch {
		case pod.DeletionTimestamp != nil:
			if srv != nil {
				srv.stop(pod)
			}
			if jobs.terminate(pod) {
				return // its script's exit ends the pod
			}
		case pod.Status.Phase == corev1.PodRunning:
			jobs.start(ctx, pod)
			if srv != nil {
				srv.start(ctx, pod)
			}
		}
		if err := syncPod(ctx, client, pod, hostIPs[pod.Spec.NodeName], &ips); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			fmt.Fprintf(os.Stderr, "pod %s/%s: %v\n", pod.Namespace, pod.Name, err)
		}
	}
	pods := factory.Core().V1().Pods().Informer()
	gone := func(obj any) {
		if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = d.Obj
		}
		if pod, ok := obj.(*corev1.Pod); ok && srv != nil {
			srv.stop(pod)
		}
	}
	if _, err := pods.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: sync, UpdateFunc: func(_, obj any) { sync(obj) }, DeleteFunc: gone}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	factory.Start(ctx.Done())
	<-ctx.Done()
	factory.Shutdown()
}

func renewLease(ctx context.Context, client kubernetes.Interface, nodeName string) {
	leases := client.CoordinationV1().Leases(corev1.NamespaceNodeLease)
	for {
		now := metav1.NewMicroTime(time.Now())
		l, err := leases.Get(ctx, nodeName, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			_, err = leases.Create(ctx, &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: nodeName},
				Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr(nodeName), LeaseDurationSeconds: ptr[int32](40), RenewTime: &now}}, metav1.CreateOptions{})
		case err == nil:
			l.Spec.RenewTime = &now
			_, err = leases.Update(ctx, l, metav1.UpdateOptions{})
		}
		if err != nil && ctx.Err() == nil {
			fmt.Fprintln(os.Stderr, "node lease:", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(10 * time.Second):
		}
	}
}

// syncPod deletes a pod marked for deletion (a second later), and
// reports a new pod Running with every container started and ready, or,
// when a container's image cannot be pulled, Pending with that container
// waiting in ErrImagePull; a started pod it keeps current (syncStarted).
func syncPod(ctx context.Context, client kubernetes.Interface, pod *corev1.Pod, hostIP string, ips *atomic.Uint32) error {
	pods := client.CoreV1().Pods(pod.Namespace)
	if pod.DeletionTimestamp != nil {
		if len(pod.Finalizers) > 0 && pod.Status.Phase != corev1.PodFailed && pod.Status.Phase != corev1.PodSucceeded {
			// A finalizer keeps the pod: its containers are stopped
			// (killed: exit 137) and it is reported Failed, as a kubelet
			// reports a pod it has terminated.
			if err := terminate(ctx, client, pod); err != nil {
				return err
			}
		}
		// A kubelet stops the containers first: the pod goes a moment
		// after its graceful deletion began, not at once (kube's specs
		// read it in between).
		time.AfterFunc(time.Second, func() {
			err := pods.Delete(ctx, pod.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr[int64](0),
				Preconditions: &metav1.Preconditions{UID: &pod.UID}})
			if err != nil && ctx.Err() == nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
				fmt.Fprintln(os.Stderr, "deleting pod:", err)
			}
		})
		return nil
	}
	if pod.Status.StartTime != nil {
		return syncStarted(ctx, client, pod)
	}
	now := metav1.Now()
	p := pod.DeepCopy()
	n := ips.Add(1)
	ip := fmt.Sprintf("10.244.%d.%d", n/250, n%250+2)
	p.Status.HostIP, p.Status.HostIPs = hostIP, []corev1.HostIP{{IP: hostIP}}
	p.Status.PodIP, p.Status.PodIPs = ip, []corev1.PodIP{{IP: ip}}
	p.Status.StartTime = &now
	pulled := true
	for _, c := range p.Spec.Containers {
		pulled = pulled && !unpullable(c.Image)
	}
	p.Status.Phase, p.Status.Conditions = corev1.PodPending, nil
	ready := corev1.ConditionFalse
	if pulled {
		p.Status.Phase, ready = corev1.PodRunning, corev1.ConditionTrue
	}
	for _, t := range []corev1.PodConditionType{corev1.PodReadyToStartContainers, corev1.PodInitialized, corev1.PodScheduled, corev1.ContainersReady, corev1.PodReady} {
		st := corev1.ConditionTrue
		if t == corev1.ContainersReady || t == corev1.PodReady {
			st = ready
		}
		p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: t, Status: st, LastTransitionTime: now, ObservedGeneration: p.Generation})
	}
	status := func(cs []corev1.Container, running bool) []corev1.ContainerStatus {
		var out []corev1.ContainerStatus
		for i, c := range cs {
			s := corev1.ContainerStatus{Name: c.Name, Image: c.Image}
			switch {
			case unpullable(c.Image):
				s.Started = ptr(false)
				s.State.Waiting = &corev1.ContainerStateWaiting{Reason: "ErrImagePull", Message: "failed to pull image " + c.Image}
			case running:
				s.ImageID, s.ContainerID = "docker-pullable://"+c.Image, fmt.Sprintf("containerd://%s-%d", p.UID, i)
				s.Ready, s.Started = pulled, ptr(true)
				s.State.Running = &corev1.ContainerStateRunning{StartedAt: now}
				s.Resources, s.AllocatedResources = c.Resources.DeepCopy(), c.Resources.Requests.DeepCopy()
			default:
				s.ImageID, s.ContainerID = "docker-pullable://"+c.Image, fmt.Sprintf("containerd://%s-init-%d", p.UID, i)
				s.Started = ptr(false)
				s.State.Terminated = &corev1.ContainerStateTerminated{Reason: "Completed", StartedAt: now, FinishedAt: now}
			}
			out = append(out, s)
		}
		return out
	}
	p.Status.InitContainerStatuses = status(p.Spec.InitContainers, false)
	p.Status.ContainerStatuses = status(p.Spec.Containers, true)
	p.Status.ObservedGeneration = p.Generation
	_, err := pods.UpdateStatus(ctx, p, metav1.UpdateOptions{})
	return err
}

// terminate reports pod's containers killed and the pod Failed and not
// ready.
func terminate(ctx context.Context, client kubernetes.Interface, pod *corev1.Pod) error {
	p := pod.DeepCopy()
	now := metav1.Now()
	for i := range p.Status.ContainerStatuses {
		s := &p.Status.ContainerStatuses[i]
		started := now
		if s.State.Running != nil {
			started = s.State.Running.StartedAt
		}
		s.State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 137, Reason: "Error",
			StartedAt: started, FinishedAt: now, ContainerID: s.ContainerID}}
		s.Ready, s.Started = false, ptr(false)
	}
	for i, c := range p.Status.Conditions {
		if c.Type == corev1.ContainersReady || c.Type == corev1.PodReady || c.Type == corev1.PodReadyToStartContainers {
			p.Status.Conditions[i].Status, p.Status.Conditions[i].LastTransitionTime = corev1.ConditionFalse, now
		}
	}
	p.Status.Phase = corev1.PodFailed
	_, err := client.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{})
	return err
}

// syncStarted reports a resized pod's new resources as its containers', as a
// kubelet that resizes at once (a running container's status carries
// its resources: the API server then takes in-place resizes),
// ephemeral containers added since (kubectl debug) running, and the
// generation it has seen (status.observedGeneration).
func syncStarted(ctx context.Context, client kubernetes.Interface, pod *corev1.Pod) error {
	p := pod.DeepCopy()
	changed := false
	for _, c := range p.Spec.EphemeralContainers[min(len(p.Status.EphemeralContainerStatuses), len(p.Spec.EphemeralContainers)):] {
		p.Status.EphemeralContainerStatuses = append(p.Status.EphemeralContainerStatuses, corev1.ContainerStatus{
			Name: c.Name, Image: c.Image, ImageID: "docker-pullable://" + c.Image, Started: ptr(true),
			ContainerID: fmt.Sprintf("containerd://%s-debug-%s", p.UID, c.Name),
			State:       corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}}})
		changed = true
	}
	for i := range p.Status.ContainerStatuses {
		s := &p.Status.ContainerStatuses[i]
		if s.State.Running == nil || i >= len(p.Spec.Containers) || s.Name != p.Spec.Containers[i].Name {
			continue
		}
		want := p.Spec.Containers[i].Resources
		if s.Resources == nil || !equality.Semantic.DeepEqual(*s.Resources, want) {
			s.Resources, s.AllocatedResources, changed = want.DeepCopy(), want.Requests.DeepCopy(), true
		}
	}
	if !changed && p.Status.ObservedGeneration == p.Generation {
		return nil
	}
	var conds []corev1.PodCondition
	for _, c := range p.Status.Conditions {
		if c.Type != corev1.PodResizePending && c.Type != corev1.PodResizeInProgress {
			c.ObservedGeneration = p.Generation
			conds = append(conds, c)
		}
	}
	p.Status.Conditions, p.Status.ObservedGeneration = conds, p.Generation
	_, err := client.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{})
	return err
}

// unpullable reports whether a real kubelet would fail to pull image: the
// images kube's conformance tests use on purpose for that (the tags
// "non-existent" and "404"); every other image is taken as pulled.
func unpullable(image string) bool {
	return strings.HasSuffix(image, ":non-existent") || strings.HasSuffix(image, ":404")
}

func ptr[T any](v T) *T { return &v }
