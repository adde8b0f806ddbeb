package controllers

import (
	"context"
	"os"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/component-helpers/apimachinery/lease"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
)

// IdentityLeaseLabel marks an API server's identity Lease and names its
// component (kube-apiserver's IdentityLeaseComponentLabelKey); the GC and
// tools that count API servers select on it.
const IdentityLeaseLabel = "apiserver.kubernetes.io/identity"

// IdentityLeaseTiming times an API server's identity Lease. kube-apiserver
// has no flags for them (its integration tests set package variables);
// zero fields are kube's: the Lease lasts an hour, is renewed every 10 s,
// and the expired ones are collected every hour.
type IdentityLeaseTiming struct {
	Duration      time.Duration
	RenewInterval time.Duration
	GCPeriod      time.Duration
}

func (t IdentityLeaseTiming) withDefaults() IdentityLeaseTiming {
	if t.Duration == 0 {
		t.Duration = time.Hour
	}
	if t.RenewInterval == 0 {
		t.RenewInterval = 10 * time.Second
	}
	if t.GCPeriod == 0 {
		t.GCPeriod = time.Hour
	}
	return t
}

// IdentityLease keeps the kube-system Lease named id while ctx lasts, as
// kube-apiserver keeps its own (APIServerIdentity, on by default):
// labelled with the component and the host's name, held by id_<a uuid of
// this start>. A Lease of the same name left by an earlier start is
// deleted first, and this one is deleted when ctx ends, so that a Lease
// names a running server (as kube's lease controller's Start and Stop
// do; the server still serves its loopback then). The renewals are
// component-helpers' lease controller, kube's own.
//
// The Lease names the address its peers reach it at (ip:port) in
// kube's kubernetes.io/peer-advertise-address annotation, as kube 1.37
// (UnknownVersionInteroperabilityProxy, on by default) does; kapi
// replicas serve the same resources, and proxy nothing to each other.
func IdentityLease(client kubernetes.Interface, id, component, peerAddress string, t IdentityLeaseTiming) func(context.Context) {
	t = t.withDefaults()
	return func(ctx context.Context) {
		leases := client.CoordinationV1().Leases(metav1.NamespaceSystem)
		if err := leases.Delete(ctx, id, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			// The controller takes the Lease over anyway.
			klog.ErrorS(err, "error deleting old lease", "lease", klog.KRef(metav1.NamespaceSystem, id))
		}
		c := lease.NewController(clock.RealClock{}, client, id+"_"+string(uuid.NewUUID()), int32(t.Duration/time.Second),
			nil, t.RenewInterval, id, metav1.NamespaceSystem, identityLabels(component, peerAddress))
		c.Run(ctx)
		c.Stop()
	}
}

// identityLabels labels and annotates the Lease as kube's
// labelAPIServerHeartbeatFunc does.
func identityLabels(component, peerAddress string) lease.ProcessLeaseFunc {
	return func(l *coordinationv1.Lease) error {
		hostname, err := os.Hostname()
		if err != nil {
			return err
		}
		if l.Labels == nil {
			l.Labels = map[string]string{}
		}
		l.Labels[IdentityLeaseLabel] = component
		l.Labels[corev1.LabelHostname] = hostname
		if peerAddress != "" {
			if l.Annotations == nil {
				l.Annotations = map[string]string{}
			}
			l.Annotations[corev1.AnnotationPeerAdvertiseAddress] = peerAddress
		}
		return nil
	}
}

// IdentityLeaseGC deletes, every GCPeriod, the identity Leases of the
// component's API servers that expired (renewed last more than their
// duration ago, or without a renewal time or duration), as
// kube-apiserver's apiserverleasegc: so a server that died without
// deleting its Lease is counted out within the hour. Every replica runs
// it; each checks the Lease again before it deletes it.
func IdentityLeaseGC(client kubernetes.Interface, component string, t IdentityLeaseTiming) func(context.Context) {
	t = t.withDefaults()
	leases := client.CoordinationV1().Leases(metav1.NamespaceSystem)
	selector := IdentityLeaseLabel + "=" + component
	return func(ctx context.Context) {
		wait.UntilWithContext(ctx, func(ctx context.Context) {
			list, err := leases.List(ctx, metav1.ListOptions{LabelSelector: selector})
			if err != nil {
				if ctx.Err() == nil {
					klog.ErrorS(err, "Error while listing apiserver leases")
				}
				return
			}
			now := time.Now()
			for i := range list.Items {
				if !leaseExpired(&list.Items[i], now) {
					continue
				}
				name := list.Items[i].Name
				l, err := leases.Get(ctx, name, metav1.GetOptions{})
				if apierrors.IsNotFound(err) {
					continue // another replica's GC took it
				}
				if err != nil {
					klog.ErrorS(err, "Error getting lease")
					continue
				}
				if !leaseExpired(l, time.Now()) {
					continue
				}
				// Unlike kube's, only the revision read: a renewal since is
				// a conflict, and the Lease stays.
				precondition := metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: &l.ResourceVersion}}
				if err := leases.Delete(ctx, name, precondition); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
					klog.ErrorS(err, "Error deleting lease")
				}
			}
		}, t.GCPeriod)
	}
}

func leaseExpired(l *coordinationv1.Lease, now time.Time) bool {
	return l.Spec.RenewTime == nil || l.Spec.LeaseDurationSeconds == nil ||
		l.Spec.RenewTime.Add(time.Duration(*l.Spec.LeaseDurationSeconds)*time.Second).Before(now)
}
