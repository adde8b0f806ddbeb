package flowcontrol

import (
	"fmt"
	"slices"
	"strings"

	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	flowcontrolv1beta3 "k8s.io/api/flowcontrol/v1beta3"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/apis/flowcontrol/bootstrap"
	"k8s.io/apiserver/pkg/util/shufflesharding"

	"kapi/internal/registry"
)

// The validation of FlowSchemas and PriorityLevelConfigurations follows
// kube-apiserver's pkg/apis/flowcontrol/validation, on the v1 types: the
// same rules, field paths and messages, so that a bad object is refused
// with the 422 kube answers. API Priority and Fairness reads these objects,
// so a bad one must never be stored. Object names are DNS subdomains, the
// row's default name rule, as kube's ValidateFlowSchemaName and
// ValidatePriorityLevelConfigurationName.
//
// A status write is validated on its status alone, as kube's status
// strategies (ValidateFlowSchemaStatusUpdate).
//
// kube answers a PriorityLevelConfiguration with the declarative rules of
// flowcontrol/v1 (pkg/apis/flowcontrol/v1/zz_generated.validations.go)
// too, enforced by default in 1.37 (DeclarativeValidationBeta): the unions
// of spec.type (limited, exempt) and of spec.limited.limitResponse.type
// (queuing), and both types required. Where a handwritten check is marked
// as covered by one of them, kube answers with the declarative error (no
// detail) after all the handwritten ones; on an update, what is unchanged
// is not checked declaratively, and the handwritten error stays in its
// place. FlowSchemas have no declarative rules but the metadata's (alpha,
// not enforced).
//
// kube validates its internal types, whose JSON has Go's field names: the
// values of the errors that show a struct are kube's internal types
// (kubevalues_validation.go).

var (
	supportedDistinguisherMethods = sets.NewString(string(flowcontrolv1.FlowDistinguisherMethodByNamespaceType),
		string(flowcontrolv1.FlowDistinguisherMethodByUserType))
	supportedVerbs = sets.NewString("get", "list", "create", "update", "delete", "deletecollection", "patch",
		"watch", "proxy")
	supportedSubjectKinds = sets.NewString(string(flowcontrolv1.SubjectKindServiceAccount),
		string(flowcontrolv1.SubjectKindGroup), string(flowcontrolv1.SubjectKindUser))
	supportedPriorityLevelEnablement = sets.NewString(string(flowcontrolv1.PriorityLevelEnablementExempt),
		string(flowcontrolv1.PriorityLevelEnablementLimited))
	supportedLimitResponseType = sets.NewString(string(flowcontrolv1.LimitResponseTypeQueue),
		string(flowcontrolv1.LimitResponseTypeReject))
)

// maxQueues is the most queues a priority level may have (10^7).
const maxQueues int32 = 10 * 1000 * 1000

// nsErrIntro starts kube's message for a bad namespace of a resource rule.
const nsErrIntro = "each member of this list must be '*' or a DNS-1123 label; "

// The mandatory objects by name: their specs are fixed (kube's
// internalbootstrap, which converts bootstrap's without defaulting).
var (
	mandatoryFlowSchemas    = byName(bootstrap.MandatoryFlowSchemas)
	mandatoryPriorityLevels = byName(bootstrap.MandatoryPriorityLevelConfigurations)
)

// validateFlowSchemaStatus and validatePriorityLevelStatus validate a
// status write, and the status of any other write.
func validateFlowSchemaStatus(obj, _ runtime.Object) field.ErrorList {
	var types []flowcontrolv1.FlowSchemaConditionType
	for _, c := range obj.(*flowcontrolv1.FlowSchema).Status.Conditions {
		types = append(types, c.Type)
	}
	return validateConditionTypes(types, field.NewPath("status"))
}

func validatePriorityLevelStatus(obj, _ runtime.Object) field.ErrorList {
	var types []flowcontrolv1.PriorityLevelConfigurationConditionType
	for _, c := range obj.(*flowcontrolv1.PriorityLevelConfiguration).Status.Conditions {
		types = append(types, c.Type)
	}
	return validateConditionTypes(types, field.NewPath("status"))
}

