package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"kapi/internal/server"
)

// eventually retries f for a few seconds: the authorizer reads roles and
// bindings from a cache that follows storage a moment later.
func eventually(t *testing.T, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func ruleOn(rules []rbacv1.PolicyRule, group, resource, verb string) bool {
	for _, r := range rules {
		if contains(r.APIGroups, group) && contains(r.Resources, resource) && contains(r.Verbs, verb) {
			return true
		}
	}
	return false
}

// TestRBACBootstrapPolicy: the default roles and bindings are there on
// start, admin/edit/view aggregate, and a restart puts back what was taken
// from a role unless the role opted out.
func TestRBACBootstrapPolicy(t *testing.T) {
	k := startKapi(t, func(c *server.Config) { c.TokenAuthFile = tokenFile(t) })
	ctx := context.Background()
	admin := k.client

	view, err := admin.RbacV1().ClusterRoles().Get(ctx, "view", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !ruleOn(view.Rules, "", "pods", "get") || ruleOn(view.Rules, "", "secrets", "get") || view.Labels["kubernetes.io/bootstrapping"] != "rbac-defaults" {
		t.Errorf("view: %+v", view)
	}
	adminRole, err := admin.RbacV1().ClusterRoles().Get(ctx, "admin", metav1.GetOptions{})
	if err != nil || !ruleOn(adminRole.Rules, "rbac.authorization.k8s.io", "rolebindings", "create") || !ruleOn(adminRole.Rules, "", "secrets", "get") {
		t.Errorf("admin: %v %+v", err, adminRole)
	}
	crb, err := admin.RbacV1().ClusterRoleBindings().Get(ctx, "system:public-info-viewer", metav1.GetOptions{})
	if err != nil || len(crb.Subjects) != 2 || crb.Subjects[1].Name != "system:unauthenticated" {
		t.Errorf("system:public-info-viewer binding: %v %+v", err, crb)
	}

	// Every authenticated user discovers the API and reviews itself.
	bob := k.asToken(t, "bob-token")
	if _, err := bob.Discovery().ServerGroups(); err != nil {
		t.Errorf("bob's discovery: %v", err)
	}
	if _, err := bob.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{
		Spec: authorizationv1.SelfSubjectAccessReviewSpec{NonResourceAttributes: &authorizationv1.NonResourceAttributes{Verb: "get", Path: "/"}}}, metav1.CreateOptions{}); err != nil {
		t.Errorf("bob's self review: %v", err)
	}

	// A ClusterRole labelled to aggregate into view shows in view, edit
	// (which gathers view) and admin.
	_, err = admin.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "widgets-view", Labels: map[string]string{"rbac.authorization.k8s.io/aggregate-to-view": "true"}},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{"example.com"}, Resources: []string{"widgets"}, Verbs: []string{"get"}}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"view", "edit", "admin"} {
		eventually(t, name+" gathers widgets", func() error {
			r, err := admin.RbacV1().ClusterRoles().Get(ctx, name, metav1.GetOptions{})
			if err == nil && !ruleOn(r.Rules, "example.com", "widgets", "get") {
				err = fmt.Errorf("%s has no widgets rule", name)
			}
			return err
		})
	}
	if err := admin.RbacV1().ClusterRoles().Delete(ctx, "widgets-view", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "view drops widgets", func() error {
		r, err := admin.RbacV1().ClusterRoles().Get(ctx, "view", metav1.GetOptions{})
		if err == nil && ruleOn(r.Rules, "example.com", "widgets", "get") {
			err = fmt.Errorf("view still has the widgets rule")
		}
		return err
	})

	// Reconciliation at start: basic-user gets its rules back;
	// public-info-viewer opted out and stays as left.
	strip := func(name string, optOut bool) {
		r, err := admin.RbacV1().ClusterRoles().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		r.Rules = nil
		if optOut {
			r.Annotations["rbac.authorization.kubernetes.io/autoupdate"] = "false"
		}
		if _, err := admin.RbacV1().ClusterRoles().Update(ctx, r, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	strip("system:basic-user", false)
	strip("system:public-info-viewer", true)
	k.restart()
	admin = k.client
	basic, err := admin.RbacV1().ClusterRoles().Get(ctx, "system:basic-user", metav1.GetOptions{})
	if err != nil || !ruleOn(basic.Rules, "authorization.k8s.io", "selfsubjectaccessreviews", "create") {
		t.Errorf("system:basic-user after a restart: %v %+v", err, basic)
	}
	info, err := admin.RbacV1().ClusterRoles().Get(ctx, "system:public-info-viewer", metav1.GetOptions{})
	if err != nil || len(info.Rules) != 0 {
		t.Errorf("system:public-info-viewer after a restart: %v %+v", err, info)
	}
}

// TestRBACAccessReviews: the four reviews answer as kube-apiserver's, and
// a denial reads as kube-apiserver's.
func TestRBACAccessReviews(t *testing.T) {
	k := startKapi(t, func(c *server.Config) { c.TokenAuthFile = tokenFile(t) })
	ctx := context.Background()
	admin := k.client
	if _, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "dev"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.RbacV1().RoleBindings("dev").Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "bob-view"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
		Subjects: []rbacv1.Subject{{Kind: "User", APIGroup: rbacv1.GroupName, Name: "bob"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	bob := k.asToken(t, "bob-token")
	eventually(t, "bob lists pods in dev", func() error {
		_, err := bob.CoreV1().Pods("dev").List(ctx, metav1.ListOptions{})
		return err
	})

	_, err := bob.CoreV1().Secrets("dev").List(ctx, metav1.ListOptions{})
	if want := `secrets is forbidden: User "bob" cannot list resource "secrets" in API group "" in the namespace "dev"`; !apierrors.IsForbidden(err) || err.Error() != want {
		t.Errorf("bob lists secrets: %v, want %s", err, want)
	}
	_, err = bob.CoreV1().Nodes().Get(ctx, "n1", metav1.GetOptions{})
	if want := `nodes "n1" is forbidden: User "bob" cannot get resource "nodes" in API group "" at the cluster scope`; err == nil || err.Error() != want {
		t.Errorf("bob gets a node: %v, want %s", err, want)
	}

	lsar, err := admin.AuthorizationV1().LocalSubjectAccessReviews("dev").Create(ctx, &authorizationv1.LocalSubjectAccessReview{
		Spec: authorizationv1.SubjectAccessReviewSpec{User: "bob", ResourceAttributes: &authorizationv1.ResourceAttributes{
			Namespace: "dev", Verb: "get", Resource: "pods"}}}, metav1.CreateOptions{})
	if err != nil || !lsar.Status.Allowed || lsar.Status.Reason != `RBAC: allowed by RoleBinding "bob-view/dev" of ClusterRole "view" to User "bob"` {
		t.Errorf("local review: %v %+v", err, lsar)
	}
	_, err = admin.AuthorizationV1().LocalSubjectAccessReviews("dev").Create(ctx, &authorizationv1.LocalSubjectAccessReview{
		Spec: authorizationv1.SubjectAccessReviewSpec{User: "bob", ResourceAttributes: &authorizationv1.ResourceAttributes{
			Namespace: "prod", Verb: "get", Resource: "pods"}}}, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "must match metadata.namespace") {
		t.Errorf("local review of another namespace: %v", err)
	}
	sar, err := admin.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
		Spec: authorizationv1.SubjectAccessReviewSpec{User: "bob", Groups: []string{"system:authenticated"},
			ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: "dev", Verb: "list", Resource: "secrets"}}}, metav1.CreateOptions{})
	if err != nil || sar.Status.Allowed || sar.Status.Denied {
		t.Errorf("subject review: %v %+v", err, sar)
	}
	// A user without the right may not ask about others.
	_, err = bob.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
		Spec: authorizationv1.SubjectAccessReviewSpec{User: "root", NonResourceAttributes: &authorizationv1.NonResourceAttributes{Verb: "get", Path: "/"}}}, metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) {
		t.Errorf("bob's subject review: %v", err)
	}

	srr, err := bob.AuthorizationV1().SelfSubjectRulesReviews().Create(ctx, &authorizationv1.SelfSubjectRulesReview{
		Spec: authorizationv1.SelfSubjectRulesReviewSpec{Namespace: "dev"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var pods, api bool
	for _, r := range srr.Status.ResourceRules {
		pods = pods || (contains(r.Resources, "pods") && contains(r.Verbs, "list"))
	}
	for _, r := range srr.Status.NonResourceRules {
		api = api || contains(r.NonResourceURLs, "/api")
	}
	if !pods || !api || srr.Status.Incomplete {
		t.Errorf("rules review: %+v", srr.Status)
	}
}

// TestRBACEscalateAndBind: the escalate and bind verbs let a user grant
// what they do not hold, within what they are allowed.
func TestRBACEscalateAndBind(t *testing.T) {
	k := startKapi(t, func(c *server.Config) { c.TokenAuthFile = tokenFile(t) })
	ctx := context.Background()
	admin := k.client
	if _, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "dev"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	grant := func(name string, rules ...rbacv1.PolicyRule) {
		t.Helper()
		if _, err := admin.RbacV1().Roles("dev").Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := admin.RbacV1().RoleBindings("dev").Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
			Subjects: []rbacv1.Subject{{Kind: "User", APIGroup: rbacv1.GroupName, Name: "bob"}}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	rbacRule := func(verbs []string, resources []string, names ...string) rbacv1.PolicyRule {
		return rbacv1.PolicyRule{APIGroups: []string{rbacv1.GroupName}, Resources: resources, Verbs: verbs, ResourceNames: names}
	}
	grant("rbac-writer", rbacRule([]string{"create", "update", "get"}, []string{"roles", "rolebindings"}))
	bob := k.asToken(t, "bob-token")
	secrets := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "secrets"}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}}}}
	var err error
	eventually(t, "bob may write roles", func() error {
		_, err = bob.RbacV1().Roles("dev").Create(ctx, secrets, metav1.CreateOptions{DryRun: []string{"All"}})
		if apierrors.IsForbidden(err) && strings.Contains(err.Error(), "attempting to grant RBAC permissions not currently held") {
			return nil
		}
		return fmt.Errorf("want the escalation refused, got %v", err)
	})
	want := `roles.rbac.authorization.k8s.io "secrets" is forbidden: user "bob" (groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held:` +
		"\n" + `{APIGroups:[""], Resources:["secrets"], Verbs:["get"]}`
	if err.Error() != want {
		t.Errorf("escalation message:\n got %s\nwant %s", err, want)
	}

	// With escalate on roles, he may.
	grant("escalator", rbacRule([]string{"escalate"}, []string{"roles"}))
	eventually(t, "bob escalates", func() error {
		_, err := bob.RbacV1().Roles("dev").Create(ctx, secrets, metav1.CreateOptions{})
		return err
	})

	// Binding admin needs bind on admin; bind on view does not do.
	binding := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "bob-admin"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "admin"},
		Subjects: []rbacv1.Subject{{Kind: "User", APIGroup: rbacv1.GroupName, Name: "carol"}}}
	grant("view-binder", rbacRule([]string{"bind"}, []string{"clusterroles"}, "view"))
	if _, err := bob.RbacV1().RoleBindings("dev").Create(ctx, binding, metav1.CreateOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("binding admin with bind on view: %v", err)
	}
	grant("admin-binder", rbacRule([]string{"bind"}, []string{"clusterroles"}, "admin"))
	eventually(t, "bob binds admin", func() error {
		_, err := bob.RbacV1().RoleBindings("dev").Create(ctx, binding, metav1.CreateOptions{})
		return err
	})
	// A binding to a role that does not exist is 404.
	binding.Name, binding.RoleRef.Kind, binding.RoleRef.Name = "ghost", "Role", "ghost"
	if _, err := bob.RbacV1().RoleBindings("dev").Create(ctx, binding, metav1.CreateOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("binding a missing role: %v", err)
	}
}
