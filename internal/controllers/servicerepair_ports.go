package controllers

import (
	"context"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
)

// NodePortBitmap is the node-port allocator the repair rewrites
// (allocation.NodePorts).
type NodePortBitmap interface {
	Range() string
	Contains(port int) bool
	Repair(ctx context.Context, keep func(held []int) ([]int, error)) error
}

// NodePortRepair is kube-apiserver's portallocator repair loop
// (portallocator/controller/repair.go): every Interval it rebuilds the
// node-port bitmap from the Services. A port a Service holds but the
// bitmap lacks is marked again (event PortNotAllocated); one held twice
// or outside the range is reported (PortAlreadyAllocated,
// PortOutOfRange); a port marked that no Service holds (a crash between
// the allocation and the Service's write) is freed on the third run that
// finds it so, which leaves time for a Service being created to be
// written.
type NodePortRepair struct {
	env      *Env
	ports    NodePortBitmap
	client   kubernetes.Interface
	Interval time.Duration
	// leaks counts down, per port marked that no Service holds, the runs
	// before it is freed.
	leaks map[int]int
}

// numRepairsBeforeLeakCleanup is kube's.
const numRepairsBeforeLeakCleanup = 3

// RepairInterval is how often kube-apiserver's repair loops run.
const RepairInterval = 3 * time.Minute

// NewNodePortRepair returns the loop; it acts as system:apiserver, as the
// loop runs inside kube-apiserver.
func NewNodePortRepair(env *Env, ports NodePortBitmap, interval time.Duration) *NodePortRepair {
	if interval <= 0 {
		interval = RepairInterval
	}
	return &NodePortRepair{env: env, ports: ports, Interval: interval, leaks: map[int]int{},
		client: kubernetes.NewForConfigOrDie(env.ClientForUser("system:apiserver"))}
}

var servicesGVR = schema.GroupVersionResource{Version: "v1", Resource: "services"}

// Run repairs until ctx ends.
func (c *NodePortRepair) Run(ctx context.Context) {
	services := c.env.Informers.For(servicesGVR)
	if !waitSynced(ctx, services) {
		return
	}
	broadcaster := events.NewBroadcaster(&events.EventSinkImpl{Interface: c.client.EventsV1()})
	broadcaster.StartRecordingToSink(ctx.Done())
	defer broadcaster.Shutdown()
	recorder := broadcaster.NewRecorder(scheme.Scheme, "portallocator-repair-controller")
	t := time.NewTicker(c.Interval)
	defer t.Stop()
	for {
		if err := c.runOnce(ctx, recorder); err != nil && ctx.Err() == nil {
			klog.ErrorS(err, "portallocator-repair-controller")
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

type serviceEvent struct {
	svc                  *corev1.Service
	reason, action, note string
}

func (c *NodePortRepair) runOnce(ctx context.Context, recorder events.EventRecorder) error {
	var found []serviceEvent
	var leaks map[int]int
	err := c.ports.Repair(ctx, func(held []int) ([]int, error) {
		found, leaks = nil, make(map[int]int, len(c.leaks))
		for p, n := range c.leaks {
			leaks[p] = n
		}
		stored := map[int]bool{}
		for _, p := range held {
			stored[p] = true
		}
		rebuilt := map[int]bool{}
		report := func(svc *corev1.Service, reason, note string) {
			found = append(found, serviceEvent{svc, reason, "PortAllocation", note})
		}
		// The Services as they are now, read after the bitmap, as kube's
		// repair reads them: the cache may still show one just deleted,
		// whose port the delete has released, and the repair would take
		// it again for nobody.
		list, err := c.client.CoreV1().Services("").List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		for i := range list.Items {
			svc := &list.Items[i]
			for _, port := range serviceNodePorts(svc) {
				switch {
				case !c.ports.Contains(port):
					report(svc, "PortOutOfRange", fmt.Sprintf("Port %d is not within the port range %s; please recreate service", port, c.ports.Range()))
				case rebuilt[port]:
					report(svc, "PortAlreadyAllocated", fmt.Sprintf("Port %d was assigned to multiple services; please recreate service", port))
				default:
					rebuilt[port] = true
					if stored[port] {
						delete(stored, port)
					} else {
						report(svc, "PortNotAllocated", fmt.Sprintf("Port %d is not allocated; repairing", port))
					}
					delete(leaks, port)
				}
			}
		}
		for port := range stored {
			count, flagged := leaks[port]
			if !flagged {
				klog.Warningf("the node port %d may have leaked: flagging for later clean up", port)
				count = numRepairsBeforeLeakCleanup - 1
			}
			if count > 0 {
				leaks[port] = count - 1
				rebuilt[port] = true
				continue
			}
			klog.Warningf("the node port %d appears to have leaked: cleaning up", port)
			delete(leaks, port)
		}
		out := make([]int, 0, len(rebuilt))
		for p := range rebuilt {
			out = append(out, p)
		}
		slices.Sort(out)
		return out, nil
	})
	if err != nil {
		return fmt.Errorf("unable to persist the updated port allocations: %w", err)
	}
	c.leaks = leaks
	for _, e := range found {
		recorder.Eventf(e.svc, nil, corev1.EventTypeWarning, e.reason, e.action, "%s", e.note)
		klog.Warningf("service %s/%s: %s", e.svc.Namespace, e.svc.Name, e.note)
	}
	return nil
}

// serviceNodePorts are the node ports a Service holds, as kube's
// collectServiceNodePorts: one node port under two protocols counts
// once, under the same protocol twice; the health check port too.
func serviceNodePorts(svc *corev1.Service) []int {
	var out []int
	seen := map[int]map[corev1.Protocol]bool{}
	for _, p := range svc.Spec.Ports {
		port := int(p.NodePort)
		if port == 0 {
			continue
		}
		protos := seen[port]
		switch {
		case protos == nil:
			protos = map[corev1.Protocol]bool{p.Protocol: true}
			out = append(out, port)
		case protos[p.Protocol]:
			out = append(out, port)
		default:
			protos[p.Protocol] = true
		}
		seen[port] = protos
	}
	if hc := int(svc.Spec.HealthCheckNodePort); hc != 0 {
		if protos := seen[hc]; protos == nil || protos[corev1.ProtocolTCP] {
			out = append(out, hc)
		}
	}
	return out
}