func byName[T interface{ GetName() string }](objs []T) map[string]T {
	m := make(map[string]T, len(objs))
	for _, o := range objs {
		m[o.GetName()] = o
	}
	return m
}

// validateFlowSchema is kube's ValidateFlowSchema without the metadata,
// which the store validates: the spec, the fixed spec of a mandatory
// schema, the status.
func validateFlowSchema(obj, _ runtime.Object) field.ErrorList {
	fs := obj.(*flowcontrolv1.FlowSchema)
	specPath := field.NewPath("spec")
	errs := validateFlowSchemaSpec(fs.Name, &fs.Spec, specPath)
	if mand, ok := mandatoryFlowSchemas[fs.Name]; ok && !apiequality.Semantic.DeepEqual(fs.Spec, mand.Spec) {
		errs = append(errs, field.Invalid(specPath, internalFlowSchemaSpec(&fs.Spec), fmt.Sprintf("spec of '%s' must equal the fixed value", fs.Name)))
	}
	return append(errs, validateFlowSchemaStatus(obj, nil)...)
}

func validateFlowSchemaSpec(name string, spec *flowcontrolv1.FlowSchemaSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	precedence := p.Child("matchingPrecedence")
	if spec.MatchingPrecedence <= 0 {
		errs = append(errs, field.Invalid(precedence, spec.MatchingPrecedence, "must be a positive value"))
	}
	if spec.MatchingPrecedence > flowcontrolv1.FlowSchemaMaxMatchingPrecedence {
		errs = append(errs, field.Invalid(precedence, spec.MatchingPrecedence,
			fmt.Sprintf("must not be greater than %v", flowcontrolv1.FlowSchemaMaxMatchingPrecedence)))
	}
	if spec.MatchingPrecedence == 1 && name != flowcontrolv1.FlowSchemaNameExempt {
		errs = append(errs, field.Invalid(precedence, spec.MatchingPrecedence, "only the schema named 'exempt' may have matchingPrecedence 1"))
	}
	if d := spec.DistinguisherMethod; d != nil && !supportedDistinguisherMethods.Has(string(d.Type)) {
		errs = append(errs, field.NotSupported(p.Child("distinguisherMethod", "type"), (*internalDistinguisherMethod)(d), supportedDistinguisherMethods.List()))
	}
	plName, plPath := spec.PriorityLevelConfiguration.Name, p.Child("priorityLevelConfiguration", "name")
	if plName == "" {
		errs = append(errs, field.Required(plPath, "must reference a priority level"))
	}
	for _, msg := range nameMessages(plName) {
		errs = append(errs, field.Invalid(plPath, plName, msg))
	}
	for i := range spec.Rules {
		errs = append(errs, validateRulesWithSubjects(&spec.Rules[i], p.Child("rules").Index(i))...)
	}
	return errs
}

// nameMessages: why a priority level's name is not a DNS subdomain; none
// for an empty name, which is Required.
func nameMessages(name string) []string {
	if name == "" {
		return nil
	}
	return apimachineryvalidation.NameIsDNSSubdomain(name, false)
}

func validateRulesWithSubjects(rule *flowcontrolv1.PolicyRulesWithSubjects, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(rule.Subjects) == 0 {
		errs = append(errs, field.Required(p.Child("subjects"), "subjects must contain at least one value"))
	}
	for i := range rule.Subjects {
		errs = append(errs, validateSubject(&rule.Subjects[i], p.Child("subjects").Index(i))...)
	}
	if len(rule.ResourceRules) == 0 && len(rule.NonResourceRules) == 0 {
		errs = append(errs, field.Required(p, "at least one of resourceRules and nonResourceRules has to be non-empty"))
	}
	for i := range rule.ResourceRules {
		errs = append(errs, validateResourceRule(&rule.ResourceRules[i], p.Child("resourceRules").Index(i))...)
	}
	for i := range rule.NonResourceRules {
		errs = append(errs, validateNonResourceRule(&rule.NonResourceRules[i], p.Child("nonResourceRules").Index(i))...)
	}
	return errs
}

