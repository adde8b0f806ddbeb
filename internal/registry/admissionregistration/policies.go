package admissionregistration

import (
	"fmt"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celplugin "k8s.io/apiserver/pkg/admission/plugin/cel"
	"k8s.io/apiserver/pkg/admission/plugin/policy/mutating/patch"
	"k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	"k8s.io/apiserver/pkg/cel/environment"

	"kapi/internal/registry"
)

// validatingPolicyHooks default and validate ValidatingAdmissionPolicies
// as kube-apiserver does: an expression that does not compile is refused
// when the policy is written.
var validatingPolicyHooks = typedHooks(defaultValidatingPolicy, validateValidatingPolicy)

var validatingBindingHooks = typedHooks(func(b *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
	defaultResources(b.Spec.MatchResources)
},
	validateValidatingBinding)

// typedHooks are a row's hooks from its kind's defaulting (on create and
// update) and validation.
func typedHooks[T runtime.Object](def func(T), validate func(T) field.ErrorList) *registry.Hooks {
	return &registry.Hooks{
		Default:  func(obj runtime.Object) { def(obj.(T)) },
		Validate: func(obj, _ runtime.Object) field.ErrorList { return validate(obj.(T)) },
	}
}

func defaultValidatingPolicy(p *admissionregistrationv1.ValidatingAdmissionPolicy) {
	if p.Spec.FailurePolicy == nil {
		p.Spec.FailurePolicy = ptr(admissionregistrationv1.Fail)
	}
	defaultResources(p.Spec.MatchConstraints)
}

// defaultResources: matchPolicy Equivalent, selectors that select
// everything, rules of every scope.
func defaultResources(m *admissionregistrationv1.MatchResources) {
	if m == nil {
		return
	}
	if m.MatchPolicy == nil {
		m.MatchPolicy = ptr(admissionregistrationv1.Equivalent)
	}
	if m.NamespaceSelector == nil {
		m.NamespaceSelector = &metav1.LabelSelector{}
	}
	if m.ObjectSelector == nil {
		m.ObjectSelector = &metav1.LabelSelector{}
	}
	for _, rules := range [][]admissionregistrationv1.NamedRuleWithOperations{m.ResourceRules, m.ExcludeResourceRules} {
		for i := range rules {
			if rules[i].Scope == nil {
				rules[i].Scope = ptr(admissionregistrationv1.AllScopes)
			}
		}
	}
}

func validateValidatingPolicy(p *admissionregistrationv1.ValidatingAdmissionPolicy) field.ErrorList {
	var errs field.ErrorList
	spec := field.NewPath("spec")
	if p.Spec.MatchConstraints == nil {
		errs = append(errs, field.Required(spec.Child("matchConstraints"), ""))
	} else {
		errs = append(errs, validateResources(p.Spec.MatchConstraints, spec.Child("matchConstraints"), true)...)
	}
	if len(p.Spec.Validations) == 0 && len(p.Spec.AuditAnnotations) == 0 {
		errs = append(errs, field.Required(spec.Child("validations"), "validations or auditAnnotations must contain at least one item"))
	}
	if fp := p.Spec.FailurePolicy; fp != nil && *fp != admissionregistrationv1.Fail && *fp != admissionregistrationv1.Ignore {
		errs = append(errs, field.NotSupported(spec.Child("failurePolicy"), *fp, []string{string(admissionregistrationv1.Fail), string(admissionregistrationv1.Ignore)}))
	}
	if pk := p.Spec.ParamKind; pk != nil {
		if pk.APIVersion == "" {
			errs = append(errs, field.Required(spec.Child("paramKind", "apiVersion"), ""))
		}
		if pk.Kind == "" {
			errs = append(errs, field.Required(spec.Child("paramKind", "kind"), ""))
		}
	}
	errs = append(errs, validateMatchConditions(p.Spec.MatchConditions, spec.Child("matchConditions"))...)
	errs = append(errs, compilePolicyExpressions(p, spec)...)
	return errs
}

