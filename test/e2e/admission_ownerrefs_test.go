package e2e

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"kapi/internal/server"
)

// TestOwnerReferencesPermissionEnforcement: with kube's plugin on (as
// OpenShift runs it), a controller may create dependents with owner
// references, but a blocking one (blockOwnerDeletion: true, as
// controller-runtime's SetControllerReference writes) needs update on the
// owner's finalizers, and changing an existing object's owner references
// needs delete on it; kube's messages. Controller authors see a missing
// finalizers rule in their tests, not in production.
func TestOwnerReferencesPermissionEnforcement(t *testing.T) {
	t.Parallel()
	k := startKapi(t, func(c *server.Config) { c.EnableAdmissionPlugins = []string{"OwnerReferencesPermissionEnforcement"} })
	ctx := context.Background()
	ns := "default"
	owner, err := k.client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "owner"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	role := func(name string, rules ...rbacv1.PolicyRule) {
		t.Helper()
		if _, err := k.client.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := k.client.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
			RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: name},
			Subjects: []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "User", Name: "ctrl"}}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	role("ctrl", rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets", "configmaps"}, Verbs: []string{"get", "create", "update"}})
	ctrl := asUser(k, "ctrl")
	secrets := ctrl.CoreV1().Secrets(ns)
	ref := func(block bool) []metav1.OwnerReference {
		return []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: owner.Name, UID: owner.UID, BlockOwnerDeletion: &block}}
	}
	secret := func(name string, refs []metav1.OwnerReference) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, OwnerReferences: refs}}
	}
	// The grants take effect through the RBAC authorizer's informers.
	settle(t, "ctrl's role", func() bool {
		_, err := secrets.Create(ctx, secret("plain", ref(false)), metav1.CreateOptions{})
		return err == nil
	})
	const finalizers = `secrets "blocking" is forbidden: cannot set blockOwnerDeletion if an ownerReference refers to a resource you can't set finalizers on: , <nil>`
	if _, err := secrets.Create(ctx, secret("blocking", ref(true)), metav1.CreateOptions{}); !apierrors.IsForbidden(err) || err.Error() != finalizers {
		t.Errorf("a blocking owner reference without update on configmaps/finalizers: %v", err)
	}
	plain, err := secrets.Get(ctx, "plain", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	plain.OwnerReferences = nil
	const deletes = `secrets "plain" is forbidden: cannot set an ownerRef on a resource you can't delete: , <nil>`
	if _, err := secrets.Update(ctx, plain, metav1.UpdateOptions{}); !apierrors.IsForbidden(err) || err.Error() != deletes {
		t.Errorf("dropping an owner reference without delete on secrets: %v", err)
	}
	// An update that leaves the owner references alone needs nothing more.
	plain.OwnerReferences = ref(false)
	plain.StringData = map[string]string{"k": "v"}
	if _, err := secrets.Update(ctx, plain, metav1.UpdateOptions{}); err != nil {
		t.Errorf("an update keeping the owner references: %v", err)
	}

	role("finalizers", rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"configmaps/finalizers"}, Verbs: []string{"update"}},
		rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"delete"}})
	settle(t, "the finalizers role", func() bool {
		_, err := secrets.Create(ctx, secret("blocking", ref(true)), metav1.CreateOptions{})
		return err == nil
	})
	plain, err = secrets.Get(ctx, "plain", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	plain.OwnerReferences = ref(true)
	if _, err := secrets.Update(ctx, plain, metav1.UpdateOptions{}); err != nil {
		t.Errorf("making an owner reference blocking, with both grants: %v", err)
	}
}
