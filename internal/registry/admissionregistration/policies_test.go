package admissionregistration

import (
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// TestPolicyValidation: bindings and policies refused as kube-apiserver
// refuses them, each on its field.
func TestPolicyValidation(t *testing.T) {
	deny, warn := admissionregistrationv1.Deny, admissionregistrationv1.Warn
	rules := &admissionregistrationv1.MatchResources{ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
		RuleWithOperations: admissionregistrationv1.RuleWithOperations{Operations: []admissionregistrationv1.OperationType{"CREATE"},
			Rule: admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}}}}}}
	vb := func(actions []admissionregistrationv1.ValidationAction, ref *admissionregistrationv1.ParamRef) runtime.Object {
		return &admissionregistrationv1.ValidatingAdmissionPolicyBinding{Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName: "p", ValidationActions: actions, ParamRef: ref}}
	}
	for _, c := range []struct {
		name  string
		hooks func(obj, old runtime.Object) field.ErrorList
		obj   runtime.Object
		field string // "" for valid
	}{
		{"deny and warn", validatingBindingHooks.Validate, vb([]admissionregistrationv1.ValidationAction{deny, warn}, nil), "spec.validationActions"},
		{"no actions", validatingBindingHooks.Validate, vb(nil, nil), "spec.validationActions"},
		{"name and selector", validatingBindingHooks.Validate, vb([]admissionregistrationv1.ValidationAction{deny},
			&admissionregistrationv1.ParamRef{Name: "x", Selector: &metav1.LabelSelector{}, ParameterNotFoundAction: ptr(admissionregistrationv1.DenyAction)}), "spec.paramRef.name"},
		{"no not-found action", validatingBindingHooks.Validate, vb([]admissionregistrationv1.ValidationAction{deny},
			&admissionregistrationv1.ParamRef{Name: "x"}), "spec.paramRef.parameterNotFoundAction"},
		{"valid binding", validatingBindingHooks.Validate, vb([]admissionregistrationv1.ValidationAction{deny}, nil), ""},
		{"mutating binding without a policy", mutatingBindingHooks.Validate, &admissionregistrationv1.MutatingAdmissionPolicyBinding{}, "spec.policyName"},
		{"mutating policy without mutations", mutatingPolicyHooks.Validate, &admissionregistrationv1.MutatingAdmissionPolicy{
			Spec: admissionregistrationv1.MutatingAdmissionPolicySpec{MatchConstraints: rules, ReinvocationPolicy: admissionregistrationv1.NeverReinvocationPolicy}}, "spec.mutations"},
		{"validating policy without rules", validatingPolicyHooks.Validate, &admissionregistrationv1.ValidatingAdmissionPolicy{
			Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{Validations: []admissionregistrationv1.Validation{{Expression: "true"}}}}, "spec.matchConstraints"},
		{"a message that is not a string", validatingPolicyHooks.Validate, &admissionregistrationv1.ValidatingAdmissionPolicy{
			Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{MatchConstraints: rules,
				Validations: []admissionregistrationv1.Validation{{Expression: "true", MessageExpression: "1"}}}}, "spec.validations[0].messageExpression"},
	} {
		errs := c.hooks(c.obj, nil)
		switch {
		case c.field == "" && len(errs) > 0:
			t.Errorf("%s: %v", c.name, errs)
		case c.field != "" && (len(errs) == 0 || !strings.HasPrefix(errs[0].Field, c.field)):
			t.Errorf("%s: %v, want an error on %s", c.name, errs, c.field)
		}
	}
}
