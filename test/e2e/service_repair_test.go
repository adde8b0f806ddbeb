package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/server"
)

// repairEvent waits for an event of reason about the object name
// reported by controller, and returns it.
func repairEvent(t *testing.T, k *kapi, ns, controller, reason, name string) eventsv1.Event {
	t.Helper()
	var found eventsv1.Event
	if err := waitUntil(90*time.Second, func() bool {
		list, err := k.client.EventsV1().Events(ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			return false
		}
		for _, e := range list.Items {
			if e.Reason == reason && e.Regarding.Name == name && e.ReportingController == controller {
				found = e
				return true
			}
		}
		return false
	}); err != nil {
		t.Fatalf("no %s event of %s about %s/%s", reason, controller, ns, name)
	}
	return found
}

func nodePortService(name string, port int32) *corev1.Service {
	svc := clusterIPService(name)
	svc.Spec.Type = corev1.ServiceTypeNodePort
	svc.Spec.Ports[0].NodePort = port
	return svc
}

// TestServiceRepairClusterIP: a Service whose IPAddress is deleted gets
// it back, reported as kube's ClusterIPNotAllocated; the IPAddress and
// node port of a Service that was never written (its allocation made, the
// process gone before the write: here the Service is removed from etcd
// behind kapi's back) are freed, the address a minute after it was made
// (IPAddressNotAllocated), the port on the third pass, and another
// Service can take both.
func TestServiceRepairClusterIP(t *testing.T) {
	k := startKapi(t, func(c *server.Config) { c.ServiceRepairInterval = time.Second })
	ctx := context.Background()
	services := k.client.CoreV1().Services("default")
	ips := k.client.NetworkingV1().IPAddresses()

	a, err := services.Create(ctx, clusterIPService("a"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	addr, err := ips.Get(ctx, a.Spec.ClusterIP, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := ips.Delete(ctx, a.Spec.ClusterIP, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	var back *networkingv1.IPAddress
	if err := waitUntil(60*time.Second, func() bool {
		back, err = ips.Get(ctx, a.Spec.ClusterIP, metav1.GetOptions{})
		return err == nil && back.UID != addr.UID
	}); err != nil {
		t.Fatalf("the IPAddress %s did not come back", a.Spec.ClusterIP)
	}
	if ref := back.Spec.ParentRef; ref == nil || ref.Resource != "services" || ref.Namespace != "default" || ref.Name != "a" ||
		back.Labels[networkingv1.LabelManagedBy] != "ipallocator.k8s.io" || back.Labels[networkingv1.LabelIPAddressFamily] != "IPv4" {
		t.Errorf("the IPAddress made again: %+v", back)
	}
	ev := repairEvent(t, k, "default", "ipallocator-repair-controller", "ClusterIPNotAllocated", "a")
	if want := "Cluster IP [IPv4]: " + a.Spec.ClusterIP + " is not allocated; repairing"; ev.Note != want || ev.Type != corev1.EventTypeWarning || ev.Action != "ClusterIPAllocation" {
		t.Errorf("event %s %s %q, want Warning ClusterIPAllocation %q", ev.Type, ev.Action, ev.Note, want)
	}

	b, err := services.Create(ctx, nodePortService("b", 0), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ip, port := b.Spec.ClusterIP, b.Spec.Ports[0].NodePort
	if _, err := k.srv.Etcd().Delete(ctx, "/registry/services/specs/default/b"); err != nil {
		t.Fatal(err)
	}
	if err := waitUntil(90*time.Second, func() bool {
		_, err := ips.Get(ctx, ip, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	}); err != nil {
		t.Fatalf("the leaked IPAddress %s is still there", ip)
	}
	ev = repairEvent(t, k, "", "ipallocator-repair-controller", "IPAddressNotAllocated", ip)
	if want := "IPAddress: " + ip + " for Service default/b appears to have leaked: cleaning up"; ev.Note != want {
		t.Errorf("event note %q, want %q", ev.Note, want)
	}
	c := nodePortService("c", port)
	c.Spec.ClusterIP = ip
	if err := waitUntil(60*time.Second, func() bool {
		_, err = services.Create(ctx, c, metav1.CreateOptions{})
		return err == nil
	}); err != nil {
		t.Fatalf("the leaked IP %s and node port %d were not freed: %v", ip, port, err)
	}
}

// TestServiceRepairNodePorts: with the node-port bitmap lost (removed from
// etcd), the repair marks each Service's node port again, reported as
// kube's PortNotAllocated, so that no other Service can take it. The
// repair is kube-apiserver's: it runs with kapi's controllers all off
// (--controllers=, as beside kube-controller-manager).
func TestServiceRepairNodePorts(t *testing.T) {
	k := startKapi(t, func(c *server.Config) { c.ServiceRepairInterval, c.Controllers = time.Second, []string{} })
	ctx := context.Background()
	services := k.client.CoreV1().Services("default")
	d, err := services.Create(ctx, nodePortService("d", 0), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	port := d.Spec.Ports[0].NodePort
	if _, err := k.srv.Etcd().Delete(ctx, "/registry/ranges/servicenodeports"); err != nil {
		t.Fatal(err)
	}
	ev := repairEvent(t, k, "default", "portallocator-repair-controller", "PortNotAllocated", "d")
	if want := "Port " + fmt.Sprint(port) + " is not allocated; repairing"; ev.Note != want || ev.Action != "PortAllocation" || ev.Type != corev1.EventTypeWarning {
		t.Errorf("event %s %s %q, want Warning PortAllocation %q", ev.Type, ev.Action, ev.Note, want)
	}
	_, err = services.Create(ctx, nodePortService("e", port), metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "provided port is already allocated") {
		t.Errorf("a Service taking the repaired node port %d: %v, want 422 provided port is already allocated", port, err)
	}
}

// TestServiceClusterIPPatch: an old client that changes only the singular
// spec.clusterIP is told, as by kube-apiserver, that clusterIPs[0] may not
// change (clusterIPs is normalized from clusterIP first), not that the
// two fields disagree; a patch that keeps the IP and clears clusterIPs
// keeps them.
func TestServiceClusterIPPatch(t *testing.T) {
	k := startKapi(t)
	ctx := context.Background()
	svc, err := k.client.CoreV1().Services("default").Create(ctx, clusterIPService("s"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ip := svc.Spec.ClusterIP
	out, err := k.kubectl("", "patch", "svc", "s", "--type=merge", "-p", `{"spec":{"clusterIP":"10.96.0.77"}}`)
	if err == nil {
		t.Fatalf("the patch was accepted:\n%s", out)
	}
	// The value is printed as apimachinery's field errors print a list.
	want := `The Service "s" is invalid: ` + field.Invalid(field.NewPath("spec", "clusterIPs").Index(0), []string{"10.96.0.77"}, "may not change once set").Error()
	if !strings.Contains(out, want) {
		t.Errorf("kubectl said\n%s\nwant\n%s", out, want)
	}
	if strings.Contains(out, "first value must match") {
		t.Errorf("kubectl said %q", out)
	}
	// Same IP, clusterIPs dropped by an old client: kept.
	k.mustKubectl("", "patch", "svc", "s", "--type=merge", "-p", `{"spec":{"clusterIP":"`+ip+`","clusterIPs":null,"selector":{"app":"t"}}}`)
	got, err := k.client.CoreV1().Services("default").Get(ctx, "s", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Spec.ClusterIP != ip || len(got.Spec.ClusterIPs) != 1 || got.Spec.ClusterIPs[0] != ip || got.Spec.Selector["app"] != "t" {
		t.Errorf("after the patch: clusterIP %q clusterIPs %v selector %v; want %s", got.Spec.ClusterIP, got.Spec.ClusterIPs, got.Spec.Selector, ip)
	}
}

// TestServiceRepairReplicas: of two replicas with --leader-elect, one
// repairs (holds the Lease kube-system/kapi-service-repair); kill -9 of it
// hands the repair to the other.
func TestServiceRepairReplicas(t *testing.T) {
	etcd := startEtcd(t)
	rs := []*replica{startReplica(t, "r0", etcd, "--leader-elect"), startReplica(t, "r1", etcd, "--leader-elect")}
	repairs := func(r *replica) bool {
		v, err := metric(context.Background(), r.client, "leader_election_master_status", `name="kapi-service-repair"`)
		return err == nil && v == 1
	}
	var leader, other *replica
	if err := waitUntil(90*time.Second, func() bool {
		a, b := repairs(rs[0]), repairs(rs[1])
		switch {
		case a && !b:
			leader, other = rs[0], rs[1]
		case b && !a:
			leader, other = rs[1], rs[0]
		default:
			return false
		}
		return true
	}); err != nil {
		t.Fatal("not exactly one replica holds the repair lease")
	}
	lease, err := other.client.CoordinationV1().Leases("kube-system").Get(context.Background(), "kapi-service-repair", metav1.GetOptions{})
	if err != nil || lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "" {
		t.Fatalf("the Lease kube-system/kapi-service-repair: %+v %v", lease, err)
	}
	leader.cmd.Process.Kill()
	leader.cmd.Wait()
	if err := waitUntil(90*time.Second, func() bool { return repairs(other) }); err != nil {
		t.Fatalf("%s did not take the repair over", other.name)
	}
}
