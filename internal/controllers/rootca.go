package controllers

import (
	"context"
	"maps"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/workqueue"
)

// RootCAConfigMap is the ConfigMap every namespace gets, holding the CA
// bundle pods verify the API server with ("ca.crt").
const RootCAConfigMap = "kube-root-ca.crt"

// rootCADescription is kube-controller-manager's annotation text.
const rootCADescription = "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. " +
	"No other usage is guaranteed across distributions of Kubernetes clusters."

const descriptionAnnotation = "kubernetes.io/description"

// RootCAPublisher writes ConfigMap kube-root-ca.crt, with the CA bundle
// under "ca.crt", into every namespace, and puts it back when it is
// deleted or changed, as kube-controller-manager's
// root-ca-certificate-publisher does.
type RootCAPublisher struct {
	env    *Env
	client kubernetes.Interface
	rootCA string
	queue  workqueue.TypedRateLimitingInterface[string]
}

// NewRootCAPublisher returns the loop publishing rootCA (PEM); it acts as
// kube-system/root-ca-cert-publisher.
func NewRootCAPublisher(env *Env, rootCA []byte) *RootCAPublisher {
	return &RootCAPublisher{env: env, client: kubernetes.NewForConfigOrDie(env.ClientFor("root-ca-cert-publisher")),
		rootCA: string(rootCA), queue: NewQueue[string]("root_ca_cert_publisher")}
}

var configMapsGVR = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}

// Run works until ctx ends.
func (c *RootCAPublisher) Run(ctx context.Context) {
	namespaces := c.env.Informers.For(namespacesGVR)
	configMaps := c.env.Informers.For(configMapsGVR)
	namespaces.Handle(ctx, func(ev Event) {
		if ev.Type != watch.Deleted {
			c.queue.Add(ev.Object.(*corev1.Namespace).Name)
		}
	})
	configMaps.Handle(ctx, func(ev Event) {
		// Only a deletion or a change can make it wrong.
		if cm := ev.Object.(*corev1.ConfigMap); cm.Name == RootCAConfigMap && ev.Type != watch.Added {
			c.queue.Add(cm.Namespace)
		}
	})
	work(ctx, c.queue, RootCAConfigMap+" of namespace", func(ns string) error {
		return c.sync(ctx, namespaces, configMaps, ns)
	}, namespaces, configMaps)
}

func (c *RootCAPublisher) sync(ctx context.Context, namespaces, configMaps *Informer, ns string) error {
	nsObj, ok := namespaces.Get("", ns)
	if !ok || nsObj.(*corev1.Namespace).Status.Phase == corev1.NamespaceTerminating {
		return nil
	}
	data := map[string]string{"ca.crt": c.rootCA}
	obj, ok := configMaps.Get(ns, RootCAConfigMap)
	if !ok {
		cm := &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: RootCAConfigMap, Annotations: map[string]string{descriptionAnnotation: rootCADescription}},
			Data:       data,
		}
		_, err := c.client.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{})
		// A namespace gone or going is no reason to retry; one made
		// meanwhile comes back through the informer if it is wrong.
		if apierrors.IsNotFound(err) || apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) || apierrors.IsAlreadyExists(err) {
			return nil
		}
		return err
	}
	cm := obj.(*corev1.ConfigMap)
	if maps.Equal(cm.Data, data) && cm.Annotations[descriptionAnnotation] != "" {
		return nil
	}
	cm = cm.DeepCopy()
	cm.Data = data
	if cm.Annotations == nil {
		cm.Annotations = map[string]string{}
	}
	cm.Annotations[descriptionAnnotation] = rootCADescription
	_, err := c.client.CoreV1().ConfigMaps(ns).Update(ctx, cm, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		// Deleted or changed meanwhile: the informer brings it back here.
		return nil
	}
	return err
}
