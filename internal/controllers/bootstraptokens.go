package controllers

import (
	"context"
	"maps"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"

	"kapi/internal/authn/bootstraptoken"
)

// BootstrapSigner signs the cluster-info ConfigMap of kube-public with
// every bootstrap token that may sign, as kube-controller-manager's
// bootstrap-signer-controller does: for each token Secret of kube-system
// named for its id, not expired and marked usage-bootstrap-signing=true,
// the ConfigMap's "kubeconfig" signed (a detached JWS) under
// jws-kubeconfig-<id>; the signatures of other tokens are removed.
// kubeadm's discovery checks the signature of the token it was given
// before it trusts the cluster-info it read without credentials.
type BootstrapSigner struct {
	env    *Env
	client kubernetes.Interface
	queue  workqueueOf[string]
	now    func() time.Time
}

// NewBootstrapSigner returns the loop; it acts as
// kube-system/bootstrap-signer.
func NewBootstrapSigner(env *Env) *BootstrapSigner {
	return &BootstrapSigner{env: env, client: kubernetes.NewForConfigOrDie(env.ClientFor("bootstrap-signer")),
		queue: NewQueue[string]("bootstrap_signer_queue"), now: time.Now}
}

// isBootstrapToken reports whether o is a bootstrap token's Secret in
// kube-system, the only ones the two loops read.
func isBootstrapToken(o any) bool {
	s, ok := o.(*corev1.Secret)
	return ok && s.Type == bootstraptoken.SecretType && s.Namespace == metav1.NamespaceSystem
}

// Run works until ctx ends.
func (c *BootstrapSigner) Run(ctx context.Context) {
	secrets := c.env.Informers.For(secretsGVR)
	configMaps := c.env.Informers.For(configMapsGVR)
	// One key: any change of the ConfigMap or of a token signs it anew.
	const key = metav1.NamespacePublic + "/" + bootstraptoken.ClusterInfo
	configMaps.Handle(ctx, func(ev Event) {
		cm := ev.Object.(*corev1.ConfigMap)
		if ev.Type != watch.Deleted && cm.Namespace == metav1.NamespacePublic && cm.Name == bootstraptoken.ClusterInfo {
			c.queue.Add(key)
		}
	})
	secrets.Handle(ctx, func(ev Event) {
		if isBootstrapToken(ev.Object) {
			c.queue.Add(key)
		}
	})
	work(ctx, c.queue, "signing ConfigMap", func(string) error { return c.sign(ctx, secrets, configMaps) }, secrets, configMaps)
}

func (c *BootstrapSigner) sign(ctx context.Context, secrets, configMaps *Informer) error {
	obj, ok := configMaps.Get(metav1.NamespacePublic, bootstraptoken.ClusterInfo)
	if !ok {
		return nil
	}
	cm := obj.(*corev1.ConfigMap)
	content, ok := cm.Data[bootstraptoken.KubeConfigKey]
	if !ok {
		klog.V(3).InfoS("No key in ConfigMap", "key", bootstraptoken.KubeConfigKey, "configMap", klog.KObj(cm))
		return nil
	}
	data := maps.Clone(cm.Data)
	maps.DeleteFunc(data, func(k, _ string) bool { return strings.HasPrefix(k, bootstraptoken.SignaturePrefix) })
	now := c.now()
	for _, o := range secrets.List(metav1.NamespaceSystem) {
		if !isBootstrapToken(o) {
			continue
		}
		id, secret, ok := bootstraptoken.ForSigning(o.(*corev1.Secret), now)
		if !ok {
			continue
		}
		// Two Secrets of one id cannot both be named for it.
		data[bootstraptoken.SignaturePrefix+id] = bootstraptoken.DetachedSignature(content, id, secret)
	}
	if maps.Equal(data, cm.Data) {
		return nil
	}
	update := cm.DeepCopy()
	update.Data = data
	_, err := c.client.CoreV1().ConfigMaps(cm.Namespace).Update(ctx, update, metav1.UpdateOptions{})
	// As kube's signer: a conflict or a deletion comes back through the
	// informer as a change of the ConfigMap.
	if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// TokenCleaner deletes bootstrap tokens whose expiration has passed, as
// kube-controller-manager's token-cleaner-controller does: each token
// Secret of kube-system is looked at when it is added or changed and
// again when it expires, and deleted then (with its uid as a
// precondition). A token whose expiration cannot be read counts as
// expired.
type TokenCleaner struct {
	env    *Env
	client kubernetes.Interface
	queue  workqueueOf[string]
	now    func() time.Time
}

// NewTokenCleaner returns the loop; it acts as kube-system/token-cleaner.
func NewTokenCleaner(env *Env) *TokenCleaner {
	return &TokenCleaner{env: env, client: kubernetes.NewForConfigOrDie(env.ClientFor("token-cleaner")),
		queue: NewQueue[string]("token_cleaner"), now: time.Now}
}

// Run works until ctx ends.
func (c *TokenCleaner) Run(ctx context.Context) {
	secrets := c.env.Informers.For(secretsGVR)
	secrets.Handle(ctx, func(ev Event) {
		if ev.Type != watch.Deleted && isBootstrapToken(ev.Object) {
			c.queue.Add(ev.Object.(*corev1.Secret).Name)
		}
	})
	work(ctx, c.queue, "bootstrap token", func(name string) error { return c.sync(ctx, secrets, name) }, secrets)
}

func (c *TokenCleaner) sync(ctx context.Context, secrets *Informer, name string) error {
	obj, ok := secrets.Get(metav1.NamespaceSystem, name)
	if !ok || !isBootstrapToken(obj) {
		return nil
	}
	s := obj.(*corev1.Secret)
	left, expired := bootstraptoken.Expiration(s, c.now())
	if !expired {
		if left > 0 {
			c.queue.AddAfter(name, left)
		}
		return nil
	}
	klog.V(3).InfoS("Deleting expired secret", "secret", klog.KObj(s))
	uid := s.UID
	err := c.client.CoreV1().Secrets(s.Namespace).Delete(ctx, s.Name,
		metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
