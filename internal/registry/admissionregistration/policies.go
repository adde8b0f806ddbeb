package admissionregistration

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/validate/content"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celplugin "k8s.io/apiserver/pkg/admission/plugin/cel"
	"k8s.io/apiserver/pkg/admission/plugin/policy/mutating/patch"
	"k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	apiservercel "k8s.io/apiserver/pkg/cel"
	"k8s.io/apiserver/pkg/cel/environment"
	"k8s.io/client-go/util/jsonpath"

	"kapi/internal/registry"
)

// The admission policies and their bindings are validated as kube-apiserver
// 1.37 validates them: ValidateValidatingAdmissionPolicy(+Update),
// ValidateMutatingAdmissionPolicy(+Update) and the bindings' of
// k8s.io/kubernetes/pkg/apis/admissionregistration/validation, with the
// declarative rules kube enforces on a ValidatingAdmissionPolicyBinding
// (pkg/apis/admissionregistration/v1/zz_generated.validations.go) and its
// strategies' static-suffix check and warnings; same field paths,
// messages and order. Expressions are compiled by k8s.io/apiserver's CEL
// compilers, as kube compiles them. Kube validates its internal type after
// defaulting; the hooks validate the v1 object after the same defaults,
// which holds the same values. The object metadata is checked by the
// generic write path.

var validatingPolicyHooks = &registry.Hooks{
	Default: func(obj runtime.Object) {
		defaultValidatingPolicy(obj.(*admissionregistrationv1.ValidatingAdmissionPolicy))
	},
	Validate: validateValidatingPolicy,
	Warnings: staticSuffixWarnings,
}

var validatingBindingHooks = &registry.Hooks{
	Default: func(obj runtime.Object) {
		defaultResources(obj.(*admissionregistrationv1.ValidatingAdmissionPolicyBinding).Spec.MatchResources)
	},
	Validate: validateValidatingBinding,
	Warnings: staticSuffixWarnings,
}

var mutatingPolicyHooks = &registry.Hooks{
	Default: func(obj runtime.Object) {
		defaultMutatingPolicy(obj.(*admissionregistrationv1.MutatingAdmissionPolicy))
	},
	Validate: validateMutatingPolicy,
	Warnings: staticSuffixWarnings,
}

var mutatingBindingHooks = &registry.Hooks{
	Default: func(obj runtime.Object) {
		defaultResources(obj.(*admissionregistrationv1.MutatingAdmissionPolicyBinding).Spec.MatchResources)
	},
	Validate: validateMutatingBinding,
	Warnings: staticSuffixWarnings,
}

// defaultValidatingPolicy is kube's SetObjectDefaults_ValidatingAdmissionPolicy.
func defaultValidatingPolicy(p *admissionregistrationv1.ValidatingAdmissionPolicy) {
	if p.Spec.FailurePolicy == nil {
		p.Spec.FailurePolicy = ptr(admissionregistrationv1.Fail)
	}
	defaultResources(p.Spec.MatchConstraints)
}

