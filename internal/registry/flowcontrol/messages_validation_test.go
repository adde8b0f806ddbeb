package flowcontrol

import (
	"testing"

	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/apis/flowcontrol/bootstrap"
	"k8s.io/utils/ptr"

	"kapi/internal/registry"

	"kapi/internal/registry/fieldtest"
)

// messageCase changes a valid object into the one written and, for an
// update, into the stored one (old, nil for a create), and names the
// errors kube-apiserver 1.37 answers, one a line, in its order.
type messageCase[T runtime.Object] struct {
	name string
	old  func(T)
	obj  func(T)
	want string
}

func runMessageCases[T runtime.Object](t *testing.T, hooks *registry.Hooks, newObj func() T, cases []messageCase[T]) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			obj := newObj()
			c.obj(obj)
			var old runtime.Object
			if c.old == nil {
				hooks.PrepareCreate(obj)
			} else {
				o := newObj()
				c.old(o)
				hooks.PrepareCreate(o)
				hooks.PrepareUpdate(obj, o)
				old = o
			}
			if got := fieldtest.Lines(hooks.Validate(obj, old)); got != c.want {
				t.Errorf("got\n%s\nwant\n%s", got, c.want)
			}
		})
	}
}

type (
	fsMessage = messageCase[*flowcontrolv1.FlowSchema]
	plMessage = messageCase[*flowcontrolv1.PriorityLevelConfiguration]
)

func keepFS(*flowcontrolv1.FlowSchema)                 {}
func keepPL(*flowcontrolv1.PriorityLevelConfiguration) {}

const rfc1123Label = `a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`

var flowSchemaMessages = []fsMessage{
	{"valid", nil, keepFS, ""},
	{"distinguisher shown as kube's internal type", nil, func(fs *flowcontrolv1.FlowSchema) {
		fs.Spec.DistinguisherMethod = &flowcontrolv1.FlowDistinguisherMethod{Type: "ByPod"}
	}, `spec.distinguisherMethod.type: Unsupported value: {"Type":"ByPod"}: supported values: "ByNamespace", "ByUser"`},
	{"mandatory exempt shown as kube's internal type", nil, func(fs *flowcontrolv1.FlowSchema) { fs.Name = flowcontrolv1.FlowSchemaNameExempt },
		`spec: Invalid value: {"PriorityLevelConfiguration":{"Name":"pl"},"MatchingPrecedence":500,"DistinguisherMethod":null,` +
			`"Rules":[{"Subjects":[{"Kind":"User","User":{"Name":"alice"},"Group":null,"ServiceAccount":null}],` +
			`"ResourceRules":[{"Verbs":["get"],"APIGroups":[""],"Resources":["pods"],"ClusterScope":false,"Namespaces":["default"]}],` +
			`"NonResourceRules":[{"Verbs":["get"],"NonResourceURLs":["/healthz"]}]}]}: spec of 'exempt' must equal the fixed value`},
	{"mandatory catch-all as kube writes it", nil, func(fs *flowcontrolv1.FlowSchema) {
		fs.Name, fs.Spec = flowcontrolv1.FlowSchemaNameCatchAll, *bootstrap.MandatoryFlowSchemaCatchAll.Spec.DeepCopy()
	}, ""},
	{"duplicate and empty condition types", nil, func(fs *flowcontrolv1.FlowSchema) {
		fs.Status.Conditions = []flowcontrolv1.FlowSchemaCondition{{Type: "Dangling"}, {Type: "Dangling"}, {}}
	}, `status.conditions[1].type: Duplicate value: "Dangling"` + "\nstatus.conditions[2].type: Required value"},
	{"subject kind", nil, func(fs *flowcontrolv1.FlowSchema) { subject(fs).Kind = "Robot" },
		`spec.rules[0].subjects[0].kind: Unsupported value: "Robot": supported values: "Group", "ServiceAccount", "User"`},
	{"verbs", nil, func(fs *flowcontrolv1.FlowSchema) { resourceRule(fs).Verbs = []string{"get", "fly"} },
		`spec.rules[0].resourceRules[0].verbs: Unsupported value: ["get","fly"]: supported values: "create", "delete", "deletecollection", "get", "list", "patch", "proxy", "update", "watch"`},
	{"namespace", nil, func(fs *flowcontrolv1.FlowSchema) { resourceRule(fs).Namespaces = []string{"default", "Bad_NS"} },
		`spec.rules[0].resourceRules[0].namespaces[1]: Invalid value: "Bad_NS": each member of this list must be '*' or a DNS-1123 label; ` + rfc1123Label},
	{"precedence, priority level, subjects and rules in kube's order", nil, func(fs *flowcontrolv1.FlowSchema) {
		fs.Spec.MatchingPrecedence, fs.Spec.PriorityLevelConfiguration.Name = 1, ""
		fs.Spec.Rules[0] = flowcontrolv1.PolicyRulesWithSubjects{}
	}, "spec.matchingPrecedence: Invalid value: 1: only the schema named 'exempt' may have matchingPrecedence 1\n" +
		"spec.priorityLevelConfiguration.name: Required value: must reference a priority level\n" +
		"spec.rules[0].subjects: Required value: subjects must contain at least one value\n" +
		"spec.rules[0]: Required value: at least one of resourceRules and nonResourceRules has to be non-empty"},
	{"valid update", keepFS, func(fs *flowcontrolv1.FlowSchema) { fs.Spec.MatchingPrecedence = 200 }, ""},
	{"update keeping a stored bad precedence: refused alike", func(fs *flowcontrolv1.FlowSchema) { fs.Spec.MatchingPrecedence = 1 },
		func(fs *flowcontrolv1.FlowSchema) {
			fs.Spec.MatchingPrecedence, fs.Labels = 1, map[string]string{"a": "b"}
		},
		"spec.matchingPrecedence: Invalid value: 1: only the schema named 'exempt' may have matchingPrecedence 1"},
}

