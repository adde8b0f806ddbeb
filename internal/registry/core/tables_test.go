package core

import (
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

var now = time.Date(2026, 5, 6, 12, 0, 0, 0, time.UTC)

func ago(d time.Duration) metav1.Time { return metav1.NewTime(now.Add(-d)) }

func row(t *testing.T, name string, obj runtime.Object) []interface{} {
	t.Helper()
	for _, r := range Resources() {
		if r.Name == name {
			cells := r.TableRow(obj, now)
			if len(cells) != len(r.TableColumns()) {
				t.Fatalf("%d cells for %d columns", len(cells), len(r.TableColumns()))
			}
			return cells
		}
	}
	t.Fatalf("no row %s", name)
	return nil
}

func columnNames(t *testing.T, name string) []string {
	t.Helper()
	for _, r := range Resources() {
		if r.Name == name {
			var names []string
			for _, c := range r.TableColumns() {
				if c.Priority == 0 {
					names = append(names, c.Name)
				} else {
					names = append(names, c.Name+"*")
				}
			}
			return names
		}
	}
	return nil
}

func check(t *testing.T, got []interface{}, want ...interface{}) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("\n got %#v\nwant %#v", got, want)
	}
}

func TestPodTable(t *testing.T) {
	if got, want := columnNames(t, "pods"), []string{"Name", "Ready", "Status", "Restarts", "Age", "IP*", "Node*", "Nominated Node*", "Readiness Gates*"}; !reflect.DeepEqual(got, want) {
		t.Errorf("columns %v", got)
	}
	running := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", CreationTimestamp: ago(5 * time.Minute)},
		Spec: corev1.PodSpec{NodeName: "node-a", Containers: []corev1.Container{{Name: "app"}, {Name: "proxy"}},
			ReadinessGates: []corev1.PodReadinessGate{{ConditionType: "example.com/lb"}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIPs: []corev1.PodIP{{IP: "10.0.0.5"}, {IP: "fd00::5"}},
			Conditions: []corev1.PodCondition{{Type: "example.com/lb", Status: corev1.ConditionTrue}},
			ContainerStatuses: []corev1.ContainerStatus{
				{Name: "app", Ready: true, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}},
				{Name: "proxy", Ready: true, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}},
			}},
	}
	check(t, row(t, "pods", running), "web", "2/2", "Running", "0", "5m", "10.0.0.5", "node-a", "<none>", "1/1")

	crashing := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "bad", CreationTimestamp: ago(2 * time.Hour)},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, NominatedNodeName: "node-b",
			ContainerStatuses: []corev1.ContainerStatus{{Name: "app", RestartCount: 3,
				State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
				LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, FinishedAt: ago(90 * time.Second)}},
			}}},
	}
	check(t, row(t, "pods", crashing), "bad", "0/1", "CrashLoopBackOff", "3 (90s ago)", "120m", "<none>", "<none>", "node-b", "<none>")

	initializing := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "init", CreationTimestamp: ago(3 * 24 * time.Hour)},
		Spec:       corev1.PodSpec{InitContainers: []corev1.Container{{Name: "a"}, {Name: "b"}}, Containers: []corev1.Container{{Name: "app"}}},
		Status: corev1.PodStatus{Phase: corev1.PodPending, InitContainerStatuses: []corev1.ContainerStatus{
			{Name: "a", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0}}},
			{Name: "b", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}},
		}},
	}
	check(t, row(t, "pods", initializing)[:4], "init", "0/1", "Init:1/2", "0")

	deleting := running.DeepCopy()
	deleting.DeletionTimestamp = &metav1.Time{Time: now}
	check(t, row(t, "pods", deleting)[:3], "web", "2/2", "Terminating")

	completed := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "job-x"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}}},
		Status: corev1.PodStatus{Phase: corev1.PodSucceeded, ContainerStatuses: []corev1.ContainerStatus{{Name: "app",
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Completed"}}}}},
	}
	check(t, row(t, "pods", completed)[:5], "job-x", "0/1", "Completed", "0", "<unknown>")
}

func TestServiceTable(t *testing.T) {
	if got, want := columnNames(t, "services"), []string{"Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age", "Selector*"}; !reflect.DeepEqual(got, want) {
		t.Errorf("columns %v", got)
	}
	clusterIP := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", CreationTimestamp: ago(36 * time.Hour)},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIPs: []string{"10.96.0.10", "fd00::10"},
			Selector: map[string]string{"app": "web"},
			Ports:    []corev1.ServicePort{{Port: 80, Protocol: corev1.ProtocolTCP}, {Port: 53, Protocol: corev1.ProtocolUDP}}},
	}
	check(t, row(t, "services", clusterIP), "web", "ClusterIP", "10.96.0.10", "<none>", "80/TCP,53/UDP", "36h", "app=web")

	lb := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "lb", CreationTimestamp: ago(10 * time.Second)},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, ClusterIPs: []string{"10.96.0.11"},
			Ports: []corev1.ServicePort{{Port: 443, NodePort: 30443, Protocol: corev1.ProtocolTCP}}},
	}
	check(t, row(t, "services", lb), "lb", "LoadBalancer", "10.96.0.11", "<pending>", "443:30443/TCP", "10s", "<none>")
	lb.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "203.0.113.9"}, {Hostname: "lb.example.com"}}
	lb.Spec.ExternalIPs = []string{"198.51.100.1"}
	check(t, row(t, "services", lb)[3:4], "203.0.113.9,lb.example.com,198.51.100.1")

	external := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "ext"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "db.example.com"}}
	check(t, row(t, "services", external)[1:5], "ExternalName", "<none>", "db.example.com", "<none>")
}

