package e2e

import (
	"context"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/util/retry"
)

// TestPolicyParamAccess: an admission policy reads its parameters with
// kapi's authority, so whoever writes a policy with a paramKind must be
// able to get every object of that kind, and whoever binds it with a
// paramRef must be able to get (or list) what the paramRef names, as
// kube-apiserver's admission policy strategies check. Refusals are 422s
// with a Forbidden cause, in kube-apiserver's words.
func TestPolicyParamAccess(t *testing.T) {
	k := startKapi(t)
	ctx := context.Background()
	e := &webhookEnv{t: t, k: k}
	e.namespace(t, "params")
	rbac := k.client.RbacV1()
	if _, err := rbac.ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "policy-writer"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{"admissionregistration.k8s.io"}, Verbs: []string{"*"},
			Resources: []string{"validatingadmissionpolicies", "validatingadmissionpolicybindings", "mutatingadmissionpolicies", "mutatingadmissionpolicybindings"}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := rbac.ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "alice-writes-policies"},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "policy-writer"},
		Subjects: []rbacv1.Subject{{Kind: "User", APIGroup: "rbac.authorization.k8s.io", Name: "alice"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	alice := asUser(k, "alice")
	const who = "&{alice  [system:authenticated] map[]}"
	vap := func(name string, kind *admissionregistrationv1.ParamKind) *admissionregistrationv1.ValidatingAdmissionPolicy {
		return &admissionregistrationv1.ValidatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{ParamKind: kind, MatchConstraints: deploymentRules(),
				Validations: []admissionregistrationv1.Validation{{Expression: "true"}}}}
	}
	configMaps := &admissionregistrationv1.ParamKind{APIVersion: "v1", Kind: "ConfigMap"}
	labelMutation := []admissionregistrationv1.Mutation{{PatchType: admissionregistrationv1.PatchTypeApplyConfiguration,
		ApplyConfiguration: &admissionregistrationv1.ApplyConfiguration{Expression: `Object{metadata: Object.metadata{labels: {"a": "b"}}}`}}}
	settle(t, "alice's role", func() bool {
		_, err := alice.AdmissionregistrationV1().ValidatingAdmissionPolicies().Create(ctx, vap("plain", nil), metav1.CreateOptions{})
		return err == nil
	})

	// refused checks that err is kube-apiserver's 422 with one Forbidden
	// cause on path, saying msg.
	refused := func(t *testing.T, err error, path, msg string) {
		t.Helper()
		if !apierrors.IsInvalid(err) {
			t.Fatalf("want a 422, got %v", err)
		}
		st := err.(apierrors.APIStatus).Status()
		if st.Details == nil || len(st.Details.Causes) != 1 || st.Details.Causes[0].Field != path ||
			st.Details.Causes[0].Type != metav1.CauseType(field.ErrorTypeForbidden) || st.Details.Causes[0].Message != "Forbidden: "+msg {
			t.Fatalf("want a Forbidden cause on %s saying %q, got %+v", path, msg, st.Details)
		}
		if !strings.Contains(st.Message, path+": Forbidden: "+msg) {
			t.Fatalf("message %q", st.Message)
		}
	}

	t.Run("paramKind", func(t *testing.T) {
		pols := alice.AdmissionregistrationV1().ValidatingAdmissionPolicies()
		_, err := pols.Create(ctx, vap("cm", configMaps), metav1.CreateOptions{})
		refused(t, err, "spec.paramKind", `user `+who+` must have "get" permission on all objects of the referenced paramKind (kind=ConfigMap, apiVersion=v1)`)
		// A kind no resource has asks for every resource of its group.
		_, err = pols.Create(ctx, vap("widgets", &admissionregistrationv1.ParamKind{APIVersion: "example.com/v1", Kind: "Widget"}), metav1.CreateOptions{})
		refused(t, err, "spec.paramKind", `user `+who+` must have "get" permission on all objects of the referenced paramKind (kind=Widget, apiVersion=example.com/v1)`)
		mpols := alice.AdmissionregistrationV1().MutatingAdmissionPolicies()
		_, err = mpols.Create(ctx, &admissionregistrationv1.MutatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: "cm"},
			Spec: admissionregistrationv1.MutatingAdmissionPolicySpec{MatchConstraints: deploymentRules(), ParamKind: configMaps,
				ReinvocationPolicy: admissionregistrationv1.NeverReinvocationPolicy,
				Mutations:          labelMutation}}, metav1.CreateOptions{})
		refused(t, err, "spec.paramKind", `user `+who+` must have "get" permission on all objects of the referenced paramKind (kind=ConfigMap, apiVersion=v1)`)
		// Nothing was stored.
		if _, err := k.client.AdmissionregistrationV1().ValidatingAdmissionPolicies().Get(ctx, "cm", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Fatalf("a refused policy: %v", err)
		}
		// The administrator's policy with a paramKind alice cannot read:
		// she may change it while she keeps its paramKind, not to another
		// one she cannot read.
		if _, err := k.client.AdmissionregistrationV1().ValidatingAdmissionPolicies().Create(ctx, vap("secrets", &admissionregistrationv1.ParamKind{APIVersion: "v1", Kind: "Secret"}), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		// (kapi's type checking writes the policy's status meanwhile:
		// each update starts from a fresh read.)
		update := func(change func(*admissionregistrationv1.ValidatingAdmissionPolicy)) error {
			return retry.RetryOnConflict(retry.DefaultRetry, func() error {
				p, err := pols.Get(ctx, "secrets", metav1.GetOptions{})
				if err != nil {
					return err
				}
				change(p)
				_, err = pols.Update(ctx, p, metav1.UpdateOptions{})
				return err
			})
		}
		if err := update(func(p *admissionregistrationv1.ValidatingAdmissionPolicy) {
			p.Labels = map[string]string{"touched": "yes"}
		}); err != nil {
			t.Fatalf("an update keeping the paramKind: %v", err)
		}
		err = update(func(p *admissionregistrationv1.ValidatingAdmissionPolicy) { p.Spec.ParamKind = configMaps })
		refused(t, err, "spec.paramKind", `user `+who+` must have "get" permission on all objects of the referenced paramKind (kind=ConfigMap, apiVersion=v1)`)
		// system:masters passes.
		if _, err := asUser(k, "root", "system:masters").AdmissionregistrationV1().ValidatingAdmissionPolicies().Create(ctx, vap("root", configMaps), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		// Allowed to get configmaps everywhere, alice may.
		grantAlice(t, k, "alice-reads-configmaps", "", "get")
		settle(t, "get on configmaps", func() bool {
			_, err := pols.Create(ctx, vap("cm", configMaps), metav1.CreateOptions{})
			return err == nil
		})
	})

	t.Run("paramRef", func(t *testing.T) {
		binds := alice.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings()
		binding := func(name, policy string, ref *admissionregistrationv1.ParamRef) *admissionregistrationv1.ValidatingAdmissionPolicyBinding {
			return &admissionregistrationv1.ValidatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
				Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: policy, ParamRef: ref,
					ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny}}}
		}
		named := &admissionregistrationv1.ParamRef{Name: "limits", Namespace: "params", ParameterNotFoundAction: ptr(admissionregistrationv1.DenyAction)}
		selected := &admissionregistrationv1.ParamRef{Namespace: "params", Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"kind": "limits"}},
			ParameterNotFoundAction: ptr(admissionregistrationv1.DenyAction)}
		// "secrets" (the administrator's, above) reads Secrets.
		_, err := binds.Create(ctx, binding("named", "secrets", named), metav1.CreateOptions{})
		refused(t, err, "spec.paramRef", `user `+who+` does not have "get" permission on the object referenced by paramRef`)
		_, err = binds.Create(ctx, binding("selected", "secrets", selected), metav1.CreateOptions{})
		refused(t, err, "spec.paramRef", `user `+who+` does not have "list" permission on the object referenced by paramRef`)
		_, err = binds.Create(ctx, binding("missing", "no-such-policy", named), metav1.CreateOptions{})
		refused(t, err, "spec.paramRef", `unable to get policy no-such-policy to determine minimum required permissions and user `+who+` does not have "get" permission for all groups, versions and resources`)
		// kube-apiserver's message for mutating bindings swaps the verb
		// and the user.
		_, err = alice.AdmissionregistrationV1().MutatingAdmissionPolicyBindings().Create(ctx, &admissionregistrationv1.MutatingAdmissionPolicyBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "named"},
			Spec:       admissionregistrationv1.MutatingAdmissionPolicyBindingSpec{PolicyName: "no-such-policy", ParamRef: named}}, metav1.CreateOptions{})
		refused(t, err, "spec.paramRef", `unable to get policy no-such-policy to determine minimum required permissions and user `+who+` does not have "get" permission for all groups, versions and resources`)
		if _, err := k.client.AdmissionregistrationV1().MutatingAdmissionPolicies().Create(ctx, &admissionregistrationv1.MutatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: "secrets"},
			Spec: admissionregistrationv1.MutatingAdmissionPolicySpec{MatchConstraints: deploymentRules(), ParamKind: &admissionregistrationv1.ParamKind{APIVersion: "v1", Kind: "Secret"},
				ReinvocationPolicy: admissionregistrationv1.NeverReinvocationPolicy,
				Mutations:          labelMutation}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		_, err = alice.AdmissionregistrationV1().MutatingAdmissionPolicyBindings().Create(ctx, &admissionregistrationv1.MutatingAdmissionPolicyBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "named"},
			Spec:       admissionregistrationv1.MutatingAdmissionPolicyBindingSpec{PolicyName: "secrets", ParamRef: named}}, metav1.CreateOptions{})
		refused(t, err, "spec.paramRef", `user get does not have "`+who+`" permission on the object referenced by paramRef`)
		// A binding without paramRef needs nothing more.
		if _, err := binds.Create(ctx, binding("plain", "secrets", nil), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		// Get and list of the namespace's Secrets let alice bind them.
		grantAlice(t, k, "alice-reads-secrets", "params", "get", "list")
		settle(t, "get on the namespace's secrets", func() bool {
			_, err := binds.Create(ctx, binding("named", "secrets", named), metav1.CreateOptions{})
			return err == nil
		})
		if _, err := binds.Create(ctx, binding("selected", "secrets", selected), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		// Not those of another namespace.
		other := *named
		other.Namespace = "default"
		_, err = binds.Create(ctx, binding("other", "secrets", &other), metav1.CreateOptions{})
		refused(t, err, "spec.paramRef", `user `+who+` does not have "get" permission on the object referenced by paramRef`)
		// An update of a binding whose paramRef has a
		// parameterNotFoundAction is checked again, as in kube-apiserver.
		if err := k.client.RbacV1().RoleBindings("params").Delete(ctx, "alice-reads-secrets", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		settle(t, "the removed role binding", func() bool {
			var b *admissionregistrationv1.ValidatingAdmissionPolicyBinding
			if b, err = binds.Get(ctx, "named", metav1.GetOptions{}); err != nil {
				return false
			}
			b.Labels = map[string]string{"touched": "yes"}
			_, err = binds.Update(ctx, b, metav1.UpdateOptions{})
			return apierrors.IsInvalid(err)
		})
		refused(t, err, "spec.paramRef", `user `+who+` does not have "get" permission on the object referenced by paramRef`)
	})
}

// grantAlice lets alice use verbs on secrets in namespace, or on configmaps
// in every namespace when namespace is "".
func grantAlice(t *testing.T, k *kapi, name, namespace string, verbs ...string) {
	t.Helper()
	ctx := context.Background()
	var rbac = k.client.RbacV1()
	subjects := []rbacv1.Subject{{Kind: "User", APIGroup: "rbac.authorization.k8s.io", Name: "alice"}}
	var err error
	if namespace == "" {
		if _, err = rbac.ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name},
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: verbs}}}, metav1.CreateOptions{}); err == nil {
			_, err = rbac.ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name}, Subjects: subjects,
				RoleRef: rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: name}}, metav1.CreateOptions{})
		}
	} else {
		if _, err = rbac.Roles(namespace).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name},
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: verbs}}}, metav1.CreateOptions{}); err == nil {
			_, err = rbac.RoleBindings(namespace).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name}, Subjects: subjects,
				RoleRef: rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: name}}, metav1.CreateOptions{})
		}
	}
	if err != nil {
		t.Fatal(err)
	}
}
