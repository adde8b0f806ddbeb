package controllers

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"

	"kapi/internal/registry"
)

// DefaultServiceAccounts gives every active namespace its "default"
// ServiceAccount, as kube-controller-manager's service account controller
// does: the ServiceAccount admission plugin refuses pods in a namespace
// without it.
type DefaultServiceAccounts struct {
	// Namespaces is an informer of the namespaces store, with its Changed
	// channel taken before it ran; Accounts the serviceaccounts store.
	Namespaces *Informer
	Changed    <-chan struct{}
	Accounts   *registry.Store
}

// Run works until ctx ends; it looks at every namespace at each change,
// and once a minute (an account deleted is made again).
func (c *DefaultServiceAccounts) Run(ctx context.Context) {
	select {
	case <-c.Namespaces.Synced():
	case <-ctx.Done():
		return
	}
	for {
		for _, obj := range c.Namespaces.List("") {
			ns := obj.(*corev1.Namespace)
			if ns.DeletionTimestamp != nil || ns.Status.Phase == corev1.NamespaceTerminating {
				continue
			}
			if err := c.ensure(ctx, ns.Name); err != nil && ctx.Err() == nil {
				klog.Warningf("default service account of namespace %s: %v", ns.Name, err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-c.Changed:
		case <-time.After(time.Minute):
		}
	}
}

func (c *DefaultServiceAccounts) ensure(ctx context.Context, ns string) error {
	_, err := c.Accounts.GetShared(ctx, ns, "default", &metav1.GetOptions{ResourceVersion: "0"})
	if !apierrors.IsNotFound(err) {
		return err
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: ns}}
	_, err = c.Accounts.Create(ctx, ns, sa, nil, false)
	if apierrors.IsAlreadyExists(err) || apierrors.IsForbidden(err) || apierrors.IsNotFound(err) {
		// Made meanwhile, or the namespace is going.
		return nil
	}
	return err
}