// compilePolicyExpressions compiles every expression of p as
// kube-apiserver will evaluate it (variables first, then validations,
// messages and audit annotations that may use them).
func compilePolicyExpressions(p *admissionregistrationv1.ValidatingAdmissionPolicy, spec *field.Path) field.ErrorList {
	var errs field.ErrorList
	c, err := celplugin.NewCompositedCompiler(environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion()))
	if err != nil {
		return field.ErrorList{field.InternalError(spec, err)}
	}
	vars := celplugin.OptionalVariableDeclarations{HasParams: p.Spec.ParamKind != nil, HasAuthorizer: true}
	seen := sets.New[string]()
	for i, v := range p.Spec.Variables {
		vp := spec.Child("variables").Index(i)
		switch {
		case v.Name == "":
			errs = append(errs, field.Required(vp.Child("name"), ""))
		case seen.Has(v.Name):
			errs = append(errs, field.Duplicate(vp.Child("name"), v.Name))
		}
		seen.Insert(v.Name)
		if v.Expression == "" {
			errs = append(errs, field.Required(vp.Child("expression"), ""))
			continue
		}
		if r := c.CompileAndStoreVariable(&validating.Variable{Name: v.Name, Expression: v.Expression}, vars, environment.NewExpressions); r.Error != nil {
			errs = append(errs, field.Invalid(vp.Child("expression"), v.Expression, fmt.Sprintf("compilation failed: %v", r.Error)))
		}
	}
	for i, v := range p.Spec.Validations {
		vp := spec.Child("validations").Index(i)
		if v.Expression == "" {
			errs = append(errs, field.Required(vp.Child("expression"), ""))
		} else if err := compiled(c, &validating.ValidationCondition{Expression: v.Expression}, vars); err != nil {
			errs = append(errs, field.Invalid(vp.Child("expression"), v.Expression, err.Error()))
		}
		if v.MessageExpression != "" {
			noAuthz := vars
			noAuthz.HasAuthorizer = false
			if err := compiled(c, &validating.MessageExpressionCondition{MessageExpression: v.MessageExpression}, noAuthz); err != nil {
				errs = append(errs, field.Invalid(vp.Child("messageExpression"), v.MessageExpression, err.Error()))
			}
		}
		if r := v.Reason; r != nil && *r != metav1.StatusReasonUnauthorized && *r != metav1.StatusReasonForbidden &&
			*r != metav1.StatusReasonInvalid && *r != metav1.StatusReasonRequestEntityTooLarge {
			errs = append(errs, field.NotSupported(vp.Child("reason"), *r, []string{string(metav1.StatusReasonUnauthorized),
				string(metav1.StatusReasonForbidden), string(metav1.StatusReasonInvalid), string(metav1.StatusReasonRequestEntityTooLarge)}))
		}
	}
	keys := sets.New[string]()
	for i, a := range p.Spec.AuditAnnotations {
		ap := spec.Child("auditAnnotations").Index(i)
		if a.Key == "" {
			errs = append(errs, field.Required(ap.Child("key"), ""))
		} else if keys.Has(a.Key) {
			errs = append(errs, field.Duplicate(ap.Child("key"), a.Key))
		}
		keys.Insert(a.Key)
		if a.ValueExpression == "" {
			errs = append(errs, field.Required(ap.Child("valueExpression"), ""))
		} else if err := compiled(c, &validating.AuditAnnotationCondition{Key: a.Key, ValueExpression: a.ValueExpression}, vars); err != nil {
			errs = append(errs, field.Invalid(ap.Child("valueExpression"), a.ValueExpression, err.Error()))
		}
	}
	return errs
}

// compiled is why expr does not compile (to its return types), or nil.
func compiled(c *celplugin.CompositedCompiler, expr celplugin.ExpressionAccessor, vars celplugin.OptionalVariableDeclarations) error {
	eval := c.CompileCondition([]celplugin.ExpressionAccessor{expr}, vars, environment.NewExpressions)
	for _, err := range eval.CompilationErrors() {
		return fmt.Errorf("compilation failed: %v", err)
	}
	return nil
}