// defaultMutatingPolicy is kube's SetObjectDefaults_MutatingAdmissionPolicy:
// reinvocationPolicy has no default (it is required).
func defaultMutatingPolicy(p *admissionregistrationv1.MutatingAdmissionPolicy) {
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

// The values kube accepts, in the order its messages list them.
var (
	validationReasons = []string{string(metav1.StatusReasonForbidden), string(metav1.StatusReasonInvalid),
		string(metav1.StatusReasonRequestEntityTooLarge)}
	validationActions = []string{string(admissionregistrationv1.Audit), string(admissionregistrationv1.Deny),
		string(admissionregistrationv1.Warn)}
	patchTypes = []string{string(admissionregistrationv1.PatchTypeApplyConfiguration),
		string(admissionregistrationv1.PatchTypeJSONPatch)}
	// A mutating policy cannot match a DELETE.
	mutatingOperations = []string{string(admissionregistrationv1.OperationAll), string(admissionregistrationv1.Connect),
		string(admissionregistrationv1.Create), string(admissionregistrationv1.Update)}
	notFoundActions = []string{string(admissionregistrationv1.DenyAction), string(admissionregistrationv1.AllowAction)}
)

const (
	maxAuditAnnotations                     = 20
	maxAuditAnnotationValueExpressionLength = 5 * 1024
)

// policyOptions are kube's validationOptions for a policy: on a create
// everything is checked in the environment of new expressions; an update
// skips match conditions it does not change (nor the paramKind they may
// use) and compiles the expressions the stored policy already had in the
// environment of stored expressions.
type policyOptions struct {
	ignoreMatchConditions        bool
	allowParamsInMatchConditions bool
	stored                       storedExpressions
}

// storedExpressions are kube's preexistingExpressions (nil sets on a
// create).
type storedExpressions struct {
	matchConditions, validations, messages, auditAnnotations, applyConfigurations sets.Set[string]
}

// envType is the environment kube compiles expr in, given the stored
// expressions of its kind.
func envType(stored sets.Set[string], expr string) environment.Type {
	if stored.Has(expr) {
		return environment.StoredExpressions
	}
	return environment.NewExpressions
}

func validatingPolicyOptions(p, old *admissionregistrationv1.ValidatingAdmissionPolicy) policyOptions {
	if old == nil {
		return policyOptions{}
	}
	s := storedExpressions{matchConditions: sets.New[string](), validations: sets.New[string](), messages: sets.New[string](),
		auditAnnotations: sets.New[string]()}
	for _, c := range old.Spec.MatchConditions {
		s.matchConditions.Insert(c.Expression)
	}
	for _, v := range old.Spec.Validations {
		s.validations.Insert(v.Expression)
		if v.MessageExpression != "" {
			s.messages.Insert(v.MessageExpression)
		}
	}
	for _, a := range old.Spec.AuditAnnotations {
		s.auditAnnotations.Insert(a.ValueExpression)
	}
	return policyOptions{
		ignoreMatchConditions: equality.Semantic.DeepEqual(p.Spec.ParamKind, old.Spec.ParamKind) &&
			equality.Semantic.DeepEqual(p.Spec.MatchConditions, old.Spec.MatchConditions),
		stored: s,
	}
}

// mutatingPolicyOptions: kube keeps the stored JSONPatch expressions
// apart but looks those of both patch types up among the stored
// ApplyConfiguration ones, and the variables among the validations (none
// for a mutating policy); so do these.
func mutatingPolicyOptions(p, old *admissionregistrationv1.MutatingAdmissionPolicy) policyOptions {
	if old == nil {
		return policyOptions{}
	}
	s := storedExpressions{matchConditions: sets.New[string](), applyConfigurations: sets.New[string]()}
	for _, c := range old.Spec.MatchConditions {
		s.matchConditions.Insert(c.Expression)
	}
	for _, m := range old.Spec.Mutations {
		if m.ApplyConfiguration != nil {
			s.applyConfigurations.Insert(m.ApplyConfiguration.Expression)
		}
	}
	return policyOptions{
		ignoreMatchConditions: equality.Semantic.DeepEqual(p.Spec.ParamKind, old.Spec.ParamKind) &&
			equality.Semantic.DeepEqual(p.Spec.MatchConditions, old.Spec.MatchConditions),
		stored: s,
	}
}

// policyCompiler is kube's createCompiler: the stateless compiler of match
// conditions (strict cost) or, where variables are composed, a new
// k8s.io/apiserver CompositedCompiler, stateful, one per policy.
func policyCompiler(composition bool) celplugin.Compiler {
	if !composition {
		return matchConditionCompiler
	}
	c, err := celplugin.NewCompositedCompiler(environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion()))
	if err != nil {
		return celplugin.NewCompiler(environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion()))
	}
	return c
}

// celError is kube's convertCELErrorToValidationError.
func celError(p *field.Path, expr celplugin.ExpressionAccessor, err *apiservercel.Error) *field.Error {
	switch err.Type {
	case apiservercel.ErrorTypeRequired:
		return field.Required(p, err.Detail)
	case apiservercel.ErrorTypeInvalid:
		return field.Invalid(p, expr.GetExpression(), err.Detail)
	case apiservercel.ErrorTypeInternal:
		return field.InternalError(p, err)
	}
	return field.InternalError(p, fmt.Errorf("unsupported error type: %w", err))
}

// compileErrors compiles expr as kube's validateCELCondition.
func compileErrors(c celplugin.Compiler, expr celplugin.ExpressionAccessor, vars celplugin.OptionalVariableDeclarations, env environment.Type, p *field.Path) field.ErrorList {
	if r := c.CompileCELExpression(expr, vars, env); r.Error != nil {
		return field.ErrorList{celError(p, expr, r.Error)}
	}
	return nil
}

