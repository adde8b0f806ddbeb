package flowcontrol

import (
	"strings"
	"testing"

	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/apis/flowcontrol/bootstrap"
	"k8s.io/utils/ptr"

	"kapi/internal/registry"

	"kapi/internal/registry/fieldtest"
)

// errPaths lists the errors as "field: type", joined by "; ".

// validationCase changes a valid object and names the errors it expects
// (errPaths) and, when detail is set, a part of the first one's message.
type validationCase[T any] struct {
	name   string
	change func(T)
	want   string
	detail string
}

// check defaults obj as a create does, then validates it.
func check[T runtime.Object](t *testing.T, hooks *registry.Hooks, newObj func() T, cases []validationCase[T]) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			obj := newObj()
			c.change(obj)
			hooks.PrepareCreate(obj)
			errs := hooks.Validate(obj, nil)
			if got := fieldtest.Paths(errs); got != c.want {
				t.Fatalf("got %q, want %q (%v)", got, c.want, errs)
			}
			if c.detail != "" && !strings.Contains(errs[0].Detail, c.detail) {
				t.Errorf("detail %q, want it to contain %q", errs[0].Detail, c.detail)
			}
		})
	}
}

func validFlowSchema() *flowcontrolv1.FlowSchema {
	return &flowcontrolv1.FlowSchema{ObjectMeta: metav1.ObjectMeta{Name: "fs"}, Spec: flowcontrolv1.FlowSchemaSpec{
		PriorityLevelConfiguration: flowcontrolv1.PriorityLevelConfigurationReference{Name: "pl"},
		MatchingPrecedence:         500,
		Rules: []flowcontrolv1.PolicyRulesWithSubjects{{
			Subjects: []flowcontrolv1.Subject{{Kind: flowcontrolv1.SubjectKindUser, User: &flowcontrolv1.UserSubject{Name: "alice"}}},
			ResourceRules: []flowcontrolv1.ResourcePolicyRule{{Verbs: []string{"get"}, APIGroups: []string{""},
				Resources: []string{"pods"}, Namespaces: []string{"default"}}},
			NonResourceRules: []flowcontrolv1.NonResourcePolicyRule{{Verbs: []string{"get"}, NonResourceURLs: []string{"/healthz"}}},
		}},
	}}
}

type fsCase = validationCase[*flowcontrolv1.FlowSchema]

func subject(fs *flowcontrolv1.FlowSchema) *flowcontrolv1.Subject {
	return &fs.Spec.Rules[0].Subjects[0]
}
func resourceRule(fs *flowcontrolv1.FlowSchema) *flowcontrolv1.ResourcePolicyRule {
	return &fs.Spec.Rules[0].ResourceRules[0]
}
func nonResourceRule(fs *flowcontrolv1.FlowSchema) *flowcontrolv1.NonResourcePolicyRule {
	return &fs.Spec.Rules[0].NonResourceRules[0]
}
func urls(u ...string) func(*flowcontrolv1.FlowSchema) {
	return func(fs *flowcontrolv1.FlowSchema) { nonResourceRule(fs).NonResourceURLs = u }
}