// validateSubject checks the member the kind names and forbids the other
// two, in kube's order (serviceAccount, user, group).
func validateSubject(s *flowcontrolv1.Subject, p *field.Path) field.ErrorList {
	members := []struct {
		kind  flowcontrolv1.SubjectKind
		field string
		set   bool
	}{
		{flowcontrolv1.SubjectKindServiceAccount, "serviceAccount", s.ServiceAccount != nil},
		{flowcontrolv1.SubjectKindUser, "user", s.User != nil},
		{flowcontrolv1.SubjectKindGroup, "group", s.Group != nil},
	}
	var errs field.ErrorList
	switch s.Kind {
	case flowcontrolv1.SubjectKindServiceAccount:
		errs = validateServiceAccountSubject(s.ServiceAccount, p.Child("serviceAccount"))
	case flowcontrolv1.SubjectKindUser:
		var name *string
		if s.User != nil {
			name = &s.User.Name
		}
		errs = validateNamedSubject(name, "user", s.Kind, p.Child("user"))
	case flowcontrolv1.SubjectKindGroup:
		var name *string
		if s.Group != nil {
			name = &s.Group.Name
		}
		errs = validateNamedSubject(name, "group", s.Kind, p.Child("group"))
	default:
		return field.ErrorList{field.NotSupported(p.Child("kind"), s.Kind, supportedSubjectKinds.List())}
	}
	for _, m := range members {
		if m.set && m.kind != s.Kind {
			errs = append(errs, field.Forbidden(p.Child(m.field),
				fmt.Sprintf("%s is forbidden when subject kind is not '%s'", m.field, m.kind)))
		}
	}
	return errs
}

func validateServiceAccountSubject(sa *flowcontrolv1.ServiceAccountSubject, p *field.Path) field.ErrorList {
	if sa == nil {
		return field.ErrorList{field.Required(p, "serviceAccount is required when subject kind is 'ServiceAccount'")}
	}
	var errs field.ErrorList
	if sa.Name == "" {
		errs = append(errs, field.Required(p.Child("name"), ""))
	} else if sa.Name != flowcontrolv1.NameAll {
		for _, msg := range apimachineryvalidation.ValidateServiceAccountName(sa.Name, false) {
			errs = append(errs, field.Invalid(p.Child("name"), sa.Name, msg))
		}
	}
	if sa.Namespace == "" {
		return append(errs, field.Required(p.Child("namespace"), "must specify namespace for service account"))
	}
	for _, msg := range apimachineryvalidation.ValidateNamespaceName(sa.Namespace, false) {
		errs = append(errs, field.Invalid(p.Child("namespace"), sa.Namespace, msg))
	}
	return errs
}

// validateNamedSubject checks a user or group subject: name is nil when
// the member is missing.
func validateNamedSubject(name *string, member string, kind flowcontrolv1.SubjectKind, p *field.Path) field.ErrorList {
	if name == nil {
		return field.ErrorList{field.Required(p, fmt.Sprintf("%s is required when subject kind is '%s'", member, kind))}
	}
	if *name == "" {
		return field.ErrorList{field.Required(p.Child("name"), "")}
	}
	return nil
}

// validateVerbs: at least one, '*' alone, or only kube's verbs.
func validateVerbs(verbs []string, p *field.Path) field.ErrorList {
	switch {
	case len(verbs) == 0:
		return field.ErrorList{field.Required(p, "verbs must contain at least one value")}
	case slices.Contains(verbs, "*"):
		if len(verbs) > 1 {
			return field.ErrorList{field.Invalid(p, verbs, "if '*' is present, must not specify other verbs")}
		}
	case !supportedVerbs.HasAll(verbs...):
		return field.ErrorList{field.NotSupported(p, verbs, supportedVerbs.List())}
	}
	return nil
}