func validateValidatingPolicy(obj, old runtime.Object) field.ErrorList {
	p := obj.(*admissionregistrationv1.ValidatingAdmissionPolicy)
	var o *admissionregistrationv1.ValidatingAdmissionPolicy
	if old != nil {
		o = old.(*admissionregistrationv1.ValidatingAdmissionPolicy)
	}
	errs := validateValidatingPolicySpec(p.Name, &p.Spec, validatingPolicyOptions(p, o), field.NewPath("spec"))
	return append(errs, staticSuffixErrors(obj, old)...)
}

// validateValidatingPolicySpec is kube's validateValidatingAdmissionPolicySpec.
func validateValidatingPolicySpec(name string, spec *admissionregistrationv1.ValidatingAdmissionPolicySpec, opts policyOptions, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	var compiler celplugin.Compiler
	getCompiler := func() celplugin.Compiler {
		if compiler == nil {
			compiler = policyCompiler(len(spec.Variables) > 0)
		}
		return compiler
	}
	errs = append(errs, failurePolicyErrors(spec.FailurePolicy, p.Child("failurePolicy"))...)
	if spec.ParamKind != nil {
		opts.allowParamsInMatchConditions = true
		errs = append(errs, validateParamKind(*spec.ParamKind, p.Child("paramKind"))...)
	}
	errs = append(errs, matchConstraintsErrors(spec.MatchConstraints, p.Child("matchConstraints"), false)...)
	if !opts.ignoreMatchConditions {
		errs = append(errs, matchConditionErrors(spec.MatchConditions, opts.allowParamsInMatchConditions, opts.stored.matchConditions, p.Child("matchConditions"))...)
	}
	for i := range spec.Variables {
		errs = append(errs, validateVariable(getCompiler(), &spec.Variables[i], spec.ParamKind != nil, opts, p.Child("variables").Index(i))...)
	}
	if len(spec.Validations) == 0 && len(spec.AuditAnnotations) == 0 {
		errs = append(errs, field.Required(p.Child("validations"), "validations or auditAnnotations must contain at least one item"),
			field.Required(p.Child("auditAnnotations"), "validations or auditAnnotations must contain at least one item"))
		return errs
	}
	for i := range spec.Validations {
		errs = append(errs, validateValidation(getCompiler(), &spec.Validations[i], spec.ParamKind != nil, opts, p.Child("validations").Index(i))...)
	}
	if len(spec.AuditAnnotations) > maxAuditAnnotations {
		// kube shows its internal type, which has no JSON names.
		type auditAnnotation struct{ Key, ValueExpression string }
		value := make([]auditAnnotation, len(spec.AuditAnnotations))
		for i, a := range spec.AuditAnnotations {
			value[i] = auditAnnotation(a)
		}
		errs = append(errs, field.Invalid(p.Child("auditAnnotations"), value, fmt.Sprintf("must not have more than %d auditAnnotations", maxAuditAnnotations)))
	}
	keys := sets.New[string]()
	for i := range spec.AuditAnnotations {
		a := &spec.AuditAnnotations[i]
		ap := p.Child("auditAnnotations").Index(i)
		errs = append(errs, validateAuditAnnotation(getCompiler(), name, a, spec.ParamKind != nil, opts, ap)...)
		if keys.Has(a.Key) {
			errs = append(errs, field.Duplicate(ap.Child("key"), a.Key))
		}
		keys.Insert(a.Key)
	}
	return errs
}

func failurePolicyErrors(fp *admissionregistrationv1.FailurePolicyType, p *field.Path) field.ErrorList {
	if fp == nil {
		return field.ErrorList{field.Required(p, "")}
	}
	if !slices.Contains(failurePolicies, string(*fp)) {
		return field.ErrorList{field.NotSupported(p, *fp, failurePolicies)}
	}
	return nil
}

