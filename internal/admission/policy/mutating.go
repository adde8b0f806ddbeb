package policy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	apiadmission "k8s.io/apiserver/pkg/admission"
	celplugin "k8s.io/apiserver/pkg/admission/plugin/cel"
	mapmetrics "k8s.io/apiserver/pkg/admission/plugin/policy/mutating/metrics"
	"k8s.io/apiserver/pkg/admission/plugin/policy/mutating/patch"
	"k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	"k8s.io/apiserver/pkg/admission/plugin/webhook/matchconditions"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"k8s.io/apiserver/pkg/cel/environment"

	"kapi/internal/admission"
	"kapi/internal/admission/match"
	"kapi/internal/registry"
)

// Mutating is kube-apiserver's MutatingAdmissionPolicy plugin: each
// policy's mutations (ApplyConfiguration, merged by structured-merge-diff
// with the kind's schema, or JSONPatch) applied in order, once per
// matching binding and parameter.
type Mutating struct {
	loader
	deps    Deps
	current atomic.Pointer[[]*map_]
	// static are the policies of the static manifests (LoadStatic).
	static atomic.Pointer[[]*map_]
}

// map_ is a compiled MutatingAdmissionPolicy with its bindings.
type map_ struct {
	policy      *admissionregistrationv1.MutatingAdmissionPolicy
	compiler    *celplugin.CompositedCompiler
	matcher     matchconditions.Matcher
	patchers    []patch.Patcher
	err         error
	constraints *resources
	bindings    []*mapBinding
}

type mapBinding struct {
	binding   *admissionregistrationv1.MutatingAdmissionPolicyBinding
	resources *resources
}

// NewMutating returns the plugin; LoadPolicies and LoadBindings give it
// its objects.
func NewMutating(d Deps) *Mutating {
	m := &Mutating{deps: d}
	m.current.Store(&[]*map_{})
	m.static.Store(&[]*map_{})
	m.publish = m.compile
	return m
}

// HandlesConnect: policies may match CONNECTs (operations: [CONNECT]).
func (*Mutating) HandlesConnect() bool { return true }

// compile compiles the policies and their bindings and publishes them.
func (m *Mutating) compile(policies, bindings []runtime.Object) {
	out := m.build(policies, bindings)
	m.current.Store(&out)
}

// build compiles the policies (those with at least one binding) and
// their bindings.
func (m *Mutating) build(policies, bindings []runtime.Object) []*map_ {
	byPolicy := map[string][]*mapBinding{}
	for _, o := range bindings {
		b := o.(*admissionregistrationv1.MutatingAdmissionPolicyBinding)
		byPolicy[b.Spec.PolicyName] = append(byPolicy[b.Spec.PolicyName], &mapBinding{binding: b, resources: bindingResources(b.Spec.MatchResources)})
	}
	var out []*map_
	for _, o := range policies {
		p := o.(*admissionregistrationv1.MutatingAdmissionPolicy)
		if bs := byPolicy[p.Name]; len(bs) > 0 {
			c := compileMutating(p)
			c.constraints, c.bindings = compileResources(p.Spec.MatchConstraints), bs
			out = append(out, c)
		}
	}
	return out
}

// compileMutating compiles a policy's expressions with k8s.io/apiserver's
// compiler and patchers, as kube-apiserver does.
func compileMutating(p *admissionregistrationv1.MutatingAdmissionPolicy) *map_ {
	out := &map_{policy: p}
	vars := celplugin.OptionalVariableDeclarations{HasParams: p.Spec.ParamKind != nil, HasAuthorizer: true}
	c, err := compositedCompiler()
	if err != nil {
		out.err = err
		return out
	}
	out.compiler = c
	named := make([]celplugin.NamedExpressionAccessor, len(p.Spec.Variables))
	for i, v := range p.Spec.Variables {
		named[i] = &validating.Variable{Name: v.Name, Expression: v.Expression}
	}
	c.CompileAndStoreVariables(named, vars, environment.StoredExpressions)
	if len(p.Spec.MatchConditions) > 0 {
		exprs := make([]celplugin.ExpressionAccessor, len(p.Spec.MatchConditions))
		for i := range p.Spec.MatchConditions {
			exprs[i] = (*matchconditions.MatchCondition)(&p.Spec.MatchConditions[i])
		}
		out.matcher = matchconditions.NewMatcher(c.CompileCondition(exprs, vars, environment.StoredExpressions), p.Spec.FailurePolicy, "policy", "validate", p.Name)
	}
	patchVars := vars
	patchVars.HasPatchTypes = true
	for _, mu := range p.Spec.Mutations {
		switch {
		case mu.PatchType == admissionregistrationv1.PatchTypeJSONPatch && mu.JSONPatch != nil:
			out.patchers = append(out.patchers, patch.NewJSONPatcher(c.CompileMutatingEvaluator(&patch.JSONPatchCondition{Expression: mu.JSONPatch.Expression}, patchVars, environment.StoredExpressions)))
		case mu.PatchType == admissionregistrationv1.PatchTypeApplyConfiguration && mu.ApplyConfiguration != nil:
			out.patchers = append(out.patchers, patch.NewApplyConfigurationPatcher(c.CompileMutatingEvaluator(&patch.ApplyConfigurationCondition{Expression: mu.ApplyConfiguration.Expression}, patchVars, environment.StoredExpressions)))
		default:
			out.err = fmt.Errorf("mutation of type %q without its expression", mu.PatchType)
		}
	}
	return out
}

