package admissionregistration

import (
	"fmt"
	"net/url"
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

	"kapi/internal/registry"
)

// webhookHooks default and validate webhook configurations as
// kube-apiserver does, so that a configuration the webhooks cannot use
// (no side-effects class, a bad URL, matchConditions that do not compile)
// is refused when it is written, not when a request meets it.
var webhookHooks = &registry.Hooks{
	Default:  defaultWebhooks,
	Validate: validateWebhooks,
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
	sideEffects             *admissionregistrationv1.SideEffectClass
	timeoutSeconds          **int32
	admissionReviewVersions []string
	matchConditions         []admissionregistrationv1.MatchCondition
}

func webhooksOf(obj runtime.Object) []common {
	var out []common
	switch c := obj.(type) {
	case *admissionregistrationv1.MutatingWebhookConfiguration:
		for i := range c.Webhooks {
			w := &c.Webhooks[i]
			if w.ReinvocationPolicy == nil {
				w.ReinvocationPolicy = ptr(admissionregistrationv1.NeverReinvocationPolicy)
			}
			out = append(out, common{&w.Name, &w.ClientConfig, w.Rules, &w.FailurePolicy, &w.MatchPolicy, &w.NamespaceSelector,
				&w.ObjectSelector, sideEffects(w.SideEffects), &w.TimeoutSeconds, w.AdmissionReviewVersions, w.MatchConditions})
		}
	case *admissionregistrationv1.ValidatingWebhookConfiguration:
		for i := range c.Webhooks {
			w := &c.Webhooks[i]
			out = append(out, common{&w.Name, &w.ClientConfig, w.Rules, &w.FailurePolicy, &w.MatchPolicy, &w.NamespaceSelector,
				&w.ObjectSelector, sideEffects(w.SideEffects), &w.TimeoutSeconds, w.AdmissionReviewVersions, w.MatchConditions})
		}
	}
	return out
}

func sideEffects(s *admissionregistrationv1.SideEffectClass) *admissionregistrationv1.SideEffectClass {
	if s == nil {
		return new(admissionregistrationv1.SideEffectClass)
	}
	return s
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

// maxMatchConditions is kube's limit of matchConditions per webhook.
const maxMatchConditions = 64

// conditionCompiler is kube-apiserver's CEL environment for stored
// admission expressions (k8s.io/apiserver's, the standard).
var conditionCompiler = celplugin.NewConditionCompiler(environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion()))

