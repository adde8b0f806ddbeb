package policy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	apiadmission "k8s.io/apiserver/pkg/admission"
	celplugin "k8s.io/apiserver/pkg/admission/plugin/cel"
	"k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	vapmetrics "k8s.io/apiserver/pkg/admission/plugin/policy/validating/metrics"
	"k8s.io/apiserver/pkg/admission/plugin/webhook/matchconditions"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"k8s.io/apiserver/pkg/cel/environment"
	"k8s.io/klog/v2"

	"kapi/internal/admission"
	"kapi/internal/admission/match"
	"kapi/internal/audit"
	"kapi/internal/request"
)

// Validating is kube-apiserver's ValidatingAdmissionPolicy plugin.
type Validating struct {
	loader
	deps    Deps
	current atomic.Pointer[[]*vap]
	// static are the policies of the static manifests (LoadStatic).
	static atomic.Pointer[[]*vap]
}

// vap is a compiled ValidatingAdmissionPolicy with its bindings.
type vap struct {
	policy      *admissionregistrationv1.ValidatingAdmissionPolicy
	validator   validating.Validator
	constraints *resources
	bindings    []*vapBinding
}

type vapBinding struct {
	binding   *admissionregistrationv1.ValidatingAdmissionPolicyBinding
	resources *resources
}

// NewValidating returns the plugin; LoadPolicies and LoadBindings give
// it its objects.
func NewValidating(d Deps) *Validating {
	v := &Validating{deps: d}
	v.current.Store(&[]*vap{})
	v.static.Store(&[]*vap{})
	v.publish = v.compile
	return v
}

// HandlesConnect: policies may match CONNECTs (operations: [CONNECT]).
func (*Validating) HandlesConnect() bool { return true }

// compile compiles the policies and their bindings and publishes them.
func (v *Validating) compile(policies, bindings []runtime.Object) {
	out := v.build(policies, bindings)
	v.current.Store(&out)
}

// build compiles the policies (those with at least one binding) and
// their bindings.
func (v *Validating) build(policies, bindings []runtime.Object) []*vap {
	byPolicy := map[string][]*vapBinding{}
	for _, o := range bindings {
		b := o.(*admissionregistrationv1.ValidatingAdmissionPolicyBinding)
		byPolicy[b.Spec.PolicyName] = append(byPolicy[b.Spec.PolicyName], &vapBinding{binding: b, resources: bindingResources(b.Spec.MatchResources)})
	}
	var out []*vap
	for _, o := range policies {
		p := o.(*admissionregistrationv1.ValidatingAdmissionPolicy)
		if bs := byPolicy[p.Name]; len(bs) > 0 {
			out = append(out, &vap{policy: p, validator: compileValidating(p), constraints: compileResources(p.Spec.MatchConstraints), bindings: bs})
		}
	}
	return out
}

func bindingResources(m *admissionregistrationv1.MatchResources) *resources {
	if m == nil {
		return nil
	}
	return compileResources(m)
}

// compositionEnv is kube-apiserver's CEL environment for stored admission
// expressions, with variables.
func compositedCompiler() (*celplugin.CompositedCompiler, error) {
	return celplugin.NewCompositedCompiler(environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion()))
}

// compileValidating compiles a policy's expressions with k8s.io/apiserver's
// compiler, as kube-apiserver does; what does not compile makes every
// evaluation an error, which the policy's failurePolicy decides.
func compileValidating(p *admissionregistrationv1.ValidatingAdmissionPolicy) validating.Validator {
	hasParam := p.Spec.ParamKind != nil
	vars := celplugin.OptionalVariableDeclarations{HasParams: hasParam, HasAuthorizer: true}
	exprVars := celplugin.OptionalVariableDeclarations{HasParams: hasParam, HasAuthorizer: false}
	c, err := compositedCompiler()
	if err != nil {
		return validating.NewValidator(nil, nil, nil, nil, p.Spec.FailurePolicy, err)
	}
	named := make([]celplugin.NamedExpressionAccessor, len(p.Spec.Variables))
	for i, v := range p.Spec.Variables {
		named[i] = &validating.Variable{Name: v.Name, Expression: v.Expression}
	}
	c.CompileAndStoreVariables(named, vars, environment.StoredExpressions)
	var matcher matchconditions.Matcher
	if len(p.Spec.MatchConditions) > 0 {
		exprs := make([]celplugin.ExpressionAccessor, len(p.Spec.MatchConditions))
		for i := range p.Spec.MatchConditions {
			exprs[i] = (*matchconditions.MatchCondition)(&p.Spec.MatchConditions[i])
		}
		matcher = matchconditions.NewMatcher(c.CompileCondition(exprs, vars, environment.StoredExpressions), p.Spec.FailurePolicy, "policy", "validate", p.Name)
	}
	validations := make([]celplugin.ExpressionAccessor, len(p.Spec.Validations))
	messages := make([]celplugin.ExpressionAccessor, len(p.Spec.Validations))
	for i, v := range p.Spec.Validations {
		validations[i] = &validating.ValidationCondition{Expression: v.Expression, Message: v.Message, Reason: v.Reason}
		if v.MessageExpression != "" {
			messages[i] = &validating.MessageExpressionCondition{MessageExpression: v.MessageExpression}
		}
	}
	annotations := make([]celplugin.ExpressionAccessor, len(p.Spec.AuditAnnotations))
	for i, a := range p.Spec.AuditAnnotations {
		annotations[i] = &validating.AuditAnnotationCondition{Key: a.Key, ValueExpression: a.ValueExpression}
	}
	return validating.NewValidator(c.CompileCondition(validations, vars, environment.StoredExpressions), matcher,
		c.CompileCondition(annotations, vars, environment.StoredExpressions),
		c.CompileCondition(messages, exprVars, environment.StoredExpressions), p.Spec.FailurePolicy, nil)
}

