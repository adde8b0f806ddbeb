package server

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"kapi/internal/authn"
	"kapi/internal/controllers"
	"kapi/internal/registry"
	"kapi/internal/request"
)

// legacySecret reads the token a legacy service-account token's Secret
// holds, and its labels, for the authenticator; a Secret being deleted
// holds none.
func legacySecret(secrets *registry.Store) func(ctx context.Context, ns, name string) ([]byte, map[string]string, bool, error) {
	return func(ctx context.Context, ns, name string) ([]byte, map[string]string, bool, error) {
		secret, err := getSecret(ctx, secrets, ns, name)
		if secret == nil || secret.DeletionTimestamp != nil {
			return nil, nil, false, err
		}
		return secret.Data[corev1.ServiceAccountTokenKey], secret.Labels, true, nil
	}
}

// getSecret reads a Secret for an authenticator: nil when there is none.
func getSecret(ctx context.Context, secrets *registry.Store, ns, name string) (*corev1.Secret, error) {
	obj, err := secrets.Get(ctx, ns, name, nil)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return obj.(*corev1.Secret), nil
}

// legacyServiceAccount reads a legacy token's ServiceAccount for the
// authenticator: its uid and the Secrets it lists; one being deleted is
// gone, as for kube's legacy token validator.
func legacyServiceAccount(sas *registry.Store) func(ctx context.Context, ns, name string) (string, []string, bool, error) {
	return func(ctx context.Context, ns, name string) (string, []string, bool, error) {
		obj, err := sas.Get(ctx, ns, name, nil)
		if apierrors.IsNotFound(err) {
			return "", nil, false, nil
		}
		if err != nil {
			return "", nil, false, err
		}
		sa := obj.(*corev1.ServiceAccount)
		if sa.DeletionTimestamp != nil {
			return "", nil, false, nil
		}
		secrets := make([]string, 0, len(sa.Secrets))
		for _, ref := range sa.Secrets {
			secrets = append(secrets, ref.Name)
		}
		return string(sa.UID), secrets, true, nil
	}
}

// legacyTokenUsed labels a Secret kubernetes.io/legacy-token-last-used:
// date with a merge patch through the loopback client as system:apiserver,
// as kube-apiserver's legacy token authenticator does with its own.
func legacyTokenUsed(lb *loopback) func(ctx context.Context, ns, name, date string) error {
	client := kubernetes.NewForConfigOrDie(lb.Config(APIServerUser))
	return func(ctx context.Context, ns, name, date string) error {
		patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
			"labels": map[string]string{"kubernetes.io/legacy-token-last-used": date}}})
		if err != nil {
			return err
		}
		_, err = client.CoreV1().Secrets(ns).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{})
		return err
	}
}

// tokensController is kube-controller-manager's serviceaccount-token
// controller: it signs with what the server signs service-account
// tokens with (--service-account-signing-key-file, the key kapi keeps in
// its data folder, or the external signer), which the authenticator
// verifies, and hands out kapi's CA.
func tokensController(s *Server, env *controllers.Env) (*controllers.Tokens, error) {
	ca, err := os.ReadFile(s.PKI.CACert)
	if err != nil {
		return nil, fmt.Errorf("reading the CA bundle: %w", err)
	}
	sign := func(ctx context.Context, namespace, serviceAccount, uid, secret string) (string, error) {
		return authn.LegacyToken(ctx, s.tokenSigner, namespace, serviceAccount, uid, secret)
	}
	return controllers.NewTokens(env, sign, ca), nil
}

// authenticatedUser is the user of a loop that acts as a user rather
// than as a service account: system:apiserver is kube-apiserver's own
// loopback user (for the loops kube runs inside kube-apiserver, such as
// the Service repair loops); any other name is a user without groups, as
// kube-controller-manager is with its own kubeconfig
// (system:kube-controller-manager).
func authenticatedUser(name string) *request.User {
	if name == APIServerUser.Name {
		return APIServerUser
	}
	return &request.User{Name: name, Groups: []string{"system:authenticated"}}
}

// bootstrapSecret reads kube-system's Secret name for the bootstrap token
// authenticator; nil when there is none.
func bootstrapSecret(secrets *registry.Store) func(ctx context.Context, name string) (*corev1.Secret, error) {
	return func(ctx context.Context, name string) (*corev1.Secret, error) {
		return getSecret(ctx, secrets, metav1.NamespaceSystem, name)
	}
}
