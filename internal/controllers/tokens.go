package controllers

import (
	"bytes"
	"context"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
)

// Tokens is kube-controller-manager's serviceaccount-token controller
// (pkg/controller/serviceaccount/tokens_controller.go): a Secret of type
// kubernetes.io/service-account-token whose annotation
// kubernetes.io/service-account.name names a service account gets a
// legacy token of that account ("token"), the CA bundle ("ca.crt") and
// its namespace ("namespace"), and the annotation
// kubernetes.io/service-account.uid. A token Secret whose account does
// not exist (or has another uid than the Secret's annotation) is deleted;
// so are the token Secrets of a deleted account, and a deleted Secret
// leaves its account's secrets list.
//
// kube runs it with kube-controller-manager's own credentials, not a
// service account of its own (the service-account tokens it makes are
// what the others would need): it acts as user
// system:kube-controller-manager, bound to the ClusterRole of that name.
type Tokens struct {
	env    *Env
	client kubernetes.Interface
	sign   SignLegacyToken
	rootCA []byte

	accounts workqueueOf[accountKey]
	secrets  workqueueOf[tokenSecretKey]
}

// SignLegacyToken signs a legacy token of a service account for a Secret.
type SignLegacyToken func(ctx context.Context, namespace, serviceAccount, serviceAccountUID, secret string) (string, error)

type accountKey struct {
	namespace, name string
	uid             types.UID
}

type tokenSecretKey struct {
	namespace, name string
	uid             types.UID
	account         string
	accountUID      types.UID
}

// tokenRetries is kube's maxRetries: after that many failures a key is
// dropped until its object changes again.
const tokenRetries = 10

// NewTokens returns the loop.
func NewTokens(env *Env, sign SignLegacyToken, rootCA []byte) *Tokens {
	return &Tokens{env: env, client: kubernetes.NewForConfigOrDie(env.ClientForUser("system:kube-controller-manager")),
		sign: sign, rootCA: rootCA,
		accounts: NewQueue[accountKey]("serviceaccount_tokens_service"),
		secrets:  NewQueue[tokenSecretKey]("serviceaccount_tokens_secret")}
}

var secretsGVR = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}

// Run works until ctx ends.
func (c *Tokens) Run(ctx context.Context) {
	accounts := c.env.Informers.For(serviceAccountsGVR)
	secrets := c.env.Informers.For(secretsGVR)
	accounts.Handle(ctx, func(ev Event) {
		if sa := ev.Object.(*corev1.ServiceAccount); ev.Type == watch.Deleted {
			c.accounts.Add(accountKey{sa.Namespace, sa.Name, sa.UID})
		}
	})
	secrets.Handle(ctx, func(ev Event) {
		if s := ev.Object.(*corev1.Secret); s.Type == corev1.SecretTypeServiceAccountToken {
			c.secrets.Add(tokenSecretKey{s.Namespace, s.Name, s.UID,
				s.Annotations[corev1.ServiceAccountNameKey], types.UID(s.Annotations[corev1.ServiceAccountUIDKey])})
		}
	})
	go func() {
		<-ctx.Done()
		c.accounts.ShutDown()
		c.secrets.ShutDown()
	}()
	if !waitSynced(ctx, accounts, secrets) {
		return
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		drain(ctx, "serviceaccount-token-controller", c.accounts, func(k accountKey) (bool, error) { return c.syncAccount(ctx, secrets, accounts, k) })
	}()
	drain(ctx, "serviceaccount-token-controller", c.secrets, func(k tokenSecretKey) (bool, error) { return c.syncSecret(ctx, secrets, accounts, k) })
	<-done
}

// drain works q through sync until the queue shuts down; a key whose
// sync fails and may be retried comes back, at most tokenRetries times.
func drain[K comparable](ctx context.Context, loop string, q workqueueOf[K], sync func(K) (retry bool, err error)) {
	for {
		k, quit := q.Get()
		if quit {
			return
		}
		retry, err := sync(k)
		switch {
		case err != nil && ctx.Err() == nil && retry && q.NumRequeues(k) < tokenRetries:
			klog.Warningf("%s: %v (retrying)", loop, err)
			q.AddRateLimited(k)
		case err != nil && ctx.Err() == nil:
			klog.ErrorS(err, loop)
			q.Forget(k)
		default:
			q.Forget(k)
		}
		q.Done(k)
	}
}

// syncAccount deletes the token Secrets of an account that is gone.
func (c *Tokens) syncAccount(ctx context.Context, secrets, accounts *Informer, k accountKey) (bool, error) {
	if sa := c.account(ctx, accounts, k.namespace, k.name, k.uid, false); sa != nil {
		return false, nil
	}
	retry := false
	var last error
	for _, obj := range secrets.List(k.namespace) {
		s := obj.(*corev1.Secret)
		if s.Namespace != k.namespace || !isTokenOf(s, k.name, k.uid) {
			continue
		}
		if r, err := c.deleteToken(ctx, s.Namespace, s.Name, s.UID); err != nil {
			retry, last = retry || r, err
		}
	}
	return retry, last
}

// isTokenOf: a token Secret of the account name (of uid, when the Secret
// says which), as kube's serviceaccount.IsServiceAccountToken.
func isTokenOf(s *corev1.Secret, name string, uid types.UID) bool {
	if s.Type != corev1.SecretTypeServiceAccountToken || s.Annotations[corev1.ServiceAccountNameKey] != name {
		return false
	}
	got := s.Annotations[corev1.ServiceAccountUIDKey]
	return got == "" || got == string(uid)
}

