package controllers

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/workqueue"
)

// ServiceAccounts gives every active namespace its "default"
// ServiceAccount, and makes it again when it is deleted, as
// kube-controller-manager's service account controller does: the
// ServiceAccount admission plugin refuses pods in a namespace without it.
type ServiceAccounts struct {
	env    *Env
	client kubernetes.Interface
	queue  workqueue.TypedRateLimitingInterface[string]
}

// NewServiceAccounts returns the loop; it acts as
// kube-system/service-account-controller.
func NewServiceAccounts(env *Env) *ServiceAccounts {
	return &ServiceAccounts{env: env, client: kubernetes.NewForConfigOrDie(env.ClientFor("service-account-controller")),
		queue: NewQueue[string]("serviceaccount")}
}

var serviceAccountsGVR = schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}

// Run works until ctx ends.
func (c *ServiceAccounts) Run(ctx context.Context) {
	namespaces := c.env.Informers.For(namespacesGVR)
	accounts := c.env.Informers.For(serviceAccountsGVR)
	namespaces.Handle(ctx, func(ev Event) {
		if ev.Type != watch.Deleted {
			c.queue.Add(ev.Object.(*corev1.Namespace).Name)
		}
	})
	accounts.Handle(ctx, func(ev Event) {
		if sa := ev.Object.(*corev1.ServiceAccount); ev.Type == watch.Deleted && sa.Name == "default" {
			c.queue.Add(sa.Namespace)
		}
	})
	work(ctx, c.queue, "default service account of namespace", func(ns string) error {
		return c.sync(ctx, namespaces, accounts, ns)
	}, namespaces, accounts)
}

func (c *ServiceAccounts) sync(ctx context.Context, namespaces, accounts *Informer, name string) error {
	obj, ok := namespaces.Get("", name)
	if !ok {
		return nil
	}
	if ns := obj.(*corev1.Namespace); ns.DeletionTimestamp != nil || ns.Status.Phase == corev1.NamespaceTerminating {
		return nil
	}
	if _, ok := accounts.Get(name, "default"); ok {
		return nil
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: name}}
	_, err := c.client.CoreV1().ServiceAccounts(name).Create(ctx, sa, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) || apierrors.IsForbidden(err) || apierrors.IsNotFound(err) {
		// Made meanwhile, or the namespace is going.
		return nil
	}
	return err
}