var flowSchemaSpecCases = []fsCase{
	{"valid", func(*flowcontrolv1.FlowSchema) {}, "", ""},
	{"precedence defaulted", func(fs *flowcontrolv1.FlowSchema) { fs.Spec.MatchingPrecedence = 0 }, "", ""},
	{"precedence negative", func(fs *flowcontrolv1.FlowSchema) { fs.Spec.MatchingPrecedence = -1 },
		"spec.matchingPrecedence: Invalid value", "must be a positive value"},
	{"precedence too high", func(fs *flowcontrolv1.FlowSchema) { fs.Spec.MatchingPrecedence = 10001 },
		"spec.matchingPrecedence: Invalid value", "must not be greater than 10000"},
	{"precedence 1", func(fs *flowcontrolv1.FlowSchema) { fs.Spec.MatchingPrecedence = 1 },
		"spec.matchingPrecedence: Invalid value", "only the schema named 'exempt'"},
	{"distinguisher", func(fs *flowcontrolv1.FlowSchema) {
		fs.Spec.DistinguisherMethod = &flowcontrolv1.FlowDistinguisherMethod{Type: "ByPod"}
	}, "spec.distinguisherMethod.type: Unsupported value", ""},
	{"distinguisher by user", func(fs *flowcontrolv1.FlowSchema) {
		fs.Spec.DistinguisherMethod = &flowcontrolv1.FlowDistinguisherMethod{Type: flowcontrolv1.FlowDistinguisherMethodByUserType}
	}, "", ""},
	{"no priority level", func(fs *flowcontrolv1.FlowSchema) { fs.Spec.PriorityLevelConfiguration.Name = "" },
		"spec.priorityLevelConfiguration.name: Required value", "must reference a priority level"},
	{"bad priority level name", func(fs *flowcontrolv1.FlowSchema) { fs.Spec.PriorityLevelConfiguration.Name = "Bad_Name" },
		"spec.priorityLevelConfiguration.name: Invalid value", ""},
	{"no subjects", func(fs *flowcontrolv1.FlowSchema) { fs.Spec.Rules[0].Subjects = nil },
		"spec.rules[0].subjects: Required value", "subjects must contain at least one value"},
	{"no rules", func(fs *flowcontrolv1.FlowSchema) {
		fs.Spec.Rules[0].ResourceRules, fs.Spec.Rules[0].NonResourceRules = nil, nil
	}, "spec.rules[0]: Required value", "at least one of resourceRules and nonResourceRules"},
}

var subjectCases = []fsCase{
	{"subject kind", func(fs *flowcontrolv1.FlowSchema) { subject(fs).Kind = "Robot" },
		"spec.rules[0].subjects[0].kind: Unsupported value", ""},
	{"user without user", func(fs *flowcontrolv1.FlowSchema) { subject(fs).User = nil },
		"spec.rules[0].subjects[0].user: Required value", "user is required when subject kind is 'User'"},
	{"user without name", func(fs *flowcontrolv1.FlowSchema) { subject(fs).User.Name = "" },
		"spec.rules[0].subjects[0].user.name: Required value", ""},
	{"user with group and serviceAccount", func(fs *flowcontrolv1.FlowSchema) {
		subject(fs).Group = &flowcontrolv1.GroupSubject{Name: "g"}
		subject(fs).ServiceAccount = &flowcontrolv1.ServiceAccountSubject{Name: "sa", Namespace: "ns"}
	}, "spec.rules[0].subjects[0].serviceAccount: Forbidden; spec.rules[0].subjects[0].group: Forbidden",
		"serviceAccount is forbidden when subject kind is not 'ServiceAccount'"},
	{"group without group", func(fs *flowcontrolv1.FlowSchema) {
		*subject(fs) = flowcontrolv1.Subject{Kind: flowcontrolv1.SubjectKindGroup}
	}, "spec.rules[0].subjects[0].group: Required value", "group is required when subject kind is 'Group'"},
	{"group with user", func(fs *flowcontrolv1.FlowSchema) {
		subject(fs).Kind, subject(fs).Group = flowcontrolv1.SubjectKindGroup, &flowcontrolv1.GroupSubject{Name: "system:masters"}
	}, "spec.rules[0].subjects[0].user: Forbidden", "user is forbidden when subject kind is not 'User'"},
	{"service account without serviceAccount", func(fs *flowcontrolv1.FlowSchema) {
		*subject(fs) = flowcontrolv1.Subject{Kind: flowcontrolv1.SubjectKindServiceAccount}
	}, "spec.rules[0].subjects[0].serviceAccount: Required value", "serviceAccount is required when subject kind is 'ServiceAccount'"},
	{"service account bad name, no namespace", func(fs *flowcontrolv1.FlowSchema) {
		*subject(fs) = flowcontrolv1.Subject{Kind: flowcontrolv1.SubjectKindServiceAccount,
			ServiceAccount: &flowcontrolv1.ServiceAccountSubject{Name: "Bad_SA"}}
	}, "spec.rules[0].subjects[0].serviceAccount.name: Invalid value; spec.rules[0].subjects[0].serviceAccount.namespace: Required value", ""},
	{"service account no name, bad namespace", func(fs *flowcontrolv1.FlowSchema) {
		*subject(fs) = flowcontrolv1.Subject{Kind: flowcontrolv1.SubjectKindServiceAccount,
			ServiceAccount: &flowcontrolv1.ServiceAccountSubject{Namespace: "Bad.NS"}}
	}, "spec.rules[0].subjects[0].serviceAccount.name: Required value; spec.rules[0].subjects[0].serviceAccount.namespace: Invalid value", ""},
	{"all service accounts of a namespace", func(fs *flowcontrolv1.FlowSchema) {
		*subject(fs) = flowcontrolv1.Subject{Kind: flowcontrolv1.SubjectKindServiceAccount,
			ServiceAccount: &flowcontrolv1.ServiceAccountSubject{Name: "*", Namespace: "kube-system"}}
	}, "", ""},
}