// validateWildcardList: at least one member, and '*' only alone ("api
// groups", "resources").
func validateWildcardList(list []string, what string, p *field.Path) field.ErrorList {
	if len(list) == 0 {
		return field.ErrorList{field.Required(p, fmt.Sprintf("resource rules must supply at least one %s", what))}
	}
	if len(list) > 1 && slices.Contains(list, "*") {
		return field.ErrorList{field.Invalid(p, list, fmt.Sprintf("if '*' is present, must not specify other %ss", what))}
	}
	return nil
}

func validateResourceRule(rule *flowcontrolv1.ResourcePolicyRule, p *field.Path) field.ErrorList {
	errs := validateVerbs(rule.Verbs, p.Child("verbs"))
	errs = append(errs, validateWildcardList(rule.APIGroups, "api group", p.Child("apiGroups"))...)
	errs = append(errs, validateWildcardList(rule.Resources, "resource", p.Child("resources"))...)
	nsPath := p.Child("namespaces")
	switch {
	case len(rule.Namespaces) == 0 && !rule.ClusterScope:
		errs = append(errs, field.Required(nsPath, "resource rules that are not cluster scoped must supply at least one namespace"))
	case slices.Contains(rule.Namespaces, "*"):
		if len(rule.Namespaces) > 1 {
			errs = append(errs, field.Invalid(nsPath, rule.Namespaces, "if '*' is present, must not specify other namespaces"))
		}
	default:
		for i, ns := range rule.Namespaces {
			for _, msg := range apimachineryvalidation.ValidateNamespaceName(ns, false) {
				errs = append(errs, field.Invalid(nsPath.Index(i), ns, nsErrIntro+msg))
			}
		}
	}
	return errs
}

func validateNonResourceRule(rule *flowcontrolv1.NonResourcePolicyRule, p *field.Path) field.ErrorList {
	errs := validateVerbs(rule.Verbs, p.Child("verbs"))
	urls := p.Child("nonResourceURLs")
	switch {
	case len(rule.NonResourceURLs) == 0:
		errs = append(errs, field.Required(urls, "nonResourceURLs must contain at least one value"))
	case slices.Contains(rule.NonResourceURLs, "*"):
		if len(rule.NonResourceURLs) > 1 {
			errs = append(errs, field.Invalid(urls, rule.NonResourceURLs, "if '*' is present, must not specify other non-resource URLs"))
		}
	default:
		for i, u := range rule.NonResourceURLs {
			if msg := nonResourceURLMessage(u); msg != "" {
				errs = append(errs, field.Invalid(urls.Index(i), u, msg))
			}
		}
	}
	return errs
}

// nonResourceURLMessage says what is wrong with a non-resource URL path,
// as kube's ValidateNonResourceURLPath: it starts with a slash, has no
// white-space and no double slash, and a wildcard only as its last
// segment ("/apis/*", which also matches "/apis/a/b"; not "/api*").
func nonResourceURLMessage(path string) string {
	switch {
	case path == "":
		return "must not be empty"
	case path == "/":
		return ""
	case !strings.HasPrefix(path, "/"):
		return "must start with slash"
	case strings.Contains(path, " "):
		return "must not contain white-space"
	case strings.Contains(path, "//"):
		return "must not contain double slash"
	}
	if n := strings.Count(path, "*"); n > 1 || (n == 1 && !strings.HasSuffix(path, "/*")) {
		return "wildcard can only do suffix matching"
	}
	return ""
}

// validateConditionTypes: each condition has a type, and no two the same.
// A duplicate shows its type as kube's does, a typed string (in JSON).
func validateConditionTypes[T ~string](types []T, status *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := sets.New[T]()
	for i, t := range types {
		p := status.Child("conditions").Index(i).Child("type")
		if seen.Has(t) {
			errs = append(errs, field.Duplicate(p, t))
		}
		seen.Insert(t)
		if t == "" {
			errs = append(errs, field.Required(p, ""))
		}
	}
	return errs
}

