package admissionregistration

import (
	"slices"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celplugin "k8s.io/apiserver/pkg/admission/plugin/cel"
	"k8s.io/apiserver/pkg/admission/plugin/webhook/matchconditions"
	"k8s.io/apiserver/pkg/cel/environment"
	webhookutil "k8s.io/apiserver/pkg/util/webhook"

	"kapi/internal/registry"
)

// webhookHooks default and validate webhook configurations as
// kube-apiserver does, so that a configuration the webhooks cannot use
// (no side-effects class, a bad URL, matchConditions that do not compile)
// is refused when it is written, not when a request meets it.
var webhookHooks = &registry.Hooks{
	Default:  defaultWebhooks,
	Validate: validateWebhooks,
	Warnings: webhookWarnings,
}

// common is what the two kinds of webhooks share, as pointers into one.
type common struct {
	name                    *string
	clientConfig            *admissionregistrationv1.WebhookClientConfig
	rules                   []admissionregistrationv1.RuleWithOperations
	failurePolicy           **admissionregistrationv1.FailurePolicyType
	matchPolicy             **admissionregistrationv1.MatchPolicyType
	namespaceSelector       **metav1.LabelSelector
	objectSelector          **metav1.LabelSelector
	sideEffects             **admissionregistrationv1.SideEffectClass
	timeoutSeconds          **int32
	reinvocationPolicy      **admissionregistrationv1.ReinvocationPolicyType // nil for a validating webhook
	admissionReviewVersions []string
	matchConditions         []admissionregistrationv1.MatchCondition
}