// validateParamKind is kube's: apiVersion a group/version as an
// APIService's, kind a DNS-1035 label but for its case.
func validateParamKind(k admissionregistrationv1.ParamKind, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	vp := p.Child("apiVersion")
	if k.APIVersion == "" {
		errs = append(errs, field.Required(vp, ""))
	} else if group, version, err := parseGroupVersion(k.APIVersion); err != nil {
		errs = append(errs, field.Invalid(vp, k.APIVersion, err.Error()))
	} else {
		if group != "" {
			if msgs := validation.IsDNS1123Subdomain(group); len(msgs) > 0 {
				errs = append(errs, field.Invalid(vp, group, strings.Join(msgs, ",")))
			}
		}
		if version == "" {
			errs = append(errs, field.Invalid(vp, k.APIVersion, "version must be specified"))
		} else if msgs := validation.IsDNS1035Label(version); len(msgs) > 0 {
			errs = append(errs, field.Invalid(vp, version, strings.Join(msgs, ",")))
		}
	}
	if k.Kind == "" {
		errs = append(errs, field.Required(p.Child("kind"), ""))
	} else if msgs := validation.IsDNS1035Label(strings.ToLower(k.Kind)); len(msgs) > 0 {
		errs = append(errs, field.Invalid(p.Child("kind"), k.Kind, "may have mixed case, but should otherwise match: "+strings.Join(msgs, ",")))
	}
	return errs
}

// parseGroupVersion is kube's (not schema.ParseGroupVersion): "/" is
// empty, more than one "/" an error.
func parseGroupVersion(gv string) (group, version string, err error) {
	if gv == "" || gv == "/" {
		return "", "", nil
	}
	switch strings.Count(gv, "/") {
	case 0:
		return "", gv, nil
	case 1:
		group, version, _ = strings.Cut(gv, "/")
		return group, version, nil
	}
	return "", "", fmt.Errorf("unexpected GroupVersion string: %v", gv)
}

// matchConstraintsErrors checks a policy's matchConstraints: required,
// with resource rules; a mutating policy's may not match a DELETE.
func matchConstraintsErrors(m *admissionregistrationv1.MatchResources, p *field.Path, mutating bool) field.ErrorList {
	if m == nil {
		return field.ErrorList{field.Required(p, "")}
	}
	errs := validateMatchResources(m, p)
	if len(m.ResourceRules) == 0 {
		errs = append(errs, field.Required(p.Child("resourceRules"), ""))
	}
	if mutating {
		errs = append(errs, mutatingOperationErrors(m, p)...)
	}
	return errs
}

// mutatingOperationErrors: kube names the operations of every rule by one
// path, without the rule's index.
func mutatingOperationErrors(m *admissionregistrationv1.MatchResources, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, r := range m.ResourceRules {
		for _, op := range r.Operations {
			if !slices.Contains(mutatingOperations, string(op)) {
				errs = append(errs, field.NotSupported(p.Child("resourceRules", "operations"), op, mutatingOperations))
			}
		}
	}
	return errs
}

// validateMatchResources is kube's: selectors validated strictly (the
// type came after kube's issue #99139, so no stored value is let stay).
func validateMatchResources(m *admissionregistrationv1.MatchResources, p *field.Path) field.ErrorList {
	if m == nil {
		return nil
	}
	var errs field.ErrorList
	if m.MatchPolicy == nil {
		errs = append(errs, field.Required(p.Child("matchPolicy"), ""))
	} else if !slices.Contains(matchPolicies, string(*m.MatchPolicy)) {
		errs = append(errs, field.NotSupported(p.Child("matchPolicy"), *m.MatchPolicy, matchPolicies))
	}
	for _, s := range []struct {
		name     string
		selector *metav1.LabelSelector
	}{{"namespaceSelector", m.NamespaceSelector}, {"objectSelector", m.ObjectSelector}} {
		if s.selector == nil {
			errs = append(errs, field.Required(p.Child(s.name), ""))
		} else {
			errs = append(errs, metav1validation.ValidateLabelSelector(s.selector, metav1validation.LabelSelectorValidationOptions{}, p.Child(s.name))...)
		}
	}
	for i := range m.ResourceRules {
		errs = append(errs, validateNamedRule(&m.ResourceRules[i], p.Child("resourceRules").Index(i))...)
	}
	for i := range m.ExcludeResourceRules {
		errs = append(errs, validateNamedRule(&m.ExcludeResourceRules[i], p.Child("excludeResourceRules").Index(i))...)
	}
	return errs
}