// objectInterfaces are the scheme's creater, typer, defaulter and
// convertor, as the patchers encode and decode objects.
var objectInterfaces = apiadmission.NewObjectInterfacesFromScheme(registry.Scheme)

// Admit applies the mutations of the policies whose constraints and
// bindings take a; those with reinvocationPolicy IfNeeded are recorded
// for the chain's reinvocation. An error a policy's failurePolicy says to
// ignore is dropped.
func (m *Mutating) Admit(ctx context.Context, a *admission.Attributes) error {
	return m.admit(ctx, a, func(*map_) bool { return true })
}

// Reinvoke applies once more the policies with reinvocationPolicy
// IfNeeded that ran before the object changed.
func (m *Mutating) Reinvoke(ctx context.Context, a *admission.Attributes) error {
	return m.admit(ctx, a, func(p *map_) bool {
		return p.policy.Spec.ReinvocationPolicy == admissionregistrationv1.IfNeededReinvocationPolicy && a.Reinvocation.Again(p.key())
	})
}

func (p *map_) key() string { return "MutatingAdmissionPolicy/" + p.policy.Name }

// admit applies the policies only selects.
func (m *Mutating) admit(ctx context.Context, a *admission.Attributes, only func(*map_) bool) error {
	if a.Object == nil {
		return nil
	}
	var policies []*map_
	for _, p := range match.InForce(match.ReachOf(a, true), *m.static.Load(), *m.current.Load()) {
		if only(p) {
			policies = append(policies, p)
		}
	}
	if len(policies) == 0 {
		return nil
	}
	r := a.Reinvocation
	if r == nil {
		r = &admission.Reinvocation{}
		a.Reinvocation = r
	}
	var namespace *corev1.Namespace
	if a.Namespace != "" && !match.IsNamespace(a.Resource) {
		var err error
		if namespace, err = match.Namespace(ctx, a.Namespace, m.deps.Namespace); err != nil {
			return apierrors.NewInternalError(err)
		}
	}
	for _, p := range policies {
		changed, err := m.apply(ctx, p, a, namespace)
		if err != nil {
			if p.policy.Spec.FailurePolicy != nil && *p.policy.Spec.FailurePolicy == admissionregistrationv1.Ignore {
				continue
			}
			var se *apierrors.StatusError
			if errors.As(err, &se) {
				return err
			}
			return forbiddenInvalid(a, fmt.Sprintf("policy '%s' with binding '%s' denied request: %v", p.policy.Name, p.bindingName(), err))
		}
		if changed {
			r.Changed()
		}
		if p.policy.Spec.ReinvocationPolicy == admissionregistrationv1.IfNeededReinvocationPolicy {
			r.Invoked(p.key())
		}
	}
	return nil
}

func (p *map_) bindingName() string {
	if len(p.bindings) == 1 {
		return p.bindings[0].binding.Name
	}
	return ""
}

// forbiddenInvalid is kube-apiserver's error for a mutation that failed:
// Forbidden's message, reason Invalid.
func forbiddenInvalid(a *admission.Attributes, msg string) error {
	err := forbidden(a, errors.New(msg))
	err.ErrStatus.Reason, err.ErrStatus.Code = metav1.StatusReasonInvalid, reasonCode(metav1.StatusReasonInvalid)
	return err
}