// validatePriorityLevel is kube's ValidatePriorityLevelConfiguration
// without the metadata, which the store validates; v1beta3's round-trip
// annotation is refused, as kube does for every version but v1beta3 (which
// kapi does not serve).
func validatePriorityLevel(obj, old runtime.Object) field.ErrorList {
	pl := obj.(*flowcontrolv1.PriorityLevelConfiguration)
	var errs field.ErrorList
	if _, ok := pl.Annotations[flowcontrolv1beta3.PriorityLevelPreserveZeroConcurrencySharesKey]; ok {
		errs = append(errs, field.Forbidden(field.NewPath("metadata", "annotations"),
			fmt.Sprintf("annotation '%s' is forbidden", flowcontrolv1beta3.PriorityLevelPreserveZeroConcurrencySharesKey)))
	}
	specPath := field.NewPath("spec")
	errs = append(errs, validatePriorityLevelSpec(&pl.Spec, pl.Name, specPath)...)
	errs = append(errs, validateMandatoryPriorityLevel(pl, specPath)...)
	errs = append(errs, validatePriorityLevelStatus(obj, nil)...)
	var oldSpec *flowcontrolv1.PriorityLevelConfigurationSpec
	if old != nil {
		oldSpec = &old.(*flowcontrolv1.PriorityLevelConfiguration).Spec
	}
	return registry.Declared(errs, declaredPriorityLevelSpec(&pl.Spec, oldSpec, specPath))
}

// validateMandatoryPriorityLevel: the spec of catch-all is fixed; of
// exempt, all but spec.exempt, which an administrator may tune.
func validateMandatoryPriorityLevel(pl *flowcontrolv1.PriorityLevelConfiguration, p *field.Path) field.ErrorList {
	mand, ok := mandatoryPriorityLevels[pl.Name]
	if !ok {
		return nil
	}
	have, msg := pl.Spec.DeepCopy(), fmt.Sprintf("spec of '%s' must equal the fixed value", pl.Name)
	if pl.Name == flowcontrolv1.PriorityLevelConfigurationNameExempt {
		have.Exempt = mand.Spec.Exempt
		msg = fmt.Sprintf("spec of '%s' except the 'spec.exempt' field must equal the fixed value", pl.Name)
	}
	if !apiequality.Semantic.DeepEqual(&mand.Spec, have) {
		return field.ErrorList{field.Invalid(p, internalPriorityLevelSpec(&pl.Spec), msg)}
	}
	return nil
}

func validatePriorityLevelSpec(spec *flowcontrolv1.PriorityLevelConfigurationSpec, name string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if (name == flowcontrolv1.PriorityLevelConfigurationNameExempt) != (spec.Type == flowcontrolv1.PriorityLevelEnablementExempt) {
		errs = append(errs, field.Invalid(p.Child("type"), spec.Type, "must be 'Exempt' if and only if `name` is 'exempt'"))
	}
	switch spec.Type {
	case flowcontrolv1.PriorityLevelEnablementExempt:
		if spec.Limited != nil {
			errs = append(errs, field.Forbidden(p.Child("limited"), "must be nil if the type is not Limited").MarkCoveredByDeclarative())
		}
		if spec.Exempt != nil {
			errs = append(errs, validateExempt(spec.Exempt, p.Child("exempt"))...)
		}
	case flowcontrolv1.PriorityLevelEnablementLimited:
		if spec.Exempt != nil {
			errs = append(errs, field.Forbidden(p.Child("exempt"), "must be nil if the type is Limited").MarkCoveredByDeclarative())
		}
		if spec.Limited == nil {
			errs = append(errs, field.Required(p.Child("limited"), "must not be empty when type is Limited").MarkCoveredByDeclarative())
		} else {
			errs = append(errs, validateLimited(spec.Limited, p.Child("limited"))...)
		}
	case "":
		errs = append(errs, field.Required(p.Child("type"), "").MarkCoveredByDeclarative())
	default:
		errs = append(errs, field.NotSupported(p.Child("type"), spec.Type, supportedPriorityLevelEnablement.List()))
	}
	return errs
}