// validateNamedRule is kube's validateNamedRuleWithOperations: resource
// names that are path segments, each once, then the rule.
func validateNamedRule(r *admissionregistrationv1.NamedRuleWithOperations, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	names := sets.New[string]()
	for i, name := range r.ResourceNames {
		np := p.Child("resourceNames").Index(i)
		for _, msg := range content.IsPathSegmentName(name) {
			errs = append(errs, field.Invalid(np, name, msg))
		}
		if names.Has(name) {
			errs = append(errs, field.Duplicate(np, name))
		} else {
			names.Insert(name)
		}
	}
	return append(errs, validateRule(r.RuleWithOperations, p)...)
}

// qualifiedNameErrors is kube's core ValidateQualifiedName.
func qualifiedNameErrors(name string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range content.IsQualifiedName(name) {
		errs = append(errs, field.Invalid(p, name, msg).WithOrigin("format=qualified-name"))
	}
	return errs
}

var (
	celIdentifier = regexp.MustCompile("^[_a-zA-Z][_a-zA-Z0-9]*$")
	celReserved   = sets.New("true", "false", "null", "in", "as", "break", "const", "continue", "else", "for", "function",
		"if", "import", "let", "loop", "package", "namespace", "return", "var", "void", "while")
)

// validateVariable is kube's: the variable is compiled and stored for the
// expressions after it even where its name is wrong. Kube looks a
// variable's expression up among the stored validations.
func validateVariable(c celplugin.Compiler, v *admissionregistrationv1.Variable, hasParams bool, opts policyOptions, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if strings.TrimSpace(v.Name) == "" {
		errs = append(errs, field.Required(p.Child("name"), "name is not specified"))
	} else if !celIdentifier.MatchString(v.Name) || celReserved.Has(v.Name) {
		errs = append(errs, field.Invalid(p.Child("name"), v.Name, "must be a valid CEL identifier"))
	}
	if strings.TrimSpace(v.Expression) == "" {
		return append(errs, field.Required(p.Child("expression"), "expression is not specified"))
	}
	composited, ok := c.(*celplugin.CompositedCompiler)
	if !ok {
		return append(errs, field.InternalError(p, fmt.Errorf("variable composition is not allowed")))
	}
	variable := &validating.Variable{Name: v.Name, Expression: v.Expression}
	r := composited.CompileAndStoreVariable(variable, celplugin.OptionalVariableDeclarations{HasParams: hasParams, HasAuthorizer: true},
		envType(opts.stored.validations, v.Expression))
	if r.Error != nil {
		errs = append(errs, celError(p.Child("expression"), variable, r.Error))
	}
	return errs
}

var newlines = regexp.MustCompile(`[\n\r]+`)

// validateValidation is kube's. A messageExpression may use params where
// the policy has a paramKind, never the authorizer.
func validateValidation(c celplugin.Compiler, v *admissionregistrationv1.Validation, hasParams bool, opts policyOptions, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	msg, msgExpr := strings.TrimSpace(v.Message), strings.TrimSpace(v.MessageExpression)
	if strings.TrimSpace(v.Expression) == "" {
		errs = append(errs, field.Required(p.Child("expression"), "expression is not specified"))
	} else {
		errs = append(errs, compileErrors(c, &validating.ValidationCondition{Expression: v.Expression},
			celplugin.OptionalVariableDeclarations{HasParams: hasParams, HasAuthorizer: true},
			envType(opts.stored.validations, v.Expression), p.Child("expression"))...)
	}
	if v.MessageExpression != "" && msgExpr == "" {
		errs = append(errs, field.Invalid(p.Child("messageExpression"), v.MessageExpression, "must be non-empty if specified"))
	} else if msgExpr != "" {
		// The expression as written, so that the columns are right.
		errs = append(errs, compileErrors(c, &validating.MessageExpressionCondition{MessageExpression: v.MessageExpression},
			celplugin.OptionalVariableDeclarations{HasParams: opts.allowParamsInMatchConditions},
			envType(opts.stored.messages, v.MessageExpression), p.Child("messageExpression"))...)
	}
	if v.Message != "" && msg == "" {
		errs = append(errs, field.Invalid(p.Child("message"), v.Message, "must be non-empty if specified"))
	} else if newlines.MatchString(msg) {
		errs = append(errs, field.Invalid(p.Child("message"), v.Message, "must not contain line breaks"))
	}
	if v.Reason != nil && !slices.Contains(validationReasons, string(*v.Reason)) {
		errs = append(errs, field.NotSupported(p.Child("reason"), *v.Reason, validationReasons))
	}
	return errs
}