// denial is one failed validation to enforce.
type denial struct {
	policy, binding string
	decision        validating.PolicyDecision
}

// failure is one failed validation to audit, as kube-apiserver records it.
type failure struct {
	Message           string                                     `json:"message"`
	Policy            string                                     `json:"policy"`
	Binding           string                                     `json:"binding"`
	ExpressionIndex   int                                        `json:"expressionIndex"`
	ValidationActions []admissionregistrationv1.ValidationAction `json:"validationActions"`
}

// Validate evaluates the policies whose constraints and bindings take a:
// each failed validation is enforced by its binding's validationActions
// (Deny refuses, Warn warns, Audit records); configuration errors by the
// policy's failurePolicy.
func (v *Validating) Validate(ctx context.Context, a *admission.Attributes) error {
	policies := match.InForce(match.ReachOf(a, true), *v.static.Load(), *v.current.Load())
	if len(policies) == 0 {
		return nil
	}
	var denials []denial
	var failures []failure
	configError := func(p *admissionregistrationv1.ValidatingAdmissionPolicy, b *admissionregistrationv1.ValidatingAdmissionPolicyBinding, err error) {
		if p.Spec.FailurePolicy != nil && *p.Spec.FailurePolicy == admissionregistrationv1.Ignore {
			return
		}
		msg := fmt.Sprintf("failed to configure policy: %v", err)
		bname := ""
		if b != nil {
			msg, bname = fmt.Sprintf("failed to configure binding: %v", err), b.Name
		}
		denials = append(denials, denial{policy: p.Name, binding: bname, decision: validating.PolicyDecision{Action: validating.ActionDeny, Message: msg}})
	}
	var namespace *corev1.Namespace
	namespaceRead := false
	for _, p := range policies {
		ok, as, err := p.constraints.matches(ctx, a, v.deps, nil)
		if err != nil {
			configError(p.policy, nil, err)
			continue
		}
		if !ok {
			continue
		}
		if err := p.validator.CompileError(); err != nil {
			configError(p.policy, nil, err)
			continue
		}
		var versioned *apiadmission.VersionedAttributes
		annotations := annotationCollector{}
		for _, b := range p.bindings {
			matchedAs := as
			if b.resources != nil {
				var ok bool
				if ok, matchedAs, err = b.resources.matches(ctx, a, v.deps, as); err != nil {
					configError(p.policy, b.binding, err)
					continue
				} else if !ok {
					continue
				}
			}
			ps, err := params(ctx, v.deps, p.policy.Spec.ParamKind, b.binding.Spec.ParamRef, a.Namespace)
			if err != nil {
				configError(p.policy, b.binding, err)
				continue
			}
			if len(ps) == 0 {
				continue
			}
			if versioned == nil {
				kind, obj, old, err := objectsAs(a, matchedAs)
				if err != nil {
					configError(p.policy, b.binding, fmt.Errorf("failed to convert object version: %w", err))
					continue
				}
				versioned = match.Versioned(a, kind, obj, old)
			}
			if !namespaceRead && a.Namespace != "" && !match.IsNamespace(a.Resource) {
				if namespace, err = match.Namespace(ctx, a.Namespace, v.deps.Namespace); err != nil {
					return apierrors.NewInternalError(err)
				}
				namespaceRead = true
			}
			policy, binding := p.policy.Name, b.binding.Name
			for _, param := range ps {
				result := p.validator.Validate(ctx, matchedAs.GVR(), versioned, param, namespace, celconfig.RuntimeCELCostBudget, v.deps.Authorizer)
				for i, d := range result.Decisions {
					// Counted in kube's metrics where kube's dispatcher
					// counts them: an error the failurePolicy let
					// through, and each action a failed validation took.
					errType := validating.ErrorType(&d)
					if d.Action != validating.ActionDeny {
						if d.Evaluation == validating.EvalError {
							vapmetrics.Metrics.ObserveAdmission(ctx, d.Elapsed, policy, binding, errType)
						}
						continue
					}
					for _, action := range b.binding.Spec.ValidationActions {
						switch action {
						case admissionregistrationv1.Deny:
							denials = append(denials, denial{policy, binding, d})
							vapmetrics.Metrics.ObserveRejection(ctx, d.Elapsed, policy, binding, errType)
						case admissionregistrationv1.Warn:
							request.AddWarning(ctx, fmt.Sprintf("Validation failed for ValidatingAdmissionPolicy '%s' with binding '%s': %s", policy, binding, d.Message))
							vapmetrics.Metrics.ObserveWarn(ctx, d.Elapsed, policy, binding, errType)
						case admissionregistrationv1.Audit:
							failures = append(failures, failure{Message: d.Message, Policy: policy, Binding: binding,
								ExpressionIndex: i, ValidationActions: b.binding.Spec.ValidationActions})
							vapmetrics.Metrics.ObserveAudit(ctx, d.Elapsed, policy, binding, errType)
						}
					}
				}
				for _, an := range result.AuditAnnotations {
					switch an.Action {
					case validating.AuditAnnotationActionPublish:
						annotations.add(an.Key, an.Value)
					case validating.AuditAnnotationActionError:
						d := validating.PolicyDecision{Action: validating.ActionDeny, Evaluation: validating.EvalError, Message: an.Error, Elapsed: an.Elapsed}
						denials = append(denials, denial{policy, binding, d})
						vapmetrics.Metrics.ObserveRejection(ctx, an.Elapsed, policy, binding, validating.ErrorType(&d))
					}
				}
			}
		}
		for k, val := range annotations.values() {
			audit.AddAnnotation(ctx, p.policy.Name+"/"+k, val)
		}
	}
	if value, ok := failureAnnotation(a, failures); ok {
		audit.AddAnnotation(ctx, "validation.policy.admission.k8s.io/validation_failure", value)
	}
	if len(denials) == 0 {
		return nil
	}
	return denied(a, denials[0])
}