// validateWebhooks is kube-apiserver's validation of a webhook
// configuration, with its field paths and messages.
func validateWebhooks(obj, _ runtime.Object) field.ErrorList {
	var errs field.ErrorList
	names := sets.New[string]()
	for i, w := range webhooksOf(obj) {
		p := field.NewPath("webhooks").Index(i)
		errs = append(errs, validateName(*w.name, p.Child("name"))...)
		if names.Has(*w.name) {
			errs = append(errs, field.Duplicate(p.Child("name"), *w.name))
		}
		names.Insert(*w.name)
		errs = append(errs, validateClientConfig(w.clientConfig, p.Child("clientConfig"))...)
		for j, r := range w.rules {
			errs = append(errs, validateRule(r, p.Child("rules").Index(j))...)
		}
		if fp := *w.failurePolicy; fp != nil && *fp != admissionregistrationv1.Fail && *fp != admissionregistrationv1.Ignore {
			errs = append(errs, field.NotSupported(p.Child("failurePolicy"), *fp, []string{string(admissionregistrationv1.Fail), string(admissionregistrationv1.Ignore)}))
		}
		if mp := *w.matchPolicy; mp != nil && *mp != admissionregistrationv1.Exact && *mp != admissionregistrationv1.Equivalent {
			errs = append(errs, field.NotSupported(p.Child("matchPolicy"), *mp, []string{string(admissionregistrationv1.Equivalent), string(admissionregistrationv1.Exact)}))
		}
		switch se := *w.sideEffects; se {
		case admissionregistrationv1.SideEffectClassNone, admissionregistrationv1.SideEffectClassNoneOnDryRun:
		case "":
			errs = append(errs, field.Required(p.Child("sideEffects"), "must specify one of None, NoneOnDryRun"))
		default:
			errs = append(errs, field.NotSupported(p.Child("sideEffects"), se, []string{string(admissionregistrationv1.SideEffectClassNone), string(admissionregistrationv1.SideEffectClassNoneOnDryRun)}))
		}
		if t := *w.timeoutSeconds; t != nil && (*t < 1 || *t > 30) {
			errs = append(errs, field.Invalid(p.Child("timeoutSeconds"), *t, "the timeout value must be between 1 and 30 seconds"))
		}
		errs = append(errs, validateReviewVersions(w.admissionReviewVersions, p.Child("admissionReviewVersions"))...)
		for _, s := range []struct {
			sel  *metav1.LabelSelector
			name string
		}{{*w.namespaceSelector, "namespaceSelector"}, {*w.objectSelector, "objectSelector"}} {
			if s.sel != nil {
				errs = append(errs, metav1validation.ValidateLabelSelector(s.sel, metav1validation.LabelSelectorValidationOptions{}, p.Child(s.name))...)
			}
		}
		errs = append(errs, validateMatchConditions(w.matchConditions, p.Child("matchConditions"))...)
	}
	if m, ok := obj.(*admissionregistrationv1.MutatingWebhookConfiguration); ok {
		for i, w := range m.Webhooks {
			if rp := w.ReinvocationPolicy; rp != nil && *rp != admissionregistrationv1.NeverReinvocationPolicy && *rp != admissionregistrationv1.IfNeededReinvocationPolicy {
				errs = append(errs, field.NotSupported(field.NewPath("webhooks").Index(i).Child("reinvocationPolicy"), *rp,
					[]string{string(admissionregistrationv1.NeverReinvocationPolicy), string(admissionregistrationv1.IfNeededReinvocationPolicy)}))
			}
		}
	}
	return errs
}

// validateName: a webhook's name is a fully qualified domain name.
func validateName(name string, p *field.Path) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(p, "")}
	}
	if msgs := validation.IsDNS1123Subdomain(name); len(msgs) > 0 {
		return field.ErrorList{field.Invalid(p, name, strings.Join(msgs, ","))}
	}
	if strings.Count(name, ".") < 2 {
		return field.ErrorList{field.Invalid(p, name, "should be a domain with at least three segments separated by dots")}
	}
	return nil
}

func validateClientConfig(cc *admissionregistrationv1.WebhookClientConfig, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch {
	case (cc.URL == nil) == (cc.Service == nil):
		errs = append(errs, field.Required(p, "exactly one of url or service is required"))
	case cc.URL != nil:
		u, err := url.Parse(*cc.URL)
		switch {
		case err != nil:
			errs = append(errs, field.Invalid(p.Child("url"), *cc.URL, err.Error()))
		case u.Scheme != "https":
			errs = append(errs, field.Invalid(p.Child("url"), u.Scheme, "'https' is the only allowed URL scheme"))
		case u.Host == "":
			errs = append(errs, field.Invalid(p.Child("url"), u.Host, "host must be specified"))
		case u.User != nil:
			errs = append(errs, field.Invalid(p.Child("url"), u.User.String(), "user information is not permitted in the URL"))
		case u.Fragment != "" || u.RawQuery != "":
			errs = append(errs, field.Invalid(p.Child("url"), *cc.URL, "fragments and query parameters are not permitted in the URL"))
		}
	default:
		s := cc.Service
		sp := p.Child("service")
		if s.Name == "" {
			errs = append(errs, field.Required(sp.Child("name"), "service name is required"))
		}
		if s.Namespace == "" {
			errs = append(errs, field.Required(sp.Child("namespace"), "service namespace is required"))
		}
		if s.Port != nil && (*s.Port < 1 || *s.Port > 65535) {
			errs = append(errs, field.Invalid(sp.Child("port"), *s.Port, "port is not valid: must be between 1 and 65535, inclusive"))
		}
		if s.Path != nil && !strings.HasPrefix(*s.Path, "/") {
			errs = append(errs, field.Invalid(sp.Child("path"), *s.Path, "must start with a '/'"))
		}
	}
	return errs
}