var resourceRuleCases = []fsCase{
	{"no verbs", func(fs *flowcontrolv1.FlowSchema) { resourceRule(fs).Verbs = nil },
		"spec.rules[0].resourceRules[0].verbs: Required value", "verbs must contain at least one value"},
	{"wildcard and verbs", func(fs *flowcontrolv1.FlowSchema) { resourceRule(fs).Verbs = []string{"*", "get"} },
		"spec.rules[0].resourceRules[0].verbs: Invalid value", "if '*' is present, must not specify other verbs"},
	{"unknown verb", func(fs *flowcontrolv1.FlowSchema) { resourceRule(fs).Verbs = []string{"get", "fly"} },
		"spec.rules[0].resourceRules[0].verbs: Unsupported value", ""},
	{"no api groups", func(fs *flowcontrolv1.FlowSchema) { resourceRule(fs).APIGroups = nil },
		"spec.rules[0].resourceRules[0].apiGroups: Required value", "resource rules must supply at least one api group"},
	{"wildcard and api groups", func(fs *flowcontrolv1.FlowSchema) { resourceRule(fs).APIGroups = []string{"*", "apps"} },
		"spec.rules[0].resourceRules[0].apiGroups: Invalid value", "if '*' is present, must not specify other api groups"},
	{"no resources", func(fs *flowcontrolv1.FlowSchema) { resourceRule(fs).Resources = nil },
		"spec.rules[0].resourceRules[0].resources: Required value", "resource rules must supply at least one resource"},
	{"wildcard and resources", func(fs *flowcontrolv1.FlowSchema) { resourceRule(fs).Resources = []string{"pods", "*"} },
		"spec.rules[0].resourceRules[0].resources: Invalid value", "if '*' is present, must not specify other resources"},
	{"no namespaces", func(fs *flowcontrolv1.FlowSchema) { resourceRule(fs).Namespaces = nil },
		"spec.rules[0].resourceRules[0].namespaces: Required value", "not cluster scoped"},
	{"cluster scope without namespaces", func(fs *flowcontrolv1.FlowSchema) {
		resourceRule(fs).Namespaces, resourceRule(fs).ClusterScope = nil, true
	}, "", ""},
	{"wildcard and namespaces", func(fs *flowcontrolv1.FlowSchema) { resourceRule(fs).Namespaces = []string{"*", "default"} },
		"spec.rules[0].resourceRules[0].namespaces: Invalid value", "if '*' is present, must not specify other namespaces"},
	{"bad namespace", func(fs *flowcontrolv1.FlowSchema) { resourceRule(fs).Namespaces = []string{"default", "Bad_NS"} },
		"spec.rules[0].resourceRules[0].namespaces[1]: Invalid value", nsErrIntro},
}

