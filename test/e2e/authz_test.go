package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"kapi/internal/server"
)

// TestAuthorizationMatrix: users from certificates, tokens and service
// accounts, with and without bindings, against reads and writes of
// namespaced and cluster-scoped resources and subresources.
func TestAuthorizationMatrix(t *testing.T) {
	k := startKapi(t, func(c *server.Config) { c.TokenAuthFile = tokenFile(t) })
	ctx := context.Background()
	admin := k.client
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team"}}, metav1.CreateOptions{})
	must(err)
	k.waitDefaultServiceAccount(t, "team") // for the Pod below
	_, err = admin.CoreV1().ConfigMaps("team").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm"}}, metav1.CreateOptions{})
	must(err)
	_, err = admin.CoreV1().Pods("team").Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "x"}}}}, metav1.CreateOptions{})
	must(err)
	_, err = admin.CoreV1().ServiceAccounts("team").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "bot"}}, metav1.CreateOptions{})
	must(err)
	// alice may read configmaps in "team" (a Role), and read the status of
	// pods there; the bot may list nodes (a ClusterRole bound cluster-wide).
	_, err = admin.RbacV1().Roles("team").Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "cm-reader"}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "list"}},
		{APIGroups: []string{""}, Resources: []string{"pods/status"}, Verbs: []string{"get"}},
	}}, metav1.CreateOptions{})
	must(err)
	_, err = admin.RbacV1().RoleBindings("team").Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "alice-reads"},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "cm-reader"},
		Subjects: []rbacv1.Subject{{Kind: "User", APIGroup: "rbac.authorization.k8s.io", Name: "alice"}}}, metav1.CreateOptions{})
	must(err)
	_, err = admin.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "node-lister"}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"nodes"}, Verbs: []string{"list"}}}}, metav1.CreateOptions{})
	must(err)
	_, err = admin.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "bot-lists-nodes"},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "node-lister"},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "bot", Namespace: "team"}}}, metav1.CreateOptions{})
	must(err)
	tr, err := admin.CoreV1().ServiceAccounts("team").CreateToken(ctx, "bot", &authenticationTokenRequest, metav1.CreateOptions{})
	must(err)

	users := map[string]kubernetes.Interface{
		"admin(cert)":  admin,
		"alice(token)": k.asToken(t, "alice-token"),
		"bob(token)":   k.asToken(t, "bob-token"),
		"bot(sa)":      k.asToken(t, tr.Status.Token),
	}
	// Roles and bindings reach the authorizer through its cache, a moment
	// after they are written (as in kube-apiserver).
	if err := waitUntil(10*time.Second, func() bool {
		_, e1 := users["alice(token)"].CoreV1().ConfigMaps("team").Get(ctx, "cm", metav1.GetOptions{})
		_, e2 := users["bot(sa)"].CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		return e1 == nil && e2 == nil
	}); err != nil {
		t.Fatal("the bindings never took effect")
	}
	type op struct {
		name string
		do   func(c kubernetes.Interface) error
	}
	ops := []op{
		{"get configmap team/cm", func(c kubernetes.Interface) error {
			_, err := c.CoreV1().ConfigMaps("team").Get(ctx, "cm", metav1.GetOptions{})
			return err
		}},
		{"list configmaps in team", func(c kubernetes.Interface) error {
			_, err := c.CoreV1().ConfigMaps("team").List(ctx, metav1.ListOptions{})
			return err
		}},
		{"list configmaps in default", func(c kubernetes.Interface) error {
			_, err := c.CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{})
			return err
		}},
		{"create configmap in team", func(c kubernetes.Interface) error {
			_, err := c.CoreV1().ConfigMaps("team").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{GenerateName: "x-"}}, metav1.CreateOptions{DryRun: []string{"All"}})
			return err
		}},
		{"delete configmap team/cm", func(c kubernetes.Interface) error {
			return c.CoreV1().ConfigMaps("team").Delete(ctx, "cm", metav1.DeleteOptions{DryRun: []string{"All"}})
		}},
		{"get pod team/p", func(c kubernetes.Interface) error {
			_, err := c.CoreV1().Pods("team").Get(ctx, "p", metav1.GetOptions{})
			return err
		}},
		{"get pod status team/p", func(c kubernetes.Interface) error {
			return c.CoreV1().RESTClient().Get().Namespace("team").Resource("pods").Name("p").SubResource("status").Do(ctx).Error()
		}},
		{"list nodes", func(c kubernetes.Interface) error {
			_, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
			return err
		}},
		{"get node n", func(c kubernetes.Interface) error {
			_, err := c.CoreV1().Nodes().Get(ctx, "n", metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return nil // allowed, and there is no such node
			}
			return err
		}},
		{"delete namespace team", func(c kubernetes.Interface) error {
			return c.CoreV1().Namespaces().Delete(ctx, "team", metav1.DeleteOptions{DryRun: []string{"All"}})
		}},
	}
	allowed := map[string]string{
		"admin(cert)":  "get configmap team/cm,list configmaps in team,list configmaps in default,create configmap in team,delete configmap team/cm,get pod team/p,get pod status team/p,list nodes,get node n,delete namespace team",
		"alice(token)": "get configmap team/cm,list configmaps in team,get pod status team/p",
		"bob(token)":   "",
		"bot(sa)":      "list nodes",
	}
	for user, c := range users {
		for _, o := range ops {
			err := o.do(c)
			want := contains(strings.Split(allowed[user], ","), o.name)
			switch {
			case want && err != nil:
				t.Errorf("%s may %s, got %v", user, o.name, err)
			case !want && !apierrors.IsForbidden(err):
				t.Errorf("%s may not %s: want 403, got %v", user, o.name, err)
			}
		}
	}

	// Escalation: alice may manage RoleBindings in team (but holds no pod
	// rights); binding herself to "edit" would grant more than she holds.
	_, err = admin.RbacV1().Roles("team").Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "binder"}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{"rbac.authorization.k8s.io"}, Resources: []string{"rolebindings", "roles"}, Verbs: []string{"create", "get", "list"}}}}, metav1.CreateOptions{})
	must(err)
	_, err = admin.RbacV1().RoleBindings("team").Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "alice-binds"},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "binder"},
		Subjects: []rbacv1.Subject{{Kind: "User", APIGroup: "rbac.authorization.k8s.io", Name: "alice"}}}, metav1.CreateOptions{})
	must(err)
	alice := users["alice(token)"]
	if err := waitUntil(10*time.Second, func() bool {
		_, err := alice.RbacV1().RoleBindings("team").List(ctx, metav1.ListOptions{})
		return err == nil
	}); err != nil {
		t.Fatal("the binder binding never took effect")
	}
	_, err = alice.RbacV1().RoleBindings("team").Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "alice-escalates"},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "edit"},
		Subjects: []rbacv1.Subject{{Kind: "User", APIGroup: "rbac.authorization.k8s.io", Name: "alice"}}}, metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "attempting to grant RBAC permissions not currently held") {
		t.Fatalf("escalation through a RoleBinding: want 403, got %v", err)
	}
	// A Role granting only what she holds is fine.
	_, err = alice.RbacV1().Roles("team").Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "subset"}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get"}}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("a role within her rights: %v", err)
	}
	_, err = alice.RbacV1().Roles("team").Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "superset"}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}}}}, metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) {
		t.Fatalf("a role beyond her rights: want 403, got %v", err)
	}

}

var authenticationTokenRequest = authenticationv1.TokenRequest{}
