// Command node creates the Node that kube's conformance tests need to find
// (run.sh): Ready, untainted, with capacity.
//
//	go run ./test/conformance/node <kubeconfig>          # the Node, then exit
//	go run ./test/conformance/node -kubelet <kubeconfig> # and stand in for its kubelet
//
// With -kubelet it stays and does, through the API only, what a kubelet
// does that kube-controller-manager's controllers wait for: it renews the
// Node's Lease, reports every pod bound to the Node Running and Ready at
// once (no container runs: specs that read a container's output still
// fail), and deletes a pod for good once it is marked for deletion, as a
// kubelet does when its containers have stopped.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
)

const nodeName = "conformance-node"

func main() {
	kubelet := flag.Bool("kubelet", false, "stay, and stand in for the Node's kubelet")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: node [-kubelet] <kubeconfig>")
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
	if err := createNode(ctx, client); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if *kubelet {
		runKubelet(ctx, client)
	}
}

func createNode(ctx context.Context, client kubernetes.Interface) error {
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
		Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}, {Type: corev1.NodeHostName, Address: nodeName}}}
	if n, err = nodes.UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
		return err
	}
	n.Spec.Taints = nil
	_, err = nodes.Update(ctx, n, metav1.UpdateOptions{})
	return err
}

// runKubelet renews the Node's Lease every 10 s, as a kubelet does (the
// node lifecycle controller marks a node whose Lease ages unreachable), and
// moves the Node's pods along until ctx ends.
func runKubelet(ctx context.Context, client kubernetes.Interface) {
	go renewLease(ctx, client)
	factory := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", nodeName).String()
	}))
	var ips atomic.Uint32
	sync := func(obj any) {
		pod, ok := obj.(*corev1.Pod)
		if !ok {
			return
		}
		if err := syncPod(ctx, client, pod, &ips); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			fmt.Fprintf(os.Stderr, "pod %s/%s: %v\n", pod.Namespace, pod.Name, err)
		}
	}
	pods := factory.Core().V1().Pods().Informer()
	if _, err := pods.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: sync, UpdateFunc: func(_, obj any) { sync(obj) }}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	factory.Start(ctx.Done())
	<-ctx.Done()
	factory.Shutdown()
}

func renewLease(ctx context.Context, client kubernetes.Interface) {
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

// syncPod deletes a pod marked for deletion, and reports a pending pod
// Running with every container started and ready.
func syncPod(ctx context.Context, client kubernetes.Interface, pod *corev1.Pod, ips *atomic.Uint32) error {
	pods := client.CoreV1().Pods(pod.Namespace)
	if pod.DeletionTimestamp != nil {
		return pods.Delete(ctx, pod.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr[int64](0),
			Preconditions: &metav1.Preconditions{UID: &pod.UID}})
	}
	if pod.Status.Phase != "" && pod.Status.Phase != corev1.PodPending {
		return nil
	}
	now := metav1.Now()
	p := pod.DeepCopy()
	n := ips.Add(1)
	ip := fmt.Sprintf("10.244.%d.%d", n/250, n%250+2)
	p.Status.Phase = corev1.PodRunning
	p.Status.HostIP, p.Status.HostIPs = "127.0.0.1", []corev1.HostIP{{IP: "127.0.0.1"}}
	p.Status.PodIP, p.Status.PodIPs = ip, []corev1.PodIP{{IP: ip}}
	p.Status.StartTime = &now
	p.Status.Conditions = nil
	for _, t := range []corev1.PodConditionType{corev1.PodReadyToStartContainers, corev1.PodInitialized, corev1.PodScheduled, corev1.ContainersReady, corev1.PodReady} {
		p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: t, Status: corev1.ConditionTrue, LastTransitionTime: now})
	}
	status := func(cs []corev1.Container, ready bool) []corev1.ContainerStatus {
		var out []corev1.ContainerStatus
		for i, c := range cs {
			s := corev1.ContainerStatus{Name: c.Name, Image: c.Image, ImageID: "docker-pullable://" + c.Image,
				ContainerID: fmt.Sprintf("containerd://%s-%d", p.UID, i), Ready: ready, Started: ptr(ready)}
			if ready {
				s.State.Running = &corev1.ContainerStateRunning{StartedAt: now}
			} else {
				s.State.Terminated = &corev1.ContainerStateTerminated{Reason: "Completed", StartedAt: now, FinishedAt: now}
			}
			out = append(out, s)
		}
		return out
	}
	p.Status.InitContainerStatuses = status(p.Spec.InitContainers, false)
	p.Status.ContainerStatuses = status(p.Spec.Containers, true)
	_, err := pods.UpdateStatus(ctx, p, metav1.UpdateOptions{})
	return err
}

func ptr[T any](v T) *T { return &v }