// annotationCollector gathers a policy's audit annotations over its
// bindings and parameters, as kube-apiserver's: a value longer than 10
// KiB is cut there, a key's equal values count once, and its distinct
// values (parameters may make them differ) are joined by ", ".
type annotationCollector map[string][]string

const maxAnnotationValue = 10 << 10

func (c annotationCollector) add(key, value string) {
	if len(value) > maxAnnotationValue {
		value = value[:maxAnnotationValue]
	}
	for _, v := range c[key] {
		if v == value {
			return
		}
	}
	c[key] = append(c[key], value)
}

func (c annotationCollector) values() map[string]string {
	out := make(map[string]string, len(c))
	for k, vs := range c {
		out[k] = strings.Join(vs, ", ")
	}
	return out
}

// maxValidationFailures is how many failed validations the audit
// annotation lists at most, as kube-apiserver's (about 10 KB).
const maxValidationFailures = 50

// failureAnnotation is the audit annotation of the failed validations
// with the Audit action (false: none, or they could not be encoded).
func failureAnnotation(a *admission.Attributes, failures []failure) (string, bool) {
	if len(failures) == 0 {
		return "", false
	}
	if len(failures) > maxValidationFailures {
		klog.Warningf("Validation failures count %d for resource %s exceeds limit of %d; truncating audit annotation", len(failures), a.GVR().String(), maxValidationFailures)
		failures = failures[:maxValidationFailures]
	}
	js, err := json.Marshal(failures)
	if err != nil {
		return "", false
	}
	return string(js), true
}

// denied is kube-apiserver's error for a denial: Forbidden's message
// ("<resource> \"<name>\" is forbidden: ..."), with the reason the
// validation gave (Invalid by default) and its code.
func denied(a *admission.Attributes, d denial) error {
	var msg string
	if d.binding != "" {
		msg = fmt.Sprintf("ValidatingAdmissionPolicy '%s' with binding '%s' denied request: %s", d.policy, d.binding, d.decision.Message)
	} else {
		msg = fmt.Sprintf("ValidatingAdmissionPolicy '%s' denied request: %s", d.policy, d.decision.Message)
	}
	err := forbidden(a, errors.New(msg))
	reason := d.decision.Reason
	if reason == "" {
		reason = metav1.StatusReasonInvalid
	}
	err.ErrStatus.Reason = reason
	err.ErrStatus.Code = reasonCode(reason)
	err.ErrStatus.Details.Causes = append(err.ErrStatus.Details.Causes, metav1.StatusCause{Message: msg})
	return err
}

// forbidden is kube-apiserver's admission Forbidden error for a.
func forbidden(a *admission.Attributes, err error) *apierrors.StatusError {
	name := a.Name
	if name == "" {
		if m, ok := a.Object.(metav1.Object); ok {
			name = m.GetName()
		}
	}
	gr := a.GVR().GroupResource()
	if a.Subresource != "" {
		gr.Resource += "/" + a.Subresource
	}
	return apierrors.NewForbidden(gr, name, err)
}

func reasonCode(r metav1.StatusReason) int32 {
	switch r {
	case metav1.StatusReasonForbidden:
		return http.StatusForbidden
	case metav1.StatusReasonUnauthorized:
		return http.StatusUnauthorized
	case metav1.StatusReasonRequestEntityTooLarge:
		return http.StatusRequestEntityTooLarge
	default:
		return http.StatusUnprocessableEntity
	}
}