// apply applies p's mutations for each of its bindings that takes a, and
// reports whether the object changed.
func (m *Mutating) apply(ctx context.Context, p *map_, a *admission.Attributes, namespace *corev1.Namespace) (bool, error) {
	ok, as, err := p.constraints.matches(ctx, a, m.deps, nil)
	if err != nil || !ok {
		return false, err
	}
	if p.err != nil {
		return false, p.err
	}
	changed := false
	for _, b := range p.bindings {
		matchedAs := as
		if b.resources != nil {
			var ok bool
			if ok, matchedAs, err = b.resources.matches(ctx, a, m.deps, as); err != nil {
				return changed, fmt.Errorf("failed to configure binding: %w", err)
			} else if !ok {
				continue
			}
		}
		ps, err := params(ctx, m.deps, p.policy.Spec.ParamKind, b.binding.Spec.ParamRef, a.Namespace)
		if err != nil {
			return changed, fmt.Errorf("failed to configure binding: %w", err)
		}
		for _, param := range ps {
			c, err := m.applyOne(ctx, p, b.binding.Name, a, matchedAs, param, namespace)
			if err != nil {
				return changed, err
			}
			changed = changed || c
		}
	}
	return changed, nil
}

// applyOne applies p's mutations with one parameter: on a's object as
// the version the policy matched, converted back after. Each mutation is
// counted in kube's metrics, as kube's dispatcher counts it.
func (m *Mutating) applyOne(ctx context.Context, p *map_, binding string, a *admission.Attributes, as *registry.Resource, param runtime.Object, namespace *corev1.Namespace) (bool, error) {
	kind, obj, old, err := objectsAs(a, as)
	if err != nil {
		return false, err
	}
	ctx = p.compiler.CreateContext(ctx)
	versioned := match.Versioned(a, kind, obj, old)
	if p.matcher != nil {
		r := p.matcher.Match(ctx, versioned, param, m.deps.Authorizer)
		if r.Error != nil {
			return false, r.Error
		}
		if !r.Matches {
			return false, nil
		}
	}
	tc, err := as.Type.Schema.TypeConverter()
	if err != nil {
		return false, err
	}
	before := obj
	for _, patcher := range p.patchers {
		start := time.Now()
		out, err := patcher.Patch(ctx, patch.Request{MatchedResource: as.GVR(), VersionedAttributes: versioned, ObjectInterfaces: objectInterfaces,
			OptionalVariables: celplugin.OptionalVariableBindings{VersionedParams: param, Authorizer: m.deps.Authorizer}, Namespace: namespace, TypeConverter: tc},
			celconfig.RuntimeCELCostBudget)
		if err == nil {
			out, err = typed(out, before)
		}
		if err != nil {
			mapmetrics.Metrics.ObserveRejection(ctx, time.Since(start), p.policy.Name, binding, mutatingErrorType(err))
			return false, err
		}
		mapmetrics.Metrics.ObserveAdmission(ctx, time.Since(start), p.policy.Name, binding, mapmetrics.MutationNoError)
		versioned.UpdateObject(out)
	}
	after := versioned.VersionedObject.Object()
	if equality.Semantic.DeepEqual(before, after) {
		return false, nil
	}
	if kind != a.Kind {
		if after, err = match.Convert(a.Resource, after, a.Kind.GroupVersion()); err != nil {
			return false, err
		}
	}
	if a.Kind == a.Resource.GVK() && a.Resource.Type.Decoded != nil {
		if _, err := a.Resource.Type.Decoded(after); err != nil {
			return false, err
		}
	}
	a.Object = after
	return true, nil
}

// typed is out (an unstructured patch result) as an object of like's Go
// type, as kube-apiserver converts it back before defaulting.
func typed(out, like runtime.Object) (runtime.Object, error) {
	u, ok := out.(*unstructured.Unstructured)
	if _, likeU := like.(*unstructured.Unstructured); !ok || likeU {
		return out, nil
	}
	obj := like.DeepCopyObject()
	zero, err := registry.Scheme.New(like.GetObjectKind().GroupVersionKind())
	if err == nil {
		obj = zero
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, obj); err != nil {
		return nil, err
	}
	obj.GetObjectKind().SetGroupVersionKind(like.GetObjectKind().GroupVersionKind())
	return obj, nil
}

// mutatingErrorType is kube's label for a mutation's error (its
// mutating.ErrorType, whose package this one does not import: it is the
// whole plugin of kube's), by the message's start as kube tells them.
func mutatingErrorType(err error) mapmetrics.MutationErrorType {
	switch msg := err.Error(); {
	case strings.HasPrefix(msg, "compilation"):
		return mapmetrics.MutationCompileError
	case strings.HasPrefix(msg, "validation failed due to running out of cost budget"):
		return mapmetrics.MutatingOutOfBudget
	}
	return mapmetrics.MutatingInvalidError
}
