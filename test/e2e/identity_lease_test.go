package e2e

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"kapi/internal/controllers"
	"kapi/internal/server"
)

// TestAPIServerIdentityLease: each API server keeps a kube-system Lease
// named by its identity, as kube-apiserver (APIServerIdentity): kube's
// name for the host unless the configuration names another, its
// labels, an hour's duration, renewed while it runs, gone when it stops
// and replaced when it starts again; and every server collects the
// expired identity Leases of its component, no other Lease.
func TestAPIServerIdentityLease(t *testing.T) {
	t.Parallel()
	url := startEtcd(t)
	opts := func(id string) func(*server.Config) {
		return func(c *server.Config) {
			c.EtcdServers = []string{url}
			c.APIServerID = id
			c.IdentityLease = controllers.IdentityLeaseTiming{RenewInterval: 200 * time.Millisecond, GCPeriod: 300 * time.Millisecond}
		}
	}
	a := startKapi(t, opts(""))
	b := startKapi(t, opts("apiserver-b"))
	idA, err := server.DefaultAPIServerID()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	leases := a.client.CoordinationV1().Leases("kube-system")
	identities := func() []string {
		list, err := leases.List(ctx, metav1.ListOptions{LabelSelector: "apiserver.kubernetes.io/identity=kube-apiserver"})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, l := range list.Items {
			names = append(names, l.Name)
		}
		slices.Sort(names)
		return names
	}
	want := []string{"apiserver-b", idA}
	slices.Sort(want)
	if err := waitUntil(30*time.Second, func() bool { return slices.Equal(identities(), want) }); err != nil {
		t.Fatalf("identity leases %v, want %v", identities(), want)
	}

	first, err := leases.Get(ctx, idA, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	if got := first.Labels["kubernetes.io/hostname"]; got != host {
		t.Errorf("hostname label %q, want %q", got, host)
	}
	if h := deref(first.Spec.HolderIdentity); !strings.HasPrefix(h, idA+"_") || len(h) != len(idA)+1+36 {
		t.Errorf("holder %q, want %s_<uuid>", h, idA)
	}
	if got, want := first.Annotations["kubernetes.io/peer-advertise-address"], strings.TrimPrefix(a.srv.URL, "https://"); got != want {
		t.Errorf("peer-advertise-address %q, want %q", got, want)
	}
	if d := deref(first.Spec.LeaseDurationSeconds); d != 3600 {
		t.Errorf("leaseDurationSeconds %d, want 3600", d)
	}
	if first.Spec.RenewTime == nil {
		t.Fatal("no renewTime")
	}
	if err := waitUntil(10*time.Second, func() bool {
		l, err := leases.Get(ctx, idA, metav1.GetOptions{})
		return err == nil && l.Spec.RenewTime != nil && l.Spec.RenewTime.After(first.Spec.RenewTime.Time)
	}); err != nil {
		t.Error("the lease was not renewed")
	}

	// The GC: an expired identity lease of kube-apiserver goes, one of
	// another component, one unlabelled and one fresh stay.
	long := metav1.NewMicroTime(time.Now().Add(-2 * time.Hour))
	lease := func(name string, labels map[string]string, renew metav1.MicroTime) {
		t.Helper()
		l := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
			Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr(name), LeaseDurationSeconds: ptr[int32](3600), RenewTime: &renew}}
		if _, err := leases.Create(ctx, l, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	lease("apiserver-gone", map[string]string{"apiserver.kubernetes.io/identity": "kube-apiserver"}, long)
	lease("apiserver-fresh", map[string]string{"apiserver.kubernetes.io/identity": "kube-apiserver"}, metav1.NowMicro())
	lease("other-gone", map[string]string{"apiserver.kubernetes.io/identity": "sample-apiserver"}, long)
	lease("plain-gone", nil, long)
	if err := waitUntil(30*time.Second, func() bool {
		_, err := leases.Get(ctx, "apiserver-gone", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	}); err != nil {
		t.Error("the expired identity lease was not collected")
	}
	time.Sleep(time.Second) // several collections
	for _, name := range []string{"apiserver-fresh", "other-gone", "plain-gone"} {
		if _, err := leases.Get(ctx, name, metav1.GetOptions{}); err != nil {
			t.Errorf("lease %s: %v, want it kept", name, err)
		}
	}
	if err := leases.Delete(ctx, "apiserver-fresh", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}

	// A stop deletes the server's lease; a start replaces what a server
	// that died left with a lease of its own.
	b.stop()
	if err := waitUntil(10*time.Second, func() bool { return slices.Equal(identities(), []string{idA}) }); err != nil {
		t.Errorf("identity leases after b stopped: %v, want [%s]", identities(), idA)
	}
	lease("apiserver-b", map[string]string{"apiserver.kubernetes.io/identity": "kube-apiserver"}, metav1.NowMicro())
	left, err := leases.Get(ctx, "apiserver-b", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b.start()
	var again *coordinationv1.Lease
	if err := waitUntil(30*time.Second, func() bool {
		again, err = leases.Get(ctx, "apiserver-b", metav1.GetOptions{})
		return err == nil && again.UID != left.UID
	}); err != nil {
		t.Fatalf("the lease left behind was not replaced: %+v, %v", again, err)
	}
	if h := deref(again.Spec.HolderIdentity); !strings.HasPrefix(h, "apiserver-b_") {
		t.Errorf("the new lease is held by %q", h)
	}
}

// deref is *p, or p's zero value when p is nil.
func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