func webhooksOf(obj runtime.Object) []common {
	var out []common
	switch c := obj.(type) {
	case *admissionregistrationv1.MutatingWebhookConfiguration:
		for i := range c.Webhooks {
			w := &c.Webhooks[i]
			out = append(out, common{&w.Name, &w.ClientConfig, w.Rules, &w.FailurePolicy, &w.MatchPolicy, &w.NamespaceSelector,
				&w.ObjectSelector, &w.SideEffects, &w.TimeoutSeconds, &w.ReinvocationPolicy, w.AdmissionReviewVersions, w.MatchConditions})
		}
	case *admissionregistrationv1.ValidatingWebhookConfiguration:
		for i := range c.Webhooks {
			w := &c.Webhooks[i]
			out = append(out, common{&w.Name, &w.ClientConfig, w.Rules, &w.FailurePolicy, &w.MatchPolicy, &w.NamespaceSelector,
				&w.ObjectSelector, &w.SideEffects, &w.TimeoutSeconds, nil, w.AdmissionReviewVersions, w.MatchConditions})
		}
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// defaultWebhooks sets kube's defaults: failurePolicy Fail, matchPolicy
// Equivalent, selectors that select everything, a 10 s timeout, rules of
// every scope, service port 443, reinvocationPolicy Never.
func defaultWebhooks(obj runtime.Object) {
	for _, w := range webhooksOf(obj) {
		if *w.failurePolicy == nil {
			*w.failurePolicy = ptr(admissionregistrationv1.Fail)
		}
		if *w.matchPolicy == nil {
			*w.matchPolicy = ptr(admissionregistrationv1.Equivalent)
		}
		if *w.namespaceSelector == nil {
			*w.namespaceSelector = &metav1.LabelSelector{}
		}
		if *w.objectSelector == nil {
			*w.objectSelector = &metav1.LabelSelector{}
		}
		if *w.timeoutSeconds == nil {
			*w.timeoutSeconds = ptr(int32(10))
		}
		if w.reinvocationPolicy != nil && *w.reinvocationPolicy == nil {
			*w.reinvocationPolicy = ptr(admissionregistrationv1.NeverReinvocationPolicy)
		}
		for i := range w.rules {
			if w.rules[i].Scope == nil {
				w.rules[i].Scope = ptr(admissionregistrationv1.AllScopes)
			}
		}
		if s := w.clientConfig.Service; s != nil && s.Port == nil {
			s.Port = ptr(int32(443))
		}
	}
}

// The values kube accepts, sorted as its messages list them.
var (
	failurePolicies     = []string{string(admissionregistrationv1.Fail), string(admissionregistrationv1.Ignore)}
	matchPolicies       = []string{string(admissionregistrationv1.Equivalent), string(admissionregistrationv1.Exact)}
	noSideEffectClasses = []string{string(admissionregistrationv1.SideEffectClassNone), string(admissionregistrationv1.SideEffectClassNoneOnDryRun)}
	sideEffectClasses   = []string{string(admissionregistrationv1.SideEffectClassNone), string(admissionregistrationv1.SideEffectClassNoneOnDryRun),
		string(admissionregistrationv1.SideEffectClassSome), string(admissionregistrationv1.SideEffectClassUnknown)}
	reinvocationPolicies   = []string{string(admissionregistrationv1.IfNeededReinvocationPolicy), string(admissionregistrationv1.NeverReinvocationPolicy)}
	scopes                 = []string{string(admissionregistrationv1.AllScopes), string(admissionregistrationv1.ClusterScope), string(admissionregistrationv1.NamespacedScope)}
	acceptedReviewVersions = []string{"v1", "v1beta1"}
	operations             = []string{string(admissionregistrationv1.OperationAll), string(admissionregistrationv1.Connect),
		string(admissionregistrationv1.Create), string(admissionregistrationv1.Delete), string(admissionregistrationv1.Update)}
)

// webhookOptions are kube's validationOptions for webhook configurations:
// on a create everything is required; an update may keep what the stored
// object already had wrong (allowParamsInMatchConditions is always false
// for webhooks).
type webhookOptions struct {
	ignoreMatchConditions                   bool
	requireNoSideEffects                    bool
	requireRecognizedAdmissionReviewVersion bool
	requireUniqueWebhookNames               bool
	allowInvalidLabelValueInSelector        bool
	storedExpressions                       sets.Set[string] // the stored object's matchConditions
}

// webhookOptionsFor is kube's options for a create (old nil) or for an
// update of old.
func webhookOptionsFor(obj, old runtime.Object) webhookOptions {
	opts := webhookOptions{requireNoSideEffects: true, requireRecognizedAdmissionReviewVersion: true, requireUniqueWebhookNames: true}
	if old == nil {
		return opts
	}
	hooks, oldHooks := webhooksOf(obj), webhooksOf(old)
	opts.ignoreMatchConditions = len(hooks) == len(oldHooks)
	opts.storedExpressions = sets.New[string]()
	names := sets.New[string]()
	for i, w := range oldHooks {
		opts.ignoreMatchConditions = opts.ignoreMatchConditions && slices.Equal(hooks[i].matchConditions, w.matchConditions)
		opts.requireNoSideEffects = opts.requireNoSideEffects && *w.sideEffects != nil && slices.Contains(noSideEffectClasses, string(**w.sideEffects))
		opts.requireRecognizedAdmissionReviewVersion = opts.requireRecognizedAdmissionReviewVersion &&
			(len(w.admissionReviewVersions) == 0 || slices.ContainsFunc(w.admissionReviewVersions, isAcceptedReviewVersion))
		opts.requireUniqueWebhookNames = opts.requireUniqueWebhookNames && !names.Has(*w.name)
		names.Insert(*w.name)
		for _, s := range []*metav1.LabelSelector{*w.namespaceSelector, *w.objectSelector} {
			opts.allowInvalidLabelValueInSelector = opts.allowInvalidLabelValueInSelector ||
				len(metav1validation.ValidateLabelSelector(s, metav1validation.LabelSelectorValidationOptions{}, nil)) > 0
		}
		for _, c := range w.matchConditions {
			opts.storedExpressions.Insert(c.Expression)
		}
	}
	return opts
}

func isAcceptedReviewVersion(v string) bool { return slices.Contains(acceptedReviewVersions, v) }

// validateWebhooks is kube-apiserver's validation of a webhook
// configuration (ValidateValidatingWebhookConfiguration and the others of
// k8s.io/kubernetes/pkg/apis/admissionregistration/validation, with the
// strategies' static-suffix check), with its field paths, messages and
// order. It reads the v1 object after defaulting, which holds the same
// values as kube's internal one.
func validateWebhooks(obj, old runtime.Object) field.ErrorList {
	opts := webhookOptionsFor(obj, old)
	var errs field.ErrorList
	names := sets.New[string]()
	for i, w := range webhooksOf(obj) {
		p := field.NewPath("webhooks").Index(i)
		errs = append(errs, validateWebhook(w, opts, p)...)
		errs = append(errs, validateAdmissionReviewVersions(w.admissionReviewVersions, opts.requireRecognizedAdmissionReviewVersion, p.Child("admissionReviewVersions"))...)
		if opts.requireUniqueWebhookNames && *w.name != "" {
			if names.Has(*w.name) {
				errs = append(errs, field.Duplicate(p.Child("name"), *w.name))
			}
			names.Insert(*w.name)
		}
	}
	return append(errs, staticSuffixErrors(obj, old)...)
}

// validateWebhook is kube's validateValidatingWebhook and
// validateMutatingWebhook, which differ only by reinvocationPolicy.
func validateWebhook(w common, opts webhookOptions, p *field.Path) field.ErrorList {
	errs := validation.IsFullyQualifiedName(p.Child("name"), *w.name)
	for i, r := range w.rules {
		errs = append(errs, validateRule(r, p.Child("rules").Index(i))...)
	}
	if fp := *w.failurePolicy; fp != nil && !slices.Contains(failurePolicies, string(*fp)) {
		errs = append(errs, field.NotSupported(p.Child("failurePolicy"), *fp, failurePolicies))
	}
	if mp := *w.matchPolicy; mp != nil && !slices.Contains(matchPolicies, string(*mp)) {
		errs = append(errs, field.NotSupported(p.Child("matchPolicy"), *mp, matchPolicies))
	}
	allowed := sideEffectClasses
	if opts.requireNoSideEffects {
		allowed = noSideEffectClasses
	}
	if se := *w.sideEffects; se == nil {
		errs = append(errs, field.Required(p.Child("sideEffects"), "must specify one of "+strings.Join(allowed, ", ")))
	} else if !slices.Contains(allowed, string(*se)) {
		errs = append(errs, field.NotSupported(p.Child("sideEffects"), *se, allowed))
	}
	if t := *w.timeoutSeconds; t != nil && (*t > 30 || *t < 1) {
		errs = append(errs, field.Invalid(p.Child("timeoutSeconds"), *t, "the timeout value must be between 1 and 30 seconds"))
	}
	selectorOpts := metav1validation.LabelSelectorValidationOptions{AllowInvalidLabelValueInSelector: opts.allowInvalidLabelValueInSelector}
	errs = append(errs, metav1validation.ValidateLabelSelector(*w.namespaceSelector, selectorOpts, p.Child("namespaceSelector"))...)
	errs = append(errs, metav1validation.ValidateLabelSelector(*w.objectSelector, selectorOpts, p.Child("objectSelector"))...)
	if w.reinvocationPolicy != nil {
		if rp := *w.reinvocationPolicy; rp != nil && !slices.Contains(reinvocationPolicies, string(*rp)) {
			errs = append(errs, field.NotSupported(p.Child("reinvocationPolicy"), *rp, reinvocationPolicies))
		}
	}
	errs = append(errs, validateClientConfig(w.clientConfig, p.Child("clientConfig"))...)
	if !opts.ignoreMatchConditions {
		errs = append(errs, matchConditionErrors(w.matchConditions, false, opts.storedExpressions, p.Child("matchConditions"))...)
	}
	return errs
}

// validateClientConfig is kube's: exactly one of url and service, each
// checked by k8s.io/apiserver's webhook validation (self-contained, the
// standard: kube-apiserver and the CRD conversion webhooks use it).
func validateClientConfig(cc *admissionregistrationv1.WebhookClientConfig, p *field.Path) field.ErrorList {
	switch {
	case (cc.URL == nil) == (cc.Service == nil):
		return field.ErrorList{field.Required(p, "exactly one of url or service is required")}
	case cc.URL != nil:
		return webhookutil.ValidateWebhookURL(p.Child("url"), *cc.URL, true)
	}
	// Defaulted to 443; kube's internal type has 0 for a nil port.
	var port int32
	if cc.Service.Port != nil {
		port = *cc.Service.Port
	}
	return webhookutil.ValidateWebhookService(p.Child("service"), cc.Service.Name, cc.Service.Namespace, cc.Service.Path, port)
}

// validateRule is kube's validateRuleWithOperations (subresources allowed).
func validateRule(r admissionregistrationv1.RuleWithOperations, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(r.Operations) == 0 {
		errs = append(errs, field.Required(p.Child("operations"), ""))
	}
	if len(r.Operations) > 1 && slices.Contains(r.Operations, admissionregistrationv1.OperationAll) {
		errs = append(errs, field.Invalid(p.Child("operations"), r.Operations, "if '*' is present, must not specify other operations"))
	}
	for i, op := range r.Operations {
		if !slices.Contains(operations, string(op)) {
			errs = append(errs, field.NotSupported(p.Child("operations").Index(i), op, operations))
		}
	}
	if len(r.APIGroups) == 0 {
		errs = append(errs, field.Required(p.Child("apiGroups"), ""))
	}
	if len(r.APIGroups) > 1 && slices.Contains(r.APIGroups, "*") {
		errs = append(errs, field.Invalid(p.Child("apiGroups"), r.APIGroups, "if '*' is present, must not specify other API groups"))
	}
	// A group may be empty (the legacy "v1" API), a version not.
	if len(r.APIVersions) == 0 {
		errs = append(errs, field.Required(p.Child("apiVersions"), ""))
	}
	if len(r.APIVersions) > 1 && slices.Contains(r.APIVersions, "*") {
		errs = append(errs, field.Invalid(p.Child("apiVersions"), r.APIVersions, "if '*' is present, must not specify other API versions"))
	}
	for i, v := range r.APIVersions {
		if v == "" {
			errs = append(errs, field.Required(p.Child("apiVersions").Index(i), ""))
		}
	}
	errs = append(errs, validateRuleResources(r.Resources, p.Child("resources"))...)
	if s := r.Scope; s != nil && !slices.Contains(scopes, string(*s)) {
		errs = append(errs, field.NotSupported(p.Child("scope"), *s, scopes))
	}
	return errs
}

// validateRuleResources is kube's validateResources: "x", "x/y", "x/*",
// "*/y", "*" or "*/*", without overlaps.
func validateRuleResources(resources []string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(resources) == 0 {
		errs = append(errs, field.Required(p, ""))
	}
	withWildcardSub := sets.New[string]() // x/*
	subWithWildcard := sets.New[string]() // */x
	doubleWildcard, singleWildcard, withoutSub := false, false, false
	for i, rs := range resources {
		if rs == "" {
			errs = append(errs, field.Required(p.Index(i), ""))
			continue
		}
		doubleWildcard = doubleWildcard || rs == "*/*"
		singleWildcard = singleWildcard || rs == "*"
		res, sub, ok := strings.Cut(rs, "/")
		if !ok {
			withoutSub = rs != "*" // kube's: the last such resource decides
			continue
		}
		if withWildcardSub.Has(res) {
			errs = append(errs, field.Invalid(p.Index(i), rs, "if '"+res+"/*' is present, must not specify "+rs))
		}
		if subWithWildcard.Has(sub) {
			errs = append(errs, field.Invalid(p.Index(i), rs, "if '*/"+sub+"' is present, must not specify "+rs))
		}
		if sub == "*" {
			withWildcardSub.Insert(res)
		}
		if res == "*" {
			subWithWildcard.Insert(sub)
		}
	}
	if len(resources) > 1 && doubleWildcard {
		errs = append(errs, field.Invalid(p, resources, "if '*/*' is present, must not specify other resources"))
	}
	if singleWildcard && withoutSub {
		errs = append(errs, field.Invalid(p, resources, "if '*' is present, must not specify other resources without subresources"))
	}
	return errs
}

// validateAdmissionReviewVersions is kube's: at least one, each once and a
// DNS-1035 label, and (unless the stored object had none) one of v1,
// v1beta1.
func validateAdmissionReviewVersions(versions []string, requireRecognized bool, p *field.Path) field.ErrorList {
	if len(versions) == 0 {
		return field.ErrorList{field.Required(p, "must specify one of "+strings.Join(acceptedReviewVersions, ", "))}
	}
	var errs field.ErrorList
	seen := sets.New[string]()
	for i, v := range versions {
		if seen.Has(v) {
			errs = append(errs, field.Invalid(p.Index(i), v, "duplicate version"))
			continue
		}
		seen.Insert(v)
		for _, msg := range validation.IsDNS1035Label(v) {
			errs = append(errs, field.Invalid(p.Index(i), v, msg))
		}
	}
	if requireRecognized && !slices.ContainsFunc(versions, isAcceptedReviewVersion) {
		errs = append(errs, field.Invalid(p, versions, "must include at least one of "+strings.Join(acceptedReviewVersions, ", ")))
	}
	return errs
}

// matchConditionCompiler is kube's compiler of match conditions:
// k8s.io/apiserver's, strict cost, no variable composition.
var matchConditionCompiler = celplugin.NewCompiler(environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion()))

// matchConditionErrors is kube's validateMatchConditions: at most 64,
// each with an expression compiling to a bool (in the environment of
// stored expressions when stored has it; with params only for a policy
// that has a paramKind) and a qualified name, used once.
func matchConditionErrors(conds []admissionregistrationv1.MatchCondition, params bool, stored sets.Set[string], p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(conds) > 64 {
		errs = append(errs, field.TooMany(p, len(conds), 64))
	}
	names := sets.New[string]()
	for i, c := range conds {
		cp := p.Index(i)
		if expr := strings.TrimSpace(c.Expression); expr == "" {
			errs = append(errs, field.Required(cp.Child("expression"), ""))
		} else {
			errs = append(errs, compileErrors(matchConditionCompiler, &matchconditions.MatchCondition{Expression: expr},
				celplugin.OptionalVariableDeclarations{HasParams: params, HasAuthorizer: true}, envType(stored, expr), cp.Child("expression"))...)
		}
		if c.Name == "" {
			errs = append(errs, field.Required(cp.Child("name"), ""))
			continue
		}
		errs = append(errs, qualifiedNameErrors(c.Name, cp.Child("name"))...)
		if names.Has(c.Name) {
			errs = append(errs, field.Duplicate(cp.Child("name"), c.Name))
		}
		names.Insert(c.Name)
	}
	return errs
}