// validateResources checks a MatchResources; rules says resourceRules are
// required (a policy's constraints).
func validateResources(m *admissionregistrationv1.MatchResources, p *field.Path, rules bool) field.ErrorList {
	var errs field.ErrorList
	if rules && len(m.ResourceRules) == 0 {
		errs = append(errs, field.Required(p.Child("resourceRules"), ""))
	}
	for _, r := range []struct {
		name  string
		rules []admissionregistrationv1.NamedRuleWithOperations
	}{{"resourceRules", m.ResourceRules}, {"excludeResourceRules", m.ExcludeResourceRules}} {
		for i, rule := range r.rules {
			errs = append(errs, validateRule(rule.RuleWithOperations, p.Child(r.name).Index(i))...)
		}
	}
	if mp := m.MatchPolicy; mp != nil && *mp != admissionregistrationv1.Exact && *mp != admissionregistrationv1.Equivalent {
		errs = append(errs, field.NotSupported(p.Child("matchPolicy"), *mp, []string{string(admissionregistrationv1.Equivalent), string(admissionregistrationv1.Exact)}))
	}
	return errs
}

func validateValidatingBinding(b *admissionregistrationv1.ValidatingAdmissionPolicyBinding) field.ErrorList {
	errs := validateBinding(b.Spec.PolicyName, b.Spec.ParamRef, b.Spec.MatchResources)
	spec := field.NewPath("spec")
	actions := sets.New[admissionregistrationv1.ValidationAction]()
	ap := spec.Child("validationActions")
	if len(b.Spec.ValidationActions) == 0 {
		errs = append(errs, field.Required(ap, "at least one validation action is required"))
	}
	for i, a := range b.Spec.ValidationActions {
		switch {
		case actions.Has(a):
			errs = append(errs, field.Duplicate(ap.Index(i), a))
		case a != admissionregistrationv1.Deny && a != admissionregistrationv1.Warn && a != admissionregistrationv1.Audit:
			errs = append(errs, field.NotSupported(ap.Index(i), a, []string{string(admissionregistrationv1.Deny), string(admissionregistrationv1.Warn), string(admissionregistrationv1.Audit)}))
		}
		actions.Insert(a)
	}
	if actions.Has(admissionregistrationv1.Deny) && actions.Has(admissionregistrationv1.Warn) {
		errs = append(errs, field.Invalid(ap, b.Spec.ValidationActions, "must not contain both Deny and Warn (repeating the same validation failure information in the API response and headers serves no purpose)"))
	}
	return errs
}

func validateParamRef(r *admissionregistrationv1.ParamRef, p *field.Path) field.ErrorList {
	if r == nil {
		return nil
	}
	var errs field.ErrorList
	if r.Name != "" && r.Selector != nil {
		errs = append(errs, field.Forbidden(p.Child("name"), "name and selector are mutually exclusive"))
	}
	if r.Name == "" && r.Selector == nil {
		errs = append(errs, field.Required(p, "one of name or selector must be specified"))
	}
	if r.ParameterNotFoundAction == nil {
		errs = append(errs, field.Required(p.Child("parameterNotFoundAction"), ""))
	} else if a := *r.ParameterNotFoundAction; a != admissionregistrationv1.DenyAction && a != admissionregistrationv1.AllowAction {
		errs = append(errs, field.NotSupported(p.Child("parameterNotFoundAction"), a, []string{string(admissionregistrationv1.DenyAction), string(admissionregistrationv1.AllowAction)}))
	}
	return errs
}

var mutatingPolicyHooks = typedHooks(defaultMutatingPolicy, validateMutatingPolicy)

var mutatingBindingHooks = typedHooks(func(b *admissionregistrationv1.MutatingAdmissionPolicyBinding) {
	defaultResources(b.Spec.MatchResources)
},
	validateMutatingBinding)

func validateMutatingBinding(b *admissionregistrationv1.MutatingAdmissionPolicyBinding) field.ErrorList {
	return validateBinding(b.Spec.PolicyName, b.Spec.ParamRef, b.Spec.MatchResources)
}

// validateBinding checks what both kinds of bindings have: the policy's
// name, the parameter reference, the resources.
func validateBinding(policy string, ref *admissionregistrationv1.ParamRef, m *admissionregistrationv1.MatchResources) field.ErrorList {
	var errs field.ErrorList
	spec := field.NewPath("spec")
	if policy == "" {
		errs = append(errs, field.Required(spec.Child("policyName"), ""))
	}
	errs = append(errs, validateParamRef(ref, spec.Child("paramRef"))...)
	if m != nil {
		errs = append(errs, validateResources(m, spec.Child("matchResources"), false)...)
	}
	return errs
}