// validateLimited: shares (which kapi's defaults set) not negative, the
// percentages in range, the limit response.
func validateLimited(l *flowcontrolv1.LimitedPriorityLevelConfiguration, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if s := l.NominalConcurrencyShares; s != nil && *s < 0 {
		errs = append(errs, field.Invalid(p.Child("nominalConcurrencyShares"), *s, "must be a non-negative integer"))
	}
	errs = append(errs, validateLimitResponse(l.LimitResponse, p.Child("limitResponse"))...)
	errs = append(errs, validateLendablePercent(l.LendablePercent, p)...)
	if b := l.BorrowingLimitPercent; b != nil && *b < 0 {
		errs = append(errs, field.Invalid(p.Child("borrowingLimitPercent"), *b, "if specified, must be a non-negative integer"))
	}
	return errs
}

func validateExempt(e *flowcontrolv1.ExemptPriorityLevelConfiguration, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if s := e.NominalConcurrencyShares; s != nil && *s < 0 {
		errs = append(errs, field.Invalid(p.Child("nominalConcurrencyShares"), *s, "must be a non-negative integer"))
	}
	return append(errs, validateLendablePercent(e.LendablePercent, p)...)
}

func validateLendablePercent(lendable *int32, p *field.Path) field.ErrorList {
	if lendable != nil && (*lendable < 0 || *lendable > 100) {
		return field.ErrorList{field.Invalid(p.Child("lendablePercent"), *lendable, "must be between 0 and 100, inclusive")}
	}
	return nil
}

func validateLimitResponse(lr flowcontrolv1.LimitResponse, p *field.Path) field.ErrorList {
	switch lr.Type {
	case flowcontrolv1.LimitResponseTypeReject:
		if lr.Queuing != nil {
			return field.ErrorList{field.Forbidden(p.Child("queuing"), "must be nil if limited.limitResponse.type is not Limited").MarkCoveredByDeclarative()}
		}
	case flowcontrolv1.LimitResponseTypeQueue:
		if lr.Queuing == nil {
			return field.ErrorList{field.Required(p.Child("queuing"), "must not be empty if limited.limitResponse.type is Limited").MarkCoveredByDeclarative()}
		}
		return validateQueuing(lr.Queuing, p.Child("queuing"))
	case "":
		return field.ErrorList{field.Required(p.Child("type"), "").MarkCoveredByDeclarative()}
	default:
		return field.ErrorList{field.NotSupported(p.Child("type"), lr.Type, supportedLimitResponseType.List())}
	}
	return nil
}

// validateQueuing checks the shuffle-sharding shape: queues in
// 1..10^7, a hand no larger than the deck, and few enough hands that
// a 60-bit hash can pick one (queues 128 and handSize 8: 56 bits, fine;
// queues 1024 and handSize 7: 70 bits, refused).
func validateQueuing(q *flowcontrolv1.QueuingConfiguration, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if q.QueueLengthLimit <= 0 {
		errs = append(errs, field.Invalid(p.Child("queueLengthLimit"), q.QueueLengthLimit, "must be positive"))
	}
	if q.Queues <= 0 {
		errs = append(errs, field.Invalid(p.Child("queues"), q.Queues, "must be positive"))
	} else if q.Queues > maxQueues {
		errs = append(errs, field.Invalid(p.Child("queues"), q.Queues, fmt.Sprintf("must not be greater than %d", maxQueues)))
	}
	hand := p.Child("handSize")
	switch {
	case q.HandSize <= 0:
		errs = append(errs, field.Invalid(hand, q.HandSize, "must be positive"))
	case q.HandSize > q.Queues:
		errs = append(errs, field.Invalid(hand, q.HandSize, fmt.Sprintf("should not be greater than queues (%d)", q.Queues)))
	case shufflesharding.RequiredEntropyBits(int(q.Queues), int(q.HandSize)) > shufflesharding.MaxHashBits:
		errs = append(errs, field.Invalid(hand, q.HandSize, fmt.Sprintf("required entropy bits of deckSize %d and handSize %d should not be greater than %d",
			q.Queues, q.HandSize, shufflesharding.MaxHashBits)))
	}
	return errs
}
