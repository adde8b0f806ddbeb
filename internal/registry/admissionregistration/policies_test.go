package admissionregistration

import (
	"strconv"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"kapi/internal/registry"
)

// TestPolicyValidation: admission policies and their bindings refused (or,
// on an update keeping what the stored one had, let through) with kube's
// messages, in kube's order.
func TestPolicyValidation(t *testing.T) {
	type (
		vapSpec  = admissionregistrationv1.ValidatingAdmissionPolicySpec
		mapSpec  = admissionregistrationv1.MutatingAdmissionPolicySpec
		vbSpec   = admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec
		mbSpec   = admissionregistrationv1.MutatingAdmissionPolicyBindingSpec
		rule     = admissionregistrationv1.NamedRuleWithOperations
		ops      = []admissionregistrationv1.OperationType
		actions  = []admissionregistrationv1.ValidationAction
		mutation = admissionregistrationv1.Mutation
	)
	deny, warn := admissionregistrationv1.Deny, admissionregistrationv1.Warn
	rules := func(operations ...admissionregistrationv1.OperationType) *admissionregistrationv1.MatchResources {
		return &admissionregistrationv1.MatchResources{ResourceRules: []rule{{
			RuleWithOperations: admissionregistrationv1.RuleWithOperations{Operations: operations,
				Rule: admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}}}}}}
	}
	configMaps := &admissionregistrationv1.ParamKind{APIVersion: "v1", Kind: "ConfigMap"}
	named := func(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name} }
	// vap is a valid validating policy changed by edit.
	vapNamed := func(name string, edit func(*vapSpec)) runtime.Object {
		p := &admissionregistrationv1.ValidatingAdmissionPolicy{ObjectMeta: named(name), Spec: vapSpec{MatchConstraints: rules("CREATE"),
			Validations: []admissionregistrationv1.Validation{{Expression: "object.spec.replicas < 10"}}}}
		if edit != nil {
			edit(&p.Spec)
		}
		return p
	}
	vap := func(edit func(*vapSpec)) runtime.Object { return vapNamed("policy", edit) }
	validations := func(vs ...admissionregistrationv1.Validation) func(*vapSpec) {
		return func(s *vapSpec) { s.Validations = vs }
	}
	audits := func(as ...admissionregistrationv1.AuditAnnotation) func(*vapSpec) {
		return func(s *vapSpec) { s.Validations, s.AuditAnnotations = nil, as }
	}
	conditions := func(paramKind *admissionregistrationv1.ParamKind, cs ...admissionregistrationv1.MatchCondition) func(*vapSpec) {
		return func(s *vapSpec) { s.ParamKind, s.MatchConditions = paramKind, cs }
	}
	// mp is a valid mutating policy changed by edit.
	mp := func(edit func(*mapSpec)) runtime.Object {
		p := &admissionregistrationv1.MutatingAdmissionPolicy{ObjectMeta: named("policy"), Spec: mapSpec{MatchConstraints: rules("CREATE"),
			ReinvocationPolicy: admissionregistrationv1.NeverReinvocationPolicy,
			Mutations: []mutation{{PatchType: admissionregistrationv1.PatchTypeApplyConfiguration,
				ApplyConfiguration: &admissionregistrationv1.ApplyConfiguration{Expression: `Object{metadata: Object.metadata{labels: {"a": "b"}}}`}}}}}
		if edit != nil {
			edit(&p.Spec)
		}
		return p
	}
	mutations := func(ms ...mutation) func(*mapSpec) { return func(s *mapSpec) { s.Mutations = ms } }
	jsonPatch := func(expr string) mutation {
		return mutation{PatchType: admissionregistrationv1.PatchTypeJSONPatch, JSONPatch: &admissionregistrationv1.JSONPatch{Expression: expr}}
	}
	apply := func(expr string) mutation {
		return mutation{PatchType: admissionregistrationv1.PatchTypeApplyConfiguration, ApplyConfiguration: &admissionregistrationv1.ApplyConfiguration{Expression: expr}}
	}
	vb := func(edit func(*vbSpec)) runtime.Object {
		b := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{ObjectMeta: named("binding"), Spec: vbSpec{PolicyName: "policy",
			ValidationActions: actions{deny}}}
		if edit != nil {
			edit(&b.Spec)
		}
		return b
	}
	mb := func(edit func(*mbSpec)) runtime.Object {
		b := &admissionregistrationv1.MutatingAdmissionPolicyBinding{ObjectMeta: named("binding"), Spec: mbSpec{PolicyName: "policy"}}
		if edit != nil {
			edit(&b.Spec)
		}
		return b
	}
	paramRef := func(r admissionregistrationv1.ParamRef) func(*vbSpec) {
		return func(s *vbSpec) { s.ParamRef = &r }
	}
	manyAudits := make([]admissionregistrationv1.AuditAnnotation, 21)
	for i := range manyAudits {
		manyAudits[i] = admissionregistrationv1.AuditAnnotation{Key: "k" + strconv.Itoa(i), ValueExpression: "'v'"}
	}
	badValue := `"b c": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`
	badSelector := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "a", Operator: "In", Values: []string{"b c"}}}}
	// [1].includes(1) compiles only among stored expressions (kube 1.37's
	// lists library, not in the 1.36 environment of new ones).
	const stored = "[1].includes(1)"
	includes := func(col int) string {
		return "compilation failed: ERROR: <input>:1:" + strconv.Itoa(col) + ": undeclared reference to 'includes' (in container '')\n | " + stored + "\n | " +
			strings.Repeat(".", col-1) + "^"
	}

	for _, c := range []struct {
		name     string
		hooks    *registry.Hooks
		obj, old runtime.Object // old nil for a create
		want     string         // the errors, one a line; "" for valid
	}{
		// ValidatingAdmissionPolicy
		{"valid validating policy", validatingPolicyHooks, vap(func(s *vapSpec) {
			s.ParamKind = configMaps
			s.MatchConditions = []admissionregistrationv1.MatchCondition{{Name: "has-params", Expression: "params.data.size() > 0"}}
			s.Variables = []admissionregistrationv1.Variable{{Name: "limit", Expression: "int(params.data.limit)"}}
			s.Validations = []admissionregistrationv1.Validation{{Expression: "object.spec.replicas < variables.limit",
				MessageExpression: "'at most ' + string(variables.limit) + params.data.unit", Reason: ptr(metav1.StatusReasonInvalid)}}
			s.AuditAnnotations = []admissionregistrationv1.AuditAnnotation{{Key: "replicas", ValueExpression: "string(object.spec.replicas)"}}
		}), nil, ""},
		{"valid update", validatingPolicyHooks, vap(nil), vap(nil), ""},
		{"no validations nor audit annotations", validatingPolicyHooks, vap(validations()), nil,
			"spec.validations: Required value: validations or auditAnnotations must contain at least one item\n" +
				"spec.auditAnnotations: Required value: validations or auditAnnotations must contain at least one item"},
		{"unknown failure policy", validatingPolicyHooks, vap(func(s *vapSpec) { s.FailurePolicy = ptr(admissionregistrationv1.FailurePolicyType("other")) }), nil,
			`spec.failurePolicy: Unsupported value: "other": supported values: "Fail", "Ignore"`},
		{"paramKind of three parts and a bad kind", validatingPolicyHooks, vap(func(s *vapSpec) {
			s.ParamKind = &admissionregistrationv1.ParamKind{APIVersion: "a/b/c", Kind: "4Kind"}
		}), nil,
			`spec.paramKind.apiVersion: Invalid value: "a/b/c": unexpected GroupVersion string: a/b/c` + "\n" +
				`spec.paramKind.kind: Invalid value: "4Kind": may have mixed case, but should otherwise match: a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')`},
		{"paramKind without a version", validatingPolicyHooks, vap(func(s *vapSpec) {
			s.ParamKind = &admissionregistrationv1.ParamKind{APIVersion: "Example.com/"}
		}), nil,
			`spec.paramKind.apiVersion: Invalid value: "Example.com": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')` + "\n" +
				`spec.paramKind.apiVersion: Invalid value: "Example.com/": version must be specified` + "\n" +
				`spec.paramKind.kind: Required value`},
		{"no matchConstraints", validatingPolicyHooks, vap(func(s *vapSpec) { s.MatchConstraints = nil }), nil,
			`spec.matchConstraints: Required value`},
		{"no resource rules, a bad selector", validatingPolicyHooks, vap(func(s *vapSpec) {
			s.MatchConstraints = &admissionregistrationv1.MatchResources{ObjectSelector: badSelector}
		}), nil,
			`spec.matchConstraints.objectSelector.matchExpressions[0].values[0]: Invalid value: ` + badValue + "\n" +
				`spec.matchConstraints.resourceRules: Required value`},
		{"resource names", validatingPolicyHooks, vap(func(s *vapSpec) {
			s.MatchConstraints.ResourceRules[0].ResourceNames = []string{"..", "a/b", "x", "x"}
			s.MatchConstraints.ExcludeResourceRules = []rule{{}}
		}), nil,
			`spec.matchConstraints.resourceRules[0].resourceNames[0]: Invalid value: "..": may not be '..'` + "\n" +
				`spec.matchConstraints.resourceRules[0].resourceNames[1]: Invalid value: "a/b": may not contain '/'` + "\n" +
				`spec.matchConstraints.resourceRules[0].resourceNames[3]: Duplicate value: "x"` + "\n" +
				`spec.matchConstraints.excludeResourceRules[0].operations: Required value` + "\n" +
				`spec.matchConstraints.excludeResourceRules[0].apiGroups: Required value` + "\n" +
				`spec.matchConstraints.excludeResourceRules[0].apiVersions: Required value` + "\n" +
				`spec.matchConstraints.excludeResourceRules[0].resources: Required value`},
		{"params in a match condition without a paramKind", validatingPolicyHooks, vap(conditions(nil,
			admissionregistrationv1.MatchCondition{Name: "p", Expression: "params.x == 1"})), nil,
			"spec.matchConditions[0].expression: Invalid value: \"params.x == 1\": compilation failed: ERROR: <input>:1:1: undeclared reference to 'params' (in container '')\n | params.x == 1\n | ^"},
		{"match conditions: names, a duplicate, no expression", validatingPolicyHooks, vap(conditions(configMaps,
			admissionregistrationv1.MatchCondition{Name: "-a", Expression: "params.x == 1"}, admissionregistrationv1.MatchCondition{Name: "-a", Expression: " "},
			admissionregistrationv1.MatchCondition{Expression: "1"})), nil,
			`spec.matchConditions[0].name: Invalid value: "-a": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')` + "\n" +
				`spec.matchConditions[1].expression: Required value` + "\n" +
				`spec.matchConditions[1].name: Invalid value: "-a": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')` + "\n" +
				`spec.matchConditions[1].name: Duplicate value: "-a"` + "\n" +
				`spec.matchConditions[2].expression: Invalid value: "1": must evaluate to bool but got int` + "\n" +
				`spec.matchConditions[2].name: Required value`},
		{"variables: names, expressions, no duplicate check", validatingPolicyHooks, vap(func(s *vapSpec) {
			s.Variables = []admissionregistrationv1.Variable{{Name: "4ever", Expression: "1"}, {Name: " ", Expression: " "},
				{Name: "in", Expression: "114 + '514'"}, {Name: "a", Expression: "variables.foo + 1"}, {Name: "a", Expression: "2"}}
		}), nil,
			`spec.variables[0].name: Invalid value: "4ever": must be a valid CEL identifier` + "\n" +
				`spec.variables[1].name: Required value: name is not specified` + "\n" +
				`spec.variables[1].expression: Required value: expression is not specified` + "\n" +
				`spec.variables[2].name: Invalid value: "in": must be a valid CEL identifier` + "\n" +
				"spec.variables[2].expression: Invalid value: \"114 + '514'\": compilation failed: ERROR: <input>:1:5: found no matching overload for '_+_' applied to '(int, string)'\n | 114 + '514'\n | ....^" + "\n" +
				"spec.variables[3].expression: Invalid value: \"variables.foo + 1\": compilation failed: ERROR: <input>:1:10: undefined field 'foo'\n | variables.foo + 1\n | .........^"},
		{"variables used where there are none", validatingPolicyHooks, vap(validations(admissionregistrationv1.Validation{Expression: "variables.a"})), nil,
			"spec.validations[0].expression: Invalid value: \"variables.a\": compilation failed: ERROR: <input>:1:1: undeclared reference to 'variables' (in container '')\n | variables.a\n | ^"},
		{"validations: expression, messages, reason", validatingPolicyHooks, vap(validations(
			admissionregistrationv1.Validation{Expression: " ", MessageExpression: " ", Message: " "},
			admissionregistrationv1.Validation{Expression: "true", MessageExpression: "1", Message: "a\nb", Reason: ptr(metav1.StatusReasonUnauthorized)},
			admissionregistrationv1.Validation{Expression: "'a'", MessageExpression: "authorizer.path('/').check('get').reason()"})), nil,
			`spec.validations[0].expression: Required value: expression is not specified` + "\n" +
				`spec.validations[0].messageExpression: Invalid value: " ": must be non-empty if specified` + "\n" +
				`spec.validations[0].message: Invalid value: " ": must be non-empty if specified` + "\n" +
				`spec.validations[1].messageExpression: Invalid value: "1": must evaluate to string but got int` + "\n" +
				`spec.validations[1].message: Invalid value: "a\nb": must not contain line breaks` + "\n" +
				`spec.validations[1].reason: Unsupported value: "Unauthorized": supported values: "Forbidden", "Invalid", "RequestEntityTooLarge"` + "\n" +
				`spec.validations[2].expression: Invalid value: "'a'": must evaluate to bool but got string` + "\n" +
				"spec.validations[2].messageExpression: Invalid value: \"authorizer.path('/').check('get').reason()\": compilation failed: ERROR: <input>:1:1: undeclared reference to 'authorizer' (in container '')\n | authorizer.path('/').check('get').reason()\n | ^"},
		{"audit annotations", validatingPolicyHooks, vap(audits(
			admissionregistrationv1.AuditAnnotation{Key: "@", ValueExpression: " "},
			admissionregistrationv1.AuditAnnotation{Key: "a", ValueExpression: "true"},
			admissionregistrationv1.AuditAnnotation{Key: "a", ValueExpression: " " + strings.Repeat("x", 5*1024+1)})), nil,
			`spec.auditAnnotations[0].key: Invalid value: "policy/@": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')` + "\n" +
				`spec.auditAnnotations[0].valueExpression: Required value: valueExpression is not specified` + "\n" +
				`spec.auditAnnotations[1].valueExpression: Invalid value: "true": must evaluate to one of [string null_type] but got bool` + "\n" +
				`spec.auditAnnotations[2].valueExpression: Required value: must not exceed 5120 bytes in length` + "\n" +
				`spec.auditAnnotations[2].key: Duplicate value: "a"`},
		{"an audit annotation of a policy without a name", validatingPolicyHooks, vapNamed("", audits(admissionregistrationv1.AuditAnnotation{Key: "a", ValueExpression: "'v'"})), nil,
			`spec.auditAnnotations[0].key: Invalid value: "a": requires metadata.name be non-empty`},
		{"too many audit annotations", validatingPolicyHooks, vap(audits(manyAudits...)), nil,
			`spec.auditAnnotations: Invalid value: [{"Key":"k0","ValueExpression":"'v'"},{"Key":"k1","ValueExpression":"'v'"},{"Key":"k2","ValueExpression":"'v'"},{"Key":"k3","ValueExpression":"'v'"},{"Key":"k4","ValueExpression":"'v'"},{"Key":"k5","ValueExpression":"'v'"},{"Key":"k6","ValueExpression":"'v'"},{"Key":"k7","ValueExpression":"'v'"},{"Key":"k8","ValueExpression":"'v'"},{"Key":"k9","ValueExpression":"'v'"},{"Key":"k10","ValueExpression":"'v'"},{"Key":"k11","ValueExpression":"'v'"},{"Key":"k12","ValueExpression":"'v'"},{"Key":"k13","ValueExpression":"'v'"},{"Key":"k14","ValueExpression":"'v'"},{"Key":"k15","ValueExpression":"'v'"},{"Key":"k16","ValueExpression":"'v'"},{"Key":"k17","ValueExpression":"'v'"},{"Key":"k18","ValueExpression":"'v'"},{"Key":"k19","ValueExpression":"'v'"},{"Key":"k20","ValueExpression":"'v'"}]: must not have more than 20 auditAnnotations`},
		{"a stored expression is new on a create", validatingPolicyHooks, vap(validations(admissionregistrationv1.Validation{Expression: stored})), nil,
			`spec.validations[0].expression: Invalid value: "[1].includes(1)": ` + includes(13)},
		{"an update keeps stored expressions", validatingPolicyHooks,
			vap(func(s *vapSpec) {
				s.MatchConditions = []admissionregistrationv1.MatchCondition{{Name: "-bad", Expression: "1"}}
				s.Validations = []admissionregistrationv1.Validation{{Expression: stored, MessageExpression: "string(" + stored + ")"}}
				s.AuditAnnotations = []admissionregistrationv1.AuditAnnotation{{Key: "a", ValueExpression: "string(" + stored + ")"}}
			}),
			vap(func(s *vapSpec) {
				s.MatchConditions = []admissionregistrationv1.MatchCondition{{Name: "-bad", Expression: "1"}}
				s.Validations = []admissionregistrationv1.Validation{{Expression: "true"}, {Expression: stored, MessageExpression: "string(" + stored + ")"}}
				s.AuditAnnotations = []admissionregistrationv1.AuditAnnotation{{Key: "a", ValueExpression: "string(" + stored + ")"}}
			}), ""},
		{"an update rechecks match conditions when the paramKind goes", validatingPolicyHooks,
			vap(conditions(nil, admissionregistrationv1.MatchCondition{Name: "p", Expression: "params.x == 1"})),
			vap(conditions(configMaps, admissionregistrationv1.MatchCondition{Name: "p", Expression: "params.x == 1"})),
			"spec.matchConditions[0].expression: Invalid value: \"params.x == 1\": compilation failed: ERROR: <input>:1:1: undeclared reference to 'params' (in container '')\n | params.x == 1\n | ^"},
		{"an update compiles a changed match condition in the new environment", validatingPolicyHooks,
			vap(conditions(nil, admissionregistrationv1.MatchCondition{Name: "a", Expression: stored}, admissionregistrationv1.MatchCondition{Name: "b", Expression: stored + " && true"})),
			vap(conditions(nil, admissionregistrationv1.MatchCondition{Name: "a", Expression: stored})),
			"spec.matchConditions[1].expression: Invalid value: \"[1].includes(1) && true\": compilation failed: ERROR: <input>:1:13: undeclared reference to 'includes' (in container '')\n | [1].includes(1) && true\n | ............^"},
		{"a stored variable is looked up among the validations", validatingPolicyHooks,
			vap(func(s *vapSpec) { s.Variables = []admissionregistrationv1.Variable{{Name: "v", Expression: stored}} }),
			vap(func(s *vapSpec) { s.Variables = []admissionregistrationv1.Variable{{Name: "v", Expression: stored}} }),
			`spec.variables[0].expression: Invalid value: "[1].includes(1)": ` + includes(13)},
		{"static suffix", validatingPolicyHooks, vapNamed("a.static.k8s.io", nil), nil,
			`metadata.name: Invalid value: "a.static.k8s.io": names ending with ".static.k8s.io" are reserved for static manifest-based configurations and cannot be managed via the API`},
		{"static suffix on an update", validatingPolicyHooks, vapNamed("a.static.k8s.io", nil), vapNamed("a.static.k8s.io", nil), ""},

		// MutatingAdmissionPolicy
		{"valid mutating policy", mutatingPolicyHooks, mp(func(s *mapSpec) {
			s.ParamKind = configMaps
			s.MatchConstraints = rules("*")
			s.Variables = []admissionregistrationv1.Variable{{Name: "n", Expression: "params.data.n"}}
			s.Mutations = append(s.Mutations, jsonPatch(`[JSONPatch{op: "add", path: "/metadata/labels/n", value: variables.n}]`))
		}), nil, ""},
		{"no mutations, no reinvocation policy", mutatingPolicyHooks, mp(func(s *mapSpec) { s.Mutations, s.ReinvocationPolicy = nil, "" }), nil,
			"spec.mutations: Required value: mutations must contain at least one item\n" +
				"spec.reinvocationPolicy: Required value"},
		{"unknown reinvocation policy", mutatingPolicyHooks, mp(func(s *mapSpec) { s.ReinvocationPolicy = "Always" }), nil,
			`spec.reinvocationPolicy: Unsupported value: "Always": supported values: "IfNeeded", "Never"`},
		{"a mutating policy matching DELETE", mutatingPolicyHooks, mp(func(s *mapSpec) { s.MatchConstraints = rules("CREATE", "DELETE", "PATCH") }), nil,
			`spec.matchConstraints.resourceRules[0].operations[2]: Unsupported value: "PATCH": supported values: "*", "CONNECT", "CREATE", "DELETE", "UPDATE"` + "\n" +
				`spec.matchConstraints.resourceRules.operations: Unsupported value: "DELETE": supported values: "*", "CONNECT", "CREATE", "UPDATE"` + "\n" +
				`spec.matchConstraints.resourceRules.operations: Unsupported value: "PATCH": supported values: "*", "CONNECT", "CREATE", "UPDATE"`},
		{"patch types", mutatingPolicyHooks, mp(mutations(mutation{}, mutation{PatchType: "other"},
			mutation{PatchType: admissionregistrationv1.PatchTypeJSONPatch, ApplyConfiguration: &admissionregistrationv1.ApplyConfiguration{}},
			mutation{PatchType: admissionregistrationv1.PatchTypeApplyConfiguration, JSONPatch: &admissionregistrationv1.JSONPatch{Expression: "[]"}})), nil,
			`spec.mutations[0].patchType: Required value` + "\n" +
				`spec.mutations[1].patchType: Unsupported value: "other": supported values: "ApplyConfiguration", "JSONPatch"` + "\n" +
				`spec.mutations[2].jsonPatch: Required value: must be specified when patchType is JSONPatch` + "\n" +
				`spec.mutations[2].applyConfiguration: Invalid value: "{applyConfiguration}": must not be specified when patchType is JSONPatch` + "\n" +
				`spec.mutations[3].applyConfiguration: Required value: must be specified when patchType is ApplyConfiguration` + "\n" +
				`spec.mutations[3].jsonPatch: Invalid value: "{jsonPatch}": must not be specified when patchType is ApplyConfiguration`},
		{"patch expressions", mutatingPolicyHooks, mp(mutations(apply(" 1 < 2 "), jsonPatch(" "), apply("variables.x"))), nil,
			`spec.mutations[0].applyConfiguration.expression: Invalid value: "1 < 2": must evaluate to Object but got bool` + "\n" +
				`spec.mutations[1].jsonPatch.expression: Required value` + "\n" +
				"spec.mutations[2].applyConfiguration.expression: Invalid value: \"variables.x\": compilation failed: ERROR: <input>:1:10: undefined field 'x'\n | variables.x\n | .........^"},
		{"an update keeps a stored ApplyConfiguration, not a JSONPatch", mutatingPolicyHooks,
			mp(mutations(apply("Object{metadata: Object.metadata{labels: {'a': string("+stored+")}}}"), jsonPatch("("+stored+") ? [] : []"))),
			mp(mutations(apply("Object{metadata: Object.metadata{labels: {'a': string("+stored+")}}}"), jsonPatch("("+stored+") ? [] : []"))),
			"spec.mutations[1].jsonPatch.expression: Invalid value: \"([1].includes(1)) ? [] : []\": compilation failed: ERROR: <input>:1:14: undeclared reference to 'includes' (in container '')\n | ([1].includes(1)) ? [] : []\n | .............^"},
		{"a mutating policy with params in a match condition and a bad paramKind", mutatingPolicyHooks, mp(func(s *mapSpec) {
			s.ParamKind = &admissionregistrationv1.ParamKind{APIVersion: "v1"}
			s.MatchConditions = []admissionregistrationv1.MatchCondition{{Name: "p", Expression: "params.x == 1"}}
		}), nil, `spec.paramKind.kind: Required value`},

		// ValidatingAdmissionPolicyBinding
		{"valid binding", validatingBindingHooks, vb(func(s *vbSpec) {
			s.ValidationActions = actions{deny, admissionregistrationv1.Audit}
			s.ParamRef = &admissionregistrationv1.ParamRef{Selector: &metav1.LabelSelector{}, ParameterNotFoundAction: ptr(admissionregistrationv1.AllowAction)}
			s.MatchResources = rules("DELETE")
		}), nil, ""},
		{"valid binding update", validatingBindingHooks, vb(nil), vb(nil), ""},
		{"actions: unknown, duplicate, Deny and Warn", validatingBindingHooks, vb(func(s *vbSpec) { s.ValidationActions = actions{deny, warn, "x", deny, "x"} }), nil,
			`spec.validationActions[2]: Unsupported value: "x": supported values: "Audit", "Deny", "Warn"` + "\n" +
				`spec.validationActions[3]: Duplicate value: "Deny"` + "\n" +
				`spec.validationActions[4]: Unsupported value: "x": supported values: "Audit", "Deny", "Warn"` + "\n" +
				`spec.validationActions[4]: Duplicate value: "x"` + "\n" +
				`spec.validationActions: Invalid value: ["Deny","Warn","x","Deny","x"]: must not contain both Deny and Warn (repeating the same validation failure information in the API response and headers serves no purpose)`},
		{"no policy, no actions: the declarative errors last", validatingBindingHooks, vb(func(s *vbSpec) {
			s.PolicyName, s.ValidationActions = "", nil
			s.ParamRef = &admissionregistrationv1.ParamRef{Name: "p"}
		}), nil,
			"spec.paramRef.parameterNotFoundAction: Required value\nspec.policyName: Required value\nspec.validationActions: Required value"},
		{"an update keeping no actions: the handwritten error", validatingBindingHooks, vb(func(s *vbSpec) { s.ValidationActions = nil }),
			vb(func(s *vbSpec) { s.ValidationActions = actions{} }),
			"spec.validationActions: Required value: at least one validation action is required"},
		{"an update removing the actions", validatingBindingHooks, vb(func(s *vbSpec) { s.ValidationActions = nil }), vb(nil),
			"spec.validationActions: Required value"},
		{"a policy name that is no name", validatingBindingHooks, vb(func(s *vbSpec) { s.PolicyName = "Policy" }), nil,
			`spec.policyName: Invalid value: "Policy": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`},
		{"paramRef: name and selector", validatingBindingHooks, vb(paramRef(admissionregistrationv1.ParamRef{Name: "a/b", Selector: badSelector,
			ParameterNotFoundAction: ptr(admissionregistrationv1.ParameterNotFoundActionType("Ignore"))})), nil,
			`spec.paramRef.name: Invalid value: "a/b": may not contain '/'` + "\n" +
				`spec.paramRef.name: Forbidden: name and selector are mutually exclusive` + "\n" +
				`spec.paramRef.selector.matchExpressions[0].values[0]: Invalid value: ` + badValue + "\n" +
				`spec.paramRef.selector: Forbidden: name and selector are mutually exclusive` + "\n" +
				`spec.paramRef.parameterNotFoundAction: Unsupported value: "Ignore": supported values: "Deny", "Allow"`},
		{"paramRef: neither", validatingBindingHooks, vb(paramRef(admissionregistrationv1.ParamRef{ParameterNotFoundAction: ptr(admissionregistrationv1.DenyAction)})), nil,
			`spec.paramRef: Required value: one of name or selector must be specified`},
		{"binding's match resources", validatingBindingHooks, vb(func(s *vbSpec) {
			s.MatchResources = &admissionregistrationv1.MatchResources{NamespaceSelector: badSelector,
				MatchPolicy: ptr(admissionregistrationv1.MatchPolicyType("other"))}
		}), nil,
			`spec.matchResources.matchPolicy: Unsupported value: "other": supported values: "Equivalent", "Exact"` + "\n" +
				`spec.matchResources.namespaceSelector.matchExpressions[0].values[0]: Invalid value: ` + badValue},

		// MutatingAdmissionPolicyBinding
		{"valid mutating binding", mutatingBindingHooks, mb(func(s *mbSpec) { s.MatchResources = rules("CREATE", "UPDATE") }), nil, ""},
		{"mutating binding without a policy", mutatingBindingHooks, mb(func(s *mbSpec) {
			s.PolicyName = ""
			s.ParamRef = &admissionregistrationv1.ParamRef{Name: "p"}
		}), nil,
			"spec.policyName: Required value\nspec.paramRef.parameterNotFoundAction: Required value"},
		{"mutating binding matching DELETE", mutatingBindingHooks, mb(func(s *mbSpec) { s.MatchResources = rules("DELETE") }), nil,
			`spec.matchResources.resourceRules.operations: Unsupported value: "DELETE": supported values: "*", "CONNECT", "CREATE", "UPDATE"`},
	} {
		for _, o := range []runtime.Object{c.obj, c.old} {
			if o != nil {
				c.hooks.Default(o)
			}
		}
		var got []string
		for _, e := range c.hooks.Validate(c.obj, c.old) {
			got = append(got, e.Error())
		}
		if g := strings.Join(got, "\n"); g != c.want {
			t.Errorf("%s:\n got: %s\nwant: %s", c.name, g, c.want)
		}
	}
}