// validateAuditAnnotation is kube's: "<policy name>/<key>" a qualified
// name, a value expression of at most 5 KiB giving a string or null.
func validateAuditAnnotation(c celplugin.Compiler, policy string, a *admissionregistrationv1.AuditAnnotation, hasParams bool, opts policyOptions, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if policy != "" {
		errs = append(errs, qualifiedNameErrors(policy+"/"+a.Key, p.Child("key"))...)
	} else {
		errs = append(errs, field.Invalid(p.Child("key"), a.Key, "requires metadata.name be non-empty"))
	}
	vp := p.Child("valueExpression")
	expr := strings.TrimSpace(a.ValueExpression)
	switch {
	case expr == "":
		return append(errs, field.Required(vp, "valueExpression is not specified"))
	case len(expr) > maxAuditAnnotationValueExpressionLength:
		return append(errs, field.Required(vp, fmt.Sprintf("must not exceed %d bytes in length", maxAuditAnnotationValueExpressionLength)))
	}
	r := c.CompileCELExpression(&validating.AuditAnnotationCondition{ValueExpression: expr},
		celplugin.OptionalVariableDeclarations{HasParams: hasParams, HasAuthorizer: true}, envType(opts.stored.auditAnnotations, a.ValueExpression))
	if r.Error != nil {
		switch r.Error.Type {
		case apiservercel.ErrorTypeRequired:
			errs = append(errs, field.Required(vp, r.Error.Detail))
		case apiservercel.ErrorTypeInvalid:
			errs = append(errs, field.Invalid(vp, a.ValueExpression, r.Error.Detail))
		default:
			errs = append(errs, field.InternalError(vp, r.Error))
		}
	}
	return errs
}

func validateMutatingPolicy(obj, old runtime.Object) field.ErrorList {
	p := obj.(*admissionregistrationv1.MutatingAdmissionPolicy)
	var o *admissionregistrationv1.MutatingAdmissionPolicy
	if old != nil {
		o = old.(*admissionregistrationv1.MutatingAdmissionPolicy)
	}
	errs := validateMutatingPolicySpec(&p.Spec, mutatingPolicyOptions(p, o), field.NewPath("spec"))
	return append(errs, staticSuffixErrors(obj, old)...)
}

// validateMutatingPolicySpec is kube's validateMutatingAdmissionPolicySpec.
func validateMutatingPolicySpec(spec *admissionregistrationv1.MutatingAdmissionPolicySpec, opts policyOptions, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	compiler := policyCompiler(true)
	errs = append(errs, failurePolicyErrors(spec.FailurePolicy, p.Child("failurePolicy"))...)
	if spec.ParamKind != nil {
		opts.allowParamsInMatchConditions = true
		errs = append(errs, validateParamKind(*spec.ParamKind, p.Child("paramKind"))...)
	}
	errs = append(errs, matchConstraintsErrors(spec.MatchConstraints, p.Child("matchConstraints"), true)...)
	if !opts.ignoreMatchConditions {
		errs = append(errs, matchConditionErrors(spec.MatchConditions, opts.allowParamsInMatchConditions, opts.stored.matchConditions, p.Child("matchConditions"))...)
	}
	for i := range spec.Variables {
		errs = append(errs, validateVariable(compiler, &spec.Variables[i], spec.ParamKind != nil, opts, p.Child("variables").Index(i))...)
	}
	if len(spec.Mutations) == 0 {
		errs = append(errs, field.Required(p.Child("mutations"), "mutations must contain at least one item"))
	}
	for i := range spec.Mutations {
		errs = append(errs, validateMutation(compiler, &spec.Mutations[i], spec.ParamKind != nil, opts, p.Child("mutations").Index(i))...)
	}
	switch rp := spec.ReinvocationPolicy; {
	case rp == "":
		errs = append(errs, field.Required(p.Child("reinvocationPolicy"), ""))
	case !slices.Contains(reinvocationPolicies, string(rp)):
		errs = append(errs, field.NotSupported(p.Child("reinvocationPolicy"), rp, reinvocationPolicies))
	}
	return errs
}