var nonResourceRuleCases = []fsCase{
	{"non-resource no verbs", func(fs *flowcontrolv1.FlowSchema) { nonResourceRule(fs).Verbs = nil },
		"spec.rules[0].nonResourceRules[0].verbs: Required value", ""},
	{"non-resource unknown verb", func(fs *flowcontrolv1.FlowSchema) { nonResourceRule(fs).Verbs = []string{"post"} },
		"spec.rules[0].nonResourceRules[0].verbs: Unsupported value", ""},
	{"no urls", urls(), "spec.rules[0].nonResourceRules[0].nonResourceURLs: Required value", "nonResourceURLs must contain at least one value"},
	{"wildcard and urls", urls("*", "/healthz"), "spec.rules[0].nonResourceRules[0].nonResourceURLs: Invalid value",
		"if '*' is present, must not specify other non-resource URLs"},
	{"empty url", urls("/healthz", ""), "spec.rules[0].nonResourceRules[0].nonResourceURLs[1]: Invalid value", "must not be empty"},
	{"relative url", urls("healthz"), "spec.rules[0].nonResourceRules[0].nonResourceURLs[0]: Invalid value", "must start with slash"},
	{"url with space", urls("/health z"), "spec.rules[0].nonResourceRules[0].nonResourceURLs[0]: Invalid value", "must not contain white-space"},
	{"url with double slash", urls("/apis//v1"), "spec.rules[0].nonResourceRules[0].nonResourceURLs[0]: Invalid value", "must not contain double slash"},
	{"url prefix wildcard", urls("/api*"), "spec.rules[0].nonResourceRules[0].nonResourceURLs[0]: Invalid value", "wildcard can only do suffix matching"},
	{"url inner wildcard", urls("/apis/*/v1"), "spec.rules[0].nonResourceRules[0].nonResourceURLs[0]: Invalid value", "wildcard can only do suffix matching"},
	{"url two wildcards", urls("/*/*"), "spec.rules[0].nonResourceRules[0].nonResourceURLs[0]: Invalid value", "wildcard can only do suffix matching"},
	{"good urls", urls("/", "/apis/*", "/healthz"), "", ""},
}

var flowSchemaObjectCases = []fsCase{
	{"duplicate and empty condition types", func(fs *flowcontrolv1.FlowSchema) {
		fs.Status.Conditions = []flowcontrolv1.FlowSchemaCondition{{Type: "Dangling"}, {Type: "Dangling"}, {}}
	}, "status.conditions[1].type: Duplicate value; status.conditions[2].type: Required value", ""},
	{"mandatory exempt changed", func(fs *flowcontrolv1.FlowSchema) {
		fs.Name, fs.Spec = flowcontrolv1.FlowSchemaNameExempt, *bootstrap.MandatoryFlowSchemaExempt.Spec.DeepCopy()
		fs.Spec.MatchingPrecedence = 2
	}, "spec: Invalid value", "spec of 'exempt' must equal the fixed value"},
	{"mandatory catch-all changed", func(fs *flowcontrolv1.FlowSchema) {
		fs.Name, fs.Spec = flowcontrolv1.FlowSchemaNameCatchAll, *bootstrap.MandatoryFlowSchemaCatchAll.Spec.DeepCopy()
		fs.Spec.PriorityLevelConfiguration.Name = "global-default"
	}, "spec: Invalid value", "spec of 'catch-all' must equal the fixed value"},
}

func TestFlowSchemaValidation(t *testing.T) {
	for _, cases := range [][]fsCase{flowSchemaSpecCases, subjectCases, resourceRuleCases, nonResourceRuleCases, flowSchemaObjectCases} {
		check(t, flowSchemaHooks, validFlowSchema, cases)
	}
}

func validPriorityLevel() *flowcontrolv1.PriorityLevelConfiguration {
	return &flowcontrolv1.PriorityLevelConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "pl"},
		Spec: flowcontrolv1.PriorityLevelConfigurationSpec{Type: flowcontrolv1.PriorityLevelEnablementLimited,
			Limited: &flowcontrolv1.LimitedPriorityLevelConfiguration{NominalConcurrencyShares: ptr.To[int32](10),
				LimitResponse: flowcontrolv1.LimitResponse{Type: flowcontrolv1.LimitResponseTypeQueue,
					Queuing: &flowcontrolv1.QueuingConfiguration{Queues: 64, HandSize: 8, QueueLengthLimit: 50}}}}}
}