var operations = []string{string(admissionregistrationv1.Create), string(admissionregistrationv1.Update),
	string(admissionregistrationv1.Delete), string(admissionregistrationv1.Connect), string(admissionregistrationv1.OperationAll)}

func validateRule(r admissionregistrationv1.RuleWithOperations, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(r.Operations) == 0 {
		errs = append(errs, field.Required(p.Child("operations"), ""))
	}
	for i, op := range r.Operations {
		if !sets.New(operations...).Has(string(op)) {
			errs = append(errs, field.NotSupported(p.Child("operations").Index(i), op, operations))
		}
	}
	for _, l := range []struct {
		name string
		v    []string
	}{{"apiGroups", r.APIGroups}, {"apiVersions", r.APIVersions}, {"resources", r.Resources}} {
		if len(l.v) == 0 {
			errs = append(errs, field.Required(p.Child(l.name), ""))
		}
	}
	if s := r.Scope; s != nil && *s != admissionregistrationv1.AllScopes && *s != admissionregistrationv1.ClusterScope && *s != admissionregistrationv1.NamespacedScope {
		errs = append(errs, field.NotSupported(p.Child("scope"), *s, []string{string(admissionregistrationv1.ClusterScope), string(admissionregistrationv1.NamespacedScope), string(admissionregistrationv1.AllScopes)}))
	}
	return errs
}

func validateReviewVersions(versions []string, p *field.Path) field.ErrorList {
	if len(versions) == 0 {
		return field.ErrorList{field.Required(p, "must specify one of v1, v1beta1")}
	}
	known := false
	for _, v := range versions {
		known = known || v == "v1" || v == "v1beta1"
	}
	if !known {
		return field.ErrorList{field.Invalid(p, versions, "must include at least one of v1, v1beta1")}
	}
	return nil
}

// validateMatchConditions: at most 64, each named (a qualified name, once)
// and compiling to a bool in kube's CEL environment.
func validateMatchConditions(conds []admissionregistrationv1.MatchCondition, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(conds) > maxMatchConditions {
		errs = append(errs, field.TooMany(p, len(conds), maxMatchConditions))
	}
	seen := sets.New[string]()
	for i, c := range conds {
		cp := p.Index(i)
		switch {
		case c.Name == "":
			errs = append(errs, field.Required(cp.Child("name"), ""))
		case seen.Has(c.Name):
			errs = append(errs, field.Duplicate(cp.Child("name"), c.Name))
		default:
			for _, msg := range validation.IsQualifiedName(c.Name) {
				errs = append(errs, field.Invalid(cp.Child("name"), c.Name, msg))
			}
		}
		seen.Insert(c.Name)
		if c.Expression == "" {
			errs = append(errs, field.Required(cp.Child("expression"), ""))
			continue
		}
		if err := compileError(c); err != nil {
			errs = append(errs, field.Invalid(cp.Child("expression"), c.Expression, err.Error()))
		}
	}
	return errs
}

// compileError is why a match condition does not compile, or nil.
func compileError(c admissionregistrationv1.MatchCondition) error {
	eval := conditionCompiler.CompileCondition([]celplugin.ExpressionAccessor{&matchconditions.MatchCondition{Name: c.Name, Expression: c.Expression}},
		celplugin.OptionalVariableDeclarations{HasAuthorizer: true}, environment.NewExpressions)
	for _, r := range eval.CompilationErrors() {
		return fmt.Errorf("compilation failed: %v", r)
	}
	return nil
}