// TestPolicyStrategy: what kube's strategies add to the validation: no
// default reinvocation policy, warnings of the static suffix on updates,
// the checks of a policy's status.
func TestPolicyStrategy(t *testing.T) {
	p := &admissionregistrationv1.MutatingAdmissionPolicy{}
	mutatingPolicyHooks.Default(p)
	if p.Spec.ReinvocationPolicy != "" || p.Spec.FailurePolicy == nil || *p.Spec.FailurePolicy != admissionregistrationv1.Fail {
		t.Errorf("defaults: %+v", p.Spec)
	}

	static := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: "a.static.k8s.io"}}
	if w := validatingBindingHooks.Warnings(static, nil); len(w) != 0 {
		t.Errorf("a create refused gets no warning: %v", w)
	}
	want := `metadata.name: names ending with ".static.k8s.io" are reserved for static manifest-based configurations and cannot be managed via the API`
	if w := validatingBindingHooks.Warnings(static, static); len(w) != 1 || w[0] != want {
		t.Errorf("update warnings: %v", w)
	}

	vap := &admissionregistrationv1.ValidatingAdmissionPolicy{Status: admissionregistrationv1.ValidatingAdmissionPolicyStatus{
		TypeChecking: &admissionregistrationv1.TypeChecking{ExpressionWarnings: []admissionregistrationv1.ExpressionWarning{
			{FieldRef: "spec.validations[0].expression", Warning: "w"}, {FieldRef: "spec.validations[foo]"}, {Warning: "w"}}}}}
	var got []string
	for _, e := range validateValidatingPolicyStatus(vap, vap) {
		got = append(got, e.Error())
	}
	if g, want := strings.Join(got, "\n"), "status.typeChecking.expressionWarnings[1].warning: Required value\n"+
		`status.typeChecking.expressionWarnings[1].fieldRef: Invalid value: "spec.validations[foo]": invalid JSONPath: invalid array index foo`+"\n"+
		"status.typeChecking.expressionWarnings[2].fieldRef: Required value"; g != want {
		t.Errorf("status:\n got: %s\nwant: %s", g, want)
	}
}