type plCase = validationCase[*flowcontrolv1.PriorityLevelConfiguration]

func queuing(pl *flowcontrolv1.PriorityLevelConfiguration) *flowcontrolv1.QueuingConfiguration {
	return pl.Spec.Limited.LimitResponse.Queuing
}

var priorityLevelSpecCases = []plCase{
	{"valid", func(*flowcontrolv1.PriorityLevelConfiguration) {}, "", ""},
	{"defaults", func(pl *flowcontrolv1.PriorityLevelConfiguration) {
		pl.Spec.Limited.NominalConcurrencyShares, *queuing(pl) = nil, flowcontrolv1.QueuingConfiguration{}
	}, "", ""},
	{"no type", func(pl *flowcontrolv1.PriorityLevelConfiguration) { pl.Spec.Type = "" },
		"spec.limited: Forbidden; spec.type: Required value", ""},
	{"unknown type", func(pl *flowcontrolv1.PriorityLevelConfiguration) { pl.Spec.Type = "Unlimited" },
		"spec.type: Unsupported value; spec.limited: Forbidden", ""},
	{"exempt type for another name", func(pl *flowcontrolv1.PriorityLevelConfiguration) {
		pl.Spec.Type = flowcontrolv1.PriorityLevelEnablementExempt
	}, "spec.type: Invalid value; spec.limited: Forbidden", "must be 'Exempt' if and only if `name` is 'exempt'"},
	{"limited with exempt", func(pl *flowcontrolv1.PriorityLevelConfiguration) {
		pl.Spec.Exempt = &flowcontrolv1.ExemptPriorityLevelConfiguration{}
	}, "spec.exempt: Forbidden", ""},
	{"limited without limited", func(pl *flowcontrolv1.PriorityLevelConfiguration) { pl.Spec.Limited = nil },
		"spec.limited: Required value", ""},
	{"negative shares", func(pl *flowcontrolv1.PriorityLevelConfiguration) {
		pl.Spec.Limited.NominalConcurrencyShares = ptr.To[int32](-1)
	}, "spec.limited.nominalConcurrencyShares: Invalid value", "must be a non-negative integer"},
	{"zero shares", func(pl *flowcontrolv1.PriorityLevelConfiguration) {
		pl.Spec.Limited.NominalConcurrencyShares = ptr.To[int32](0)
	}, "", ""},
	{"lendable over 100", func(pl *flowcontrolv1.PriorityLevelConfiguration) {
		pl.Spec.Limited.LendablePercent = ptr.To[int32](101)
	}, "spec.limited.lendablePercent: Invalid value", "must be between 0 and 100, inclusive"},
	{"lendable negative", func(pl *flowcontrolv1.PriorityLevelConfiguration) {
		pl.Spec.Limited.LendablePercent = ptr.To[int32](-1)
	}, "spec.limited.lendablePercent: Invalid value", ""},
	{"borrowing negative", func(pl *flowcontrolv1.PriorityLevelConfiguration) {
		pl.Spec.Limited.BorrowingLimitPercent = ptr.To[int32](-1)
	}, "spec.limited.borrowingLimitPercent: Invalid value", "if specified, must be a non-negative integer"},
	{"borrowing over 100", func(pl *flowcontrolv1.PriorityLevelConfiguration) {
		pl.Spec.Limited.BorrowingLimitPercent = ptr.To[int32](300)
	}, "", ""},
}