func limitedWithExempt(pl *flowcontrolv1.PriorityLevelConfiguration) {
	pl.Spec.Exempt = &flowcontrolv1.ExemptPriorityLevelConfiguration{}
}

func rejectWithQueuing(pl *flowcontrolv1.PriorityLevelConfiguration) {
	pl.Spec.Limited.LimitResponse.Type = flowcontrolv1.LimitResponseTypeReject
}

const onlyExempt = "must be 'Exempt' if and only if `name` is 'exempt'"

var priorityLevelMessages = []plMessage{
	{"valid", nil, keepPL, ""},
	{"no type: the declarative union and type", nil, func(pl *flowcontrolv1.PriorityLevelConfiguration) { pl.Spec.Type = "" },
		"spec.limited: Forbidden\nspec.type: Required value"},
	{"unknown type", nil, func(pl *flowcontrolv1.PriorityLevelConfiguration) { pl.Spec.Type = "Unlimited" },
		`spec.type: Unsupported value: "Unlimited": supported values: "Exempt", "Limited"` + "\nspec.limited: Forbidden"},
	{"limited with exempt: the declarative error", nil, limitedWithExempt, "spec.exempt: Forbidden"},
	{"exempt type for another name", nil, func(pl *flowcontrolv1.PriorityLevelConfiguration) {
		pl.Spec.Type = flowcontrolv1.PriorityLevelEnablementExempt
	}, `spec.type: Invalid value: "Exempt": ` + onlyExempt + "\nspec.limited: Forbidden"},
	{"no limit response type, with queuing", nil, func(pl *flowcontrolv1.PriorityLevelConfiguration) { pl.Spec.Limited.LimitResponse.Type = "" },
		"spec.limited.limitResponse.queuing: Forbidden\nspec.limited.limitResponse.type: Required value"},
	{"queue without queuing, lendable over 100: the declarative error last", nil, func(pl *flowcontrolv1.PriorityLevelConfiguration) {
		pl.Spec.Limited.LimitResponse.Queuing, pl.Spec.Limited.LendablePercent = nil, ptr.To[int32](101)
	}, "spec.limited.lendablePercent: Invalid value: 101: must be between 0 and 100, inclusive\nspec.limited.limitResponse.queuing: Required value"},
	{"entropy", nil, func(pl *flowcontrolv1.PriorityLevelConfiguration) { queuing(pl).Queues, queuing(pl).HandSize = 1024, 7 },
		"spec.limited.limitResponse.queuing.handSize: Invalid value: 7: required entropy bits of deckSize 1024 and handSize 7 should not be greater than 60"},
	{"zero shares, as v1 allows", nil, func(pl *flowcontrolv1.PriorityLevelConfiguration) {
		pl.Spec.Limited.NominalConcurrencyShares = ptr.To[int32](0)
	}, ""},
	{"round-trip annotation", nil, func(pl *flowcontrolv1.PriorityLevelConfiguration) {
		pl.Annotations = map[string]string{"flowcontrol.k8s.io/v1beta3-preserve-zero-concurrency-shares": "true"}
	}, "metadata.annotations: Forbidden: annotation 'flowcontrol.k8s.io/v1beta3-preserve-zero-concurrency-shares' is forbidden"},
	{"exempt made limited, shown as kube's internal type", nil, func(pl *flowcontrolv1.PriorityLevelConfiguration) {
		pl.Name = flowcontrolv1.PriorityLevelConfigurationNameExempt
	}, `spec.type: Invalid value: "Limited": ` + onlyExempt + "\n" +
		`spec: Invalid value: {"Type":"Limited","Limited":{"NominalConcurrencyShares":10,"LimitResponse":{"Type":"Queue",` +
		`"Queuing":{"Queues":64,"HandSize":8,"QueueLengthLimit":50}},"LendablePercent":0,"BorrowingLimitPercent":null},"Exempt":null}: ` +
		"spec of 'exempt' except the 'spec.exempt' field must equal the fixed value"},
	{"catch-all changed", nil, func(pl *flowcontrolv1.PriorityLevelConfiguration) {
		pl.Name, pl.Spec = flowcontrolv1.PriorityLevelConfigurationNameCatchAll, *bootstrap.MandatoryPriorityLevelConfigurationCatchAll.Spec.DeepCopy()
		pl.Spec.Limited.NominalConcurrencyShares = ptr.To[int32](50)
	}, `spec: Invalid value: {"Type":"Limited","Limited":{"NominalConcurrencyShares":50,"LimitResponse":{"Type":"Reject","Queuing":null},` +
		`"LendablePercent":0,"BorrowingLimitPercent":null},"Exempt":null}: spec of 'catch-all' must equal the fixed value`},
	{"duplicate condition type", nil, func(pl *flowcontrolv1.PriorityLevelConfiguration) {
		pl.Status.Conditions = []flowcontrolv1.PriorityLevelConfigurationCondition{{Type: "A"}, {Type: "A"}}
	}, `status.conditions[1].type: Duplicate value: "A"`},
	{"valid update", keepPL, func(pl *flowcontrolv1.PriorityLevelConfiguration) {
		pl.Spec.Limited.NominalConcurrencyShares, pl.Spec.Limited.BorrowingLimitPercent = ptr.To[int32](0), ptr.To[int32](200)
	}, ""},
	{"update keeping a stored exempt member: the handwritten error", limitedWithExempt,
		func(pl *flowcontrolv1.PriorityLevelConfiguration) {
			limitedWithExempt(pl)
			pl.Labels = map[string]string{"a": "b"}
		},
		"spec.exempt: Forbidden: must be nil if the type is Limited"},
	{"update keeping a stored rejection with queuing, changing the shares: the handwritten error", rejectWithQueuing,
		func(pl *flowcontrolv1.PriorityLevelConfiguration) {
			rejectWithQueuing(pl)
			pl.Spec.Limited.NominalConcurrencyShares = ptr.To[int32](20)
		}, "spec.limited.limitResponse.queuing: Forbidden: must be nil if limited.limitResponse.type is not Limited"},
	{"update bringing a rejection with queuing: the declarative error", keepPL, rejectWithQueuing,
		"spec.limited.limitResponse.queuing: Forbidden"},
	{"update keeping a stored empty type: no declarative errors", func(pl *flowcontrolv1.PriorityLevelConfiguration) { pl.Spec.Type = "" },
		func(pl *flowcontrolv1.PriorityLevelConfiguration) {
			pl.Spec.Type, pl.Labels = "", map[string]string{"a": "b"}
		},
		"spec.type: Required value"},
	{"update emptying the type: the declarative union and type", keepPL, func(pl *flowcontrolv1.PriorityLevelConfiguration) { pl.Spec.Type = "" },
		"spec.limited: Forbidden\nspec.type: Required value"},
	{"mandatory exempt tuned on update", exemptLevel, func(pl *flowcontrolv1.PriorityLevelConfiguration) {
		exemptLevel(pl)
		pl.Spec.Exempt.LendablePercent = ptr.To[int32](30)
	}, ""},
}

func TestFlowControlMessages(t *testing.T) {
	runMessageCases(t, flowSchemaHooks, validFlowSchema, flowSchemaMessages)
	runMessageCases(t, priorityLevelHooks, validPriorityLevel, priorityLevelMessages)
}