func (c *Tokens) syncSecret(ctx context.Context, secrets, accounts *Informer, k tokenSecretKey) (bool, error) {
	var secret *corev1.Secret
	if obj, ok := secrets.Get(k.namespace, k.name); ok && obj.(*corev1.Secret).UID == k.uid {
		secret = obj.(*corev1.Secret)
	}
	if secret == nil {
		// Gone: it leaves its account's list of secrets.
		if sa := c.account(ctx, accounts, k.namespace, k.account, k.accountUID, false); sa != nil {
			if err := c.removeReference(ctx, k); err != nil {
				klog.ErrorS(err, "removing a deleted token from its service account", "secret", k.namespace+"/"+k.name)
			}
		}
		return false, nil
	}
	sa := c.account(ctx, accounts, k.namespace, k.account, k.accountUID, true)
	if sa == nil {
		// No such account (or not the one the Secret was made for).
		return c.deleteToken(ctx, secret.Namespace, secret.Name, secret.UID)
	}
	return c.fill(ctx, sa, secret)
}

// account finds the service account name (of uid, unless uid is empty)
// in the informer or, when fetch, by asking the server (it may be newer
// than the informer).
func (c *Tokens) account(ctx context.Context, accounts *Informer, ns, name string, uid types.UID, fetch bool) *corev1.ServiceAccount {
	if name == "" {
		return nil
	}
	if obj, ok := accounts.Get(ns, name); ok {
		if sa := obj.(*corev1.ServiceAccount); uid == "" || sa.UID == uid {
			return sa
		}
	}
	if !fetch {
		return nil
	}
	sa, err := c.client.CoreV1().ServiceAccounts(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil || (uid != "" && sa.UID != uid) {
		return nil
	}
	return sa
}

// deleteToken deletes the Secret if it is still the one of uid.
func (c *Tokens) deleteToken(ctx context.Context, ns, name string, uid types.UID) (bool, error) {
	err := c.client.CoreV1().Secrets(ns).Delete(ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if err == nil || apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return false, nil
	}
	return true, err
}

// needs says what a token Secret lacks.
func (c *Tokens) needs(s *corev1.Secret) (ca, token, namespace bool) {
	return len(c.rootCA) > 0 && !bytes.Equal(s.Data[corev1.ServiceAccountRootCAKey], c.rootCA),
		len(s.Data[corev1.ServiceAccountTokenKey]) == 0,
		len(s.Data[corev1.ServiceAccountNamespaceKey]) == 0
}

// fill writes what the Secret lacks into the server's current copy of
// it, if that is the one the informer had (otherwise its newer version
// comes through the informer).
func (c *Tokens) fill(ctx context.Context, sa *corev1.ServiceAccount, cached *corev1.Secret) (bool, error) {
	if ca, token, ns := c.needs(cached); !ca && !token && !ns {
		return false, nil
	}
	secrets := c.client.CoreV1().Secrets(cached.Namespace)
	live, err := secrets.Get(ctx, cached.Name, metav1.GetOptions{})
	if err != nil {
		return !apierrors.IsNotFound(err), err
	}
	if live.ResourceVersion != cached.ResourceVersion {
		return false, nil
	}
	needsCA, needsToken, needsNamespace := c.needs(live)
	if live.Annotations == nil {
		live.Annotations = map[string]string{}
	}
	if live.Data == nil {
		live.Data = map[string][]byte{}
	}
	if needsCA {
		live.Data[corev1.ServiceAccountRootCAKey] = c.rootCA
	}
	if needsNamespace {
		live.Data[corev1.ServiceAccountNamespaceKey] = []byte(live.Namespace)
	}
	if needsToken {
		token, err := c.sign(ctx, sa.Namespace, sa.Name, string(sa.UID), live.Name)
		if err != nil {
			return false, err
		}
		live.Data[corev1.ServiceAccountTokenKey] = []byte(token)
	}
	live.Annotations[corev1.ServiceAccountNameKey] = sa.Name
	live.Annotations[corev1.ServiceAccountUIDKey] = string(sa.UID)
	_, err = secrets.Update(ctx, live, metav1.UpdateOptions{})
	if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
		// Changed or deleted meanwhile: the informer brings it back.
		return false, nil
	}
	return true, err
}

// removeReference takes a deleted token Secret out of its account's
// secrets list.
func (c *Tokens) removeReference(ctx context.Context, k tokenSecretKey) error {
	for range 5 {
		sa, err := c.client.CoreV1().ServiceAccounts(k.namespace).Get(ctx, k.account, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		if k.accountUID != "" && sa.UID != k.accountUID {
			return nil
		}
		kept := slices.DeleteFunc(slices.Clone(sa.Secrets), func(r corev1.ObjectReference) bool { return r.Name == k.name })
		if len(kept) == len(sa.Secrets) {
			return nil
		}
		sa.Secrets = kept
		_, err = c.client.CoreV1().ServiceAccounts(k.namespace).Update(ctx, sa, metav1.UpdateOptions{})
		if !apierrors.IsConflict(err) {
			return err
		}
	}
	return nil
}