var limitResponseCases = []plCase{
	{"no limit response type", func(pl *flowcontrolv1.PriorityLevelConfiguration) { pl.Spec.Limited.LimitResponse.Type = "" },
		"spec.limited.limitResponse.queuing: Forbidden; spec.limited.limitResponse.type: Required value", ""},
	{"unknown limit response type", func(pl *flowcontrolv1.PriorityLevelConfiguration) { pl.Spec.Limited.LimitResponse.Type = "Drop" },
		"spec.limited.limitResponse.type: Unsupported value; spec.limited.limitResponse.queuing: Forbidden", ""},
	{"reject with queuing", func(pl *flowcontrolv1.PriorityLevelConfiguration) {
		pl.Spec.Limited.LimitResponse.Type = flowcontrolv1.LimitResponseTypeReject
	}, "spec.limited.limitResponse.queuing: Forbidden", ""},
	{"queue without queuing", func(pl *flowcontrolv1.PriorityLevelConfiguration) { pl.Spec.Limited.LimitResponse.Queuing = nil },
		"spec.limited.limitResponse.queuing: Required value", ""},
	{"queue length", func(pl *flowcontrolv1.PriorityLevelConfiguration) { queuing(pl).QueueLengthLimit = -1 },
		"spec.limited.limitResponse.queuing.queueLengthLimit: Invalid value", "must be positive"},
	{"negative queues", func(pl *flowcontrolv1.PriorityLevelConfiguration) { queuing(pl).Queues = -1 },
		"spec.limited.limitResponse.queuing.queues: Invalid value; spec.limited.limitResponse.queuing.handSize: Invalid value", "must be positive"},
	{"too many queues", func(pl *flowcontrolv1.PriorityLevelConfiguration) {
		queuing(pl).Queues, queuing(pl).HandSize = 10000001, 1
	}, "spec.limited.limitResponse.queuing.queues: Invalid value", "must not be greater than 10000000"},
	{"negative hand", func(pl *flowcontrolv1.PriorityLevelConfiguration) { queuing(pl).HandSize = -1 },
		"spec.limited.limitResponse.queuing.handSize: Invalid value", "must be positive"},
	{"hand over queues", func(pl *flowcontrolv1.PriorityLevelConfiguration) { queuing(pl).HandSize = 65 },
		"spec.limited.limitResponse.queuing.handSize: Invalid value", "should not be greater than queues (64)"},
	{"entropy", func(pl *flowcontrolv1.PriorityLevelConfiguration) { queuing(pl).Queues, queuing(pl).HandSize = 1024, 7 },
		"spec.limited.limitResponse.queuing.handSize: Invalid value",
		"required entropy bits of deckSize 1024 and handSize 7 should not be greater than 60"},
	{"entropy at the limit", func(pl *flowcontrolv1.PriorityLevelConfiguration) { queuing(pl).Queues, queuing(pl).HandSize = 1024, 6 }, "", ""},
}

func exemptLevel(pl *flowcontrolv1.PriorityLevelConfiguration) {
	pl.Name, pl.Spec = flowcontrolv1.PriorityLevelConfigurationNameExempt,
		*bootstrap.MandatoryPriorityLevelConfigurationExempt.Spec.DeepCopy()
}