func defaultMutatingPolicy(p *admissionregistrationv1.MutatingAdmissionPolicy) {
	if p.Spec.FailurePolicy == nil {
		p.Spec.FailurePolicy = ptr(admissionregistrationv1.Fail)
	}
	if p.Spec.ReinvocationPolicy == "" {
		p.Spec.ReinvocationPolicy = admissionregistrationv1.NeverReinvocationPolicy
	}
	defaultResources(p.Spec.MatchConstraints)
}

// validateMutatingPolicy is kube-apiserver's validation of a
// MutatingAdmissionPolicy, the compilation of its expressions included.
func validateMutatingPolicy(p *admissionregistrationv1.MutatingAdmissionPolicy) field.ErrorList {
	var errs field.ErrorList
	spec := field.NewPath("spec")
	if p.Spec.MatchConstraints == nil {
		errs = append(errs, field.Required(spec.Child("matchConstraints"), ""))
	} else {
		errs = append(errs, validateResources(p.Spec.MatchConstraints, spec.Child("matchConstraints"), true)...)
	}
	if fp := p.Spec.FailurePolicy; fp != nil && *fp != admissionregistrationv1.Fail && *fp != admissionregistrationv1.Ignore {
		errs = append(errs, field.NotSupported(spec.Child("failurePolicy"), *fp, []string{string(admissionregistrationv1.Fail), string(admissionregistrationv1.Ignore)}))
	}
	if rp := p.Spec.ReinvocationPolicy; rp != admissionregistrationv1.NeverReinvocationPolicy && rp != admissionregistrationv1.IfNeededReinvocationPolicy {
		errs = append(errs, field.NotSupported(spec.Child("reinvocationPolicy"), rp, []string{string(admissionregistrationv1.NeverReinvocationPolicy), string(admissionregistrationv1.IfNeededReinvocationPolicy)}))
	}
	if len(p.Spec.Mutations) == 0 {
		errs = append(errs, field.Required(spec.Child("mutations"), "mutations must contain at least one item"))
	}
	errs = append(errs, validateMatchConditions(p.Spec.MatchConditions, spec.Child("matchConditions"))...)
	c, err := celplugin.NewCompositedCompiler(environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion()))
	if err != nil {
		return append(errs, field.InternalError(spec, err))
	}
	vars := celplugin.OptionalVariableDeclarations{HasParams: p.Spec.ParamKind != nil, HasAuthorizer: true}
	for i, v := range p.Spec.Variables {
		if r := c.CompileAndStoreVariable(&validating.Variable{Name: v.Name, Expression: v.Expression}, vars, environment.NewExpressions); r.Error != nil {
			errs = append(errs, field.Invalid(spec.Child("variables").Index(i).Child("expression"), v.Expression, fmt.Sprintf("compilation failed: %v", r.Error)))
		}
	}
	vars.HasPatchTypes = true
	for i, m := range p.Spec.Mutations {
		mp := spec.Child("mutations").Index(i)
		var expr celplugin.ExpressionAccessor
		var ep *field.Path
		switch {
		case m.PatchType == admissionregistrationv1.PatchTypeApplyConfiguration && m.ApplyConfiguration != nil:
			expr, ep = &patch.ApplyConfigurationCondition{Expression: m.ApplyConfiguration.Expression}, mp.Child("applyConfiguration", "expression")
		case m.PatchType == admissionregistrationv1.PatchTypeJSONPatch && m.JSONPatch != nil:
			expr, ep = &patch.JSONPatchCondition{Expression: m.JSONPatch.Expression}, mp.Child("jsonPatch", "expression")
		case m.PatchType != admissionregistrationv1.PatchTypeApplyConfiguration && m.PatchType != admissionregistrationv1.PatchTypeJSONPatch:
			errs = append(errs, field.NotSupported(mp.Child("patchType"), m.PatchType, []string{string(admissionregistrationv1.PatchTypeApplyConfiguration), string(admissionregistrationv1.PatchTypeJSONPatch)}))
			continue
		default:
			errs = append(errs, field.Required(mp, "the expression of the patch type is required"))
			continue
		}
		ev := c.CompileMutatingEvaluator(expr, vars, environment.NewExpressions)
		for _, err := range ev.CompilationErrors() {
			errs = append(errs, field.Invalid(ep, expr.GetExpression(), fmt.Sprintf("compilation failed: %v", err)))
			break
		}
	}
	return errs
}