func TestNodeTable(t *testing.T) {
	if got, want := columnNames(t, "nodes"), []string{"Name", "Status", "Roles", "Age", "Version", "Internal-IP*", "External-IP*", "OS-Image*", "Kernel-Version*", "Container-Runtime*"}; !reflect.DeepEqual(got, want) {
		t.Errorf("columns %v", got)
	}
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "cp-1", CreationTimestamp: ago(400 * 24 * time.Hour),
			Labels: map[string]string{"node-role.kubernetes.io/control-plane": "", "kubernetes.io/role": "master", "zone": "a"}},
		Spec: corev1.NodeSpec{Unschedulable: true},
		Status: corev1.NodeStatus{
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse}, {Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
			Addresses:  []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: "cp-1"}, {Type: corev1.NodeInternalIP, Address: "192.168.1.10"}},
			NodeInfo:   corev1.NodeSystemInfo{KubeletVersion: "v1.37.2", OSImage: "Debian GNU/Linux 13", KernelVersion: "6.12.0"},
		},
	}
	check(t, row(t, "nodes", n), "cp-1", "Ready,SchedulingDisabled", "control-plane,master", "400d", "v1.37.2",
		"192.168.1.10", "<none>", "Debian GNU/Linux 13", "6.12.0", "<unknown>")

	bare := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "new"},
		Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionUnknown}}}}
	check(t, row(t, "nodes", bare)[:3], "new", "NotReady", "<none>")
	bare.Status.Conditions = nil
	check(t, row(t, "nodes", bare)[1:2], "Unknown")
}

func TestEventTable(t *testing.T) {
	if got, want := columnNames(t, "events"), []string{"Last Seen", "Type", "Reason", "Object", "Subobject*", "Source*", "Message", "First Seen*", "Count*", "Name*"}; !reflect.DeepEqual(got, want) {
		t.Errorf("columns %v", got)
	}
	legacy := &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: "web.1", Namespace: "default"},
		InvolvedObject: corev1.ObjectReference{Kind: "Deployment", Name: "web"},
		Reason:         "ScalingReplicaSet", Message: "Scaled up replica set web-7d to 3\n", Type: "Normal",
		Source:         corev1.EventSource{Component: "deployment-controller"},
		FirstTimestamp: ago(10 * time.Minute), LastTimestamp: ago(3 * time.Minute), Count: 2,
	}
	check(t, row(t, "events", legacy), "3m", "Normal", "ScalingReplicaSet", "deployment/web", "",
		"deployment-controller", "Scaled up replica set web-7d to 3", "10m", int64(2), "web.1")

	// An event of the new API: no timestamps or count, only eventTime.
	modern := &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: "node.2"},
		InvolvedObject: corev1.ObjectReference{Kind: "Node"},
		Reason:         "Starting", Type: "Normal",
		EventTime:           metav1.NewMicroTime(now.Add(-45 * time.Second)),
		ReportingController: "kubelet", ReportingInstance: "node-a",
	}
	check(t, row(t, "events", modern), "45s", "Normal", "Starting", "node", "", "kubelet, node-a", "", "45s", int64(1), "node.2")
}

func TestSmallTables(t *testing.T) {
	created := ago(90 * time.Minute)
	check(t, row(t, "namespaces", &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "dev", CreationTimestamp: created},
		Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}}), "dev", "Active", "90m")
	check(t, row(t, "configmaps", &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg", CreationTimestamp: created},
		Data: map[string]string{"a": "1"}, BinaryData: map[string][]byte{"b": nil}}), "cfg", int64(2), "90m")
	check(t, row(t, "secrets", &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "tls", CreationTimestamp: created},
		Type: corev1.SecretTypeTLS, Data: map[string][]byte{"tls.crt": nil, "tls.key": nil}}), "tls", "kubernetes.io/tls", int64(2), "90m")
	check(t, row(t, "endpoints", &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: "web", CreationTimestamp: created},
		Subsets: []corev1.EndpointSubset{{
			Addresses: []corev1.EndpointAddress{{IP: "10.0.0.1"}, {IP: "10.0.0.2"}, {IP: "fd00::3"}},
			Ports:     []corev1.EndpointPort{{Port: 80}, {Port: 443}},
		}}}), "web", "10.0.0.1:80,10.0.0.2:80,[fd00::3]:80 + 3 more...", "90m")
	check(t, row(t, "limitranges", &corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Name: "lr", CreationTimestamp: created}}),
		"lr", "2026-05-06T10:30:00Z")
}