var priorityLevelObjectCases = []plCase{
	{"round-trip annotation", func(pl *flowcontrolv1.PriorityLevelConfiguration) {
		pl.Annotations = map[string]string{"flowcontrol.k8s.io/v1beta3-preserve-zero-concurrency-shares": "true"}
	}, "metadata.annotations: Forbidden", "is forbidden"},
	{"duplicate condition types", func(pl *flowcontrolv1.PriorityLevelConfiguration) {
		pl.Status.Conditions = []flowcontrolv1.PriorityLevelConfigurationCondition{{}, {Type: "A"}, {Type: "A"}}
	}, "status.conditions[0].type: Required value; status.conditions[2].type: Duplicate value", ""},
	{"exempt tuned", func(pl *flowcontrolv1.PriorityLevelConfiguration) {
		exemptLevel(pl)
		pl.Spec.Exempt = &flowcontrolv1.ExemptPriorityLevelConfiguration{NominalConcurrencyShares: ptr.To[int32](5), LendablePercent: ptr.To[int32](50)}
	}, "", ""},
	{"exempt bad exempt", func(pl *flowcontrolv1.PriorityLevelConfiguration) {
		exemptLevel(pl)
		pl.Spec.Exempt = &flowcontrolv1.ExemptPriorityLevelConfiguration{NominalConcurrencyShares: ptr.To[int32](-1), LendablePercent: ptr.To[int32](101)}
	}, "spec.exempt.nominalConcurrencyShares: Invalid value; spec.exempt.lendablePercent: Invalid value", "must be a non-negative integer"},
	{"exempt made limited", func(pl *flowcontrolv1.PriorityLevelConfiguration) {
		pl.Name = flowcontrolv1.PriorityLevelConfigurationNameExempt
	}, "spec.type: Invalid value; spec: Invalid value", ""},
	{"exempt with limited", func(pl *flowcontrolv1.PriorityLevelConfiguration) {
		limited := pl.Spec.Limited
		exemptLevel(pl)
		pl.Spec.Limited = limited
	}, "spec: Invalid value; spec.limited: Forbidden", ""},
	{"catch-all changed", func(pl *flowcontrolv1.PriorityLevelConfiguration) {
		pl.Name, pl.Spec = flowcontrolv1.PriorityLevelConfigurationNameCatchAll, *bootstrap.MandatoryPriorityLevelConfigurationCatchAll.Spec.DeepCopy()
		pl.Spec.Limited.NominalConcurrencyShares = ptr.To[int32](50)
	}, "spec: Invalid value", "spec of 'catch-all' must equal the fixed value"},
}

func TestPriorityLevelValidation(t *testing.T) {
	for _, cases := range [][]plCase{priorityLevelSpecCases, limitResponseCases, priorityLevelObjectCases} {
		check(t, priorityLevelHooks, validPriorityLevel, cases)
	}
}

// TestBootstrapObjectsValid: kube's mandatory and suggested objects, after
// kapi's defaults, pass, so that the bootstrap controller can write them.
func TestBootstrapObjectsValid(t *testing.T) {
	var objs []runtime.Object
	for _, fs := range append(bootstrap.MandatoryFlowSchemas, bootstrap.SuggestedFlowSchemas...) {
		objs = append(objs, fs.DeepCopy())
	}
	for _, pl := range append(bootstrap.MandatoryPriorityLevelConfigurations, bootstrap.SuggestedPriorityLevelConfigurations...) {
		objs = append(objs, pl.DeepCopy())
	}
	for _, obj := range objs {
		hooks := priorityLevelHooks
		if _, ok := obj.(*flowcontrolv1.FlowSchema); ok {
			hooks = flowSchemaHooks
		}
		hooks.PrepareCreate(obj)
		if errs := hooks.Validate(obj, nil); len(errs) > 0 {
			t.Errorf("%T %s: %v", obj, obj.(metav1.Object).GetName(), errs)
		}
	}
	if len(objs) < 4 {
		t.Fatalf("only %d bootstrap objects", len(objs))
	}
}

// TestStatusValidation: a status write is checked on its status alone, as
// kube's status strategies do.
func TestStatusValidation(t *testing.T) {
	rows := Resources()
	fsStatus, plStatus := rows[0].Subresources[0], rows[1].Subresources[0]
	fs := validFlowSchema()
	fs.Spec.MatchingPrecedence = -1
	if errs := fsStatus.Validate(fs, fs); len(errs) > 0 {
		t.Errorf("flow schema status write checks the spec: %v", errs)
	}
	fs.Status.Conditions = []flowcontrolv1.FlowSchemaCondition{{Type: "Dangling"}, {Type: "Dangling"}}
	if got := fieldtest.Paths(fsStatus.Validate(fs, fs)); got != "status.conditions[1].type: Duplicate value" {
		t.Errorf("flow schema status: %q", got)
	}
	pl := validPriorityLevel()
	pl.Status.Conditions = []flowcontrolv1.PriorityLevelConfigurationCondition{{}}
	if got := fieldtest.Paths(plStatus.Validate(pl, pl)); got != "status.conditions[0].type: Required value" {
		t.Errorf("priority level status: %q", got)
	}
}