// validateMutation is kube's: the patch of its type, and not the other.
func validateMutation(c celplugin.Compiler, m *admissionregistrationv1.Mutation, hasParams bool, opts policyOptions, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch m.PatchType {
	case "":
		errs = append(errs, field.Required(p.Child("patchType"), ""))
	case admissionregistrationv1.PatchTypeJSONPatch:
		if m.JSONPatch == nil {
			errs = append(errs, field.Required(p.Child("jsonPatch"), "must be specified when patchType is JSONPatch"))
		} else {
			expr := strings.TrimSpace(m.JSONPatch.Expression)
			errs = append(errs, patchErrors(c, &patch.JSONPatchCondition{Expression: expr}, m.JSONPatch.Expression, hasParams, opts, p.Child("jsonPatch"))...)
		}
		if m.ApplyConfiguration != nil {
			errs = append(errs, field.Invalid(p.Child("applyConfiguration"), "{applyConfiguration}", "must not be specified when patchType is JSONPatch"))
		}
	case admissionregistrationv1.PatchTypeApplyConfiguration:
		if m.ApplyConfiguration == nil {
			errs = append(errs, field.Required(p.Child("applyConfiguration"), "must be specified when patchType is ApplyConfiguration"))
		} else {
			expr := strings.TrimSpace(m.ApplyConfiguration.Expression)
			errs = append(errs, patchErrors(c, &patch.ApplyConfigurationCondition{Expression: expr}, m.ApplyConfiguration.Expression, hasParams, opts, p.Child("applyConfiguration"))...)
		}
		if m.JSONPatch != nil {
			errs = append(errs, field.Invalid(p.Child("jsonPatch"), "{jsonPatch}", "must not be specified when patchType is ApplyConfiguration"))
		}
	default:
		errs = append(errs, field.NotSupported(p.Child("patchType"), m.PatchType, patchTypes))
	}
	return errs
}

// patchErrors is kube's validateApplyConfiguration and validateJSONPatch:
// the trimmed expression compiled with the patch types, stored if the
// expression as written was a stored ApplyConfiguration's.
func patchErrors(c celplugin.Compiler, expr celplugin.ExpressionAccessor, written string, hasParams bool, opts policyOptions, p *field.Path) field.ErrorList {
	if expr.GetExpression() == "" {
		return field.ErrorList{field.Required(p.Child("expression"), "")}
	}
	return compileErrors(c, expr, celplugin.OptionalVariableDeclarations{HasParams: hasParams, HasAuthorizer: true, HasPatchTypes: true},
		envType(opts.stored.applyConfigurations, written), p.Child("expression"))
}

// validateValidatingPolicyStatus is kube's
// ValidateValidatingAdmissionPolicyStatusUpdate, what its status strategy
// checks of a write of the status (the spec is the stored one): the
// type-checking warnings, each with a warning and a JSONPath field
// reference, and the conditions. It is for the row's status subresource
// (registry.ValidatedStatus with registry.StatusMetadataResets, kube's
// ResetObjectMetaForStatus).
func validateValidatingPolicyStatus(obj, _ runtime.Object) field.ErrorList {
	status := &obj.(*admissionregistrationv1.ValidatingAdmissionPolicy).Status
	p := field.NewPath("status")
	var errs field.ErrorList
	if tc := status.TypeChecking; tc != nil {
		for i, w := range tc.ExpressionWarnings {
			wp := p.Child("typeChecking", "expressionWarnings").Index(i)
			if w.Warning == "" {
				errs = append(errs, field.Required(wp.Child("warning"), ""))
			}
			errs = append(errs, fieldRefErrors(w.FieldRef, wp.Child("fieldRef"))...)
		}
	}
	return append(errs, metav1validation.ValidateConditions(status.Conditions, p.Child("conditions"))...)
}

// fieldRefErrors is kube's validateFieldRef, by client-go's JSONPath
// parser as kube's.
func fieldRefErrors(ref string, p *field.Path) field.ErrorList {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return field.ErrorList{field.Required(p, "")}
	}
	if err := jsonpath.New("spec").Parse(fmt.Sprintf("{%s}", ref)); err != nil {
		return field.ErrorList{field.Invalid(p, ref, fmt.Sprintf("invalid JSONPath: %v", err))}
	}
	return nil
}
