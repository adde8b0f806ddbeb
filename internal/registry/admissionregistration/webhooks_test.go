package admissionregistration

import (
	"strconv"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// TestWebhookValidation: webhook configurations refused (or, on an
// update keeping what the stored one had, let through) with kube's
// messages, in kube's order.
func TestWebhookValidation(t *testing.T) {
	type vhook = admissionregistrationv1.ValidatingWebhook
	none, unknown := admissionregistrationv1.SideEffectClassNone, admissionregistrationv1.SideEffectClassUnknown
	// hook is a valid validating webhook changed by edit.
	hook := func(edit func(*vhook)) vhook {
		h := vhook{Name: "webhook.k8s.io", ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: ptr("https://example.com")},
			SideEffects: &none, AdmissionReviewVersions: []string{"v1"},
			Rules: []admissionregistrationv1.RuleWithOperations{{Operations: []admissionregistrationv1.OperationType{"CREATE"},
				Rule: admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}}}}}
		if edit != nil {
			edit(&h)
		}
		return h
	}
	named := func(name string, hooks ...vhook) *admissionregistrationv1.ValidatingWebhookConfiguration {
		return &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: name}, Webhooks: hooks}
	}
	vwc := func(hooks ...vhook) *admissionregistrationv1.ValidatingWebhookConfiguration {
		return named("config", hooks...)
	}
	with := func(edit func(*vhook)) *admissionregistrationv1.ValidatingWebhookConfiguration {
		return vwc(hook(edit))
	}
	mwc := func(rp *admissionregistrationv1.ReinvocationPolicyType) *admissionregistrationv1.MutatingWebhookConfiguration {
		h := hook(nil)
		return &admissionregistrationv1.MutatingWebhookConfiguration{Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name: h.Name, ClientConfig: h.ClientConfig, SideEffects: h.SideEffects, AdmissionReviewVersions: h.AdmissionReviewVersions,
			Rules: h.Rules, ReinvocationPolicy: rp}}}
	}
	rule := func(r admissionregistrationv1.Rule, ops ...admissionregistrationv1.OperationType) func(*vhook) {
		return func(h *vhook) { h.Rules = []admissionregistrationv1.RuleWithOperations{{Operations: ops, Rule: r}} }
	}
	resources := func(rs ...string) func(*vhook) {
		return rule(admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: rs}, "CREATE")
	}
	versions := func(vs ...string) func(*vhook) { return func(h *vhook) { h.AdmissionReviewVersions = vs } }
	conditions := func(cs ...admissionregistrationv1.MatchCondition) func(*vhook) {
		return func(h *vhook) { h.MatchConditions = cs }
	}
	selector := func(values ...string) *metav1.LabelSelector {
		return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "a", Operator: "In", Values: values}}}
	}
	tooMany := make([]admissionregistrationv1.MatchCondition, 65)
	for i := range tooMany {
		tooMany[i] = admissionregistrationv1.MatchCondition{Name: "c" + strconv.Itoa(i), Expression: "true"}
	}
	badValue := `"b c": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`
	badName := `"-hello": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`

	for _, c := range []struct {
		name     string
		obj, old runtime.Object // old nil for a create
		want     string         // the errors, one a line; "" for valid
	}{
		{"valid validating", vwc(hook(nil)), nil, ""},
		{"valid mutating", mwc(nil), nil, ""},
		{"valid update", vwc(hook(nil)), vwc(hook(nil)), ""},
		{"name of two segments", with(func(h *vhook) { h.Name = "k8s.io" }), nil,
			`webhooks[0].name: Invalid value: "k8s.io": should be a domain with at least three segments separated by dots`},
		{"no name", with(func(h *vhook) { h.Name = "" }), nil, `webhooks[0].name: Required value`},
		{"duplicate names", vwc(hook(nil), hook(nil)), nil, `webhooks[1].name: Duplicate value: "webhook.k8s.io"`},
		{"no operations", with(rule(admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}})), nil,
			`webhooks[0].rules[0].operations: Required value`},
		{"'*' and other operations", with(rule(admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}}, "*", "PATCH")), nil,
			`webhooks[0].rules[0].operations: Invalid value: ["*","PATCH"]: if '*' is present, must not specify other operations` + "\n" +
				`webhooks[0].rules[0].operations[1]: Unsupported value: "PATCH": supported values: "*", "CONNECT", "CREATE", "DELETE", "UPDATE"`},
		{"groups and versions", with(rule(admissionregistrationv1.Rule{APIGroups: []string{"*", "apps"}, APIVersions: []string{"*", ""}, Resources: []string{"pods"},
			Scope: ptr(admissionregistrationv1.ScopeType("other"))}, "CREATE")), nil,
			`webhooks[0].rules[0].apiGroups: Invalid value: ["*","apps"]: if '*' is present, must not specify other API groups` + "\n" +
				`webhooks[0].rules[0].apiVersions: Invalid value: ["*",""]: if '*' is present, must not specify other API versions` + "\n" +
				`webhooks[0].rules[0].apiVersions[1]: Required value` + "\n" +
				`webhooks[0].rules[0].scope: Unsupported value: "other": supported values: "*", "Cluster", "Namespaced"`},
		{"no groups, versions, resources", with(rule(admissionregistrationv1.Rule{}, "CREATE")), nil,
			"webhooks[0].rules[0].apiGroups: Required value\nwebhooks[0].rules[0].apiVersions: Required value\nwebhooks[0].rules[0].resources: Required value"},
		{"'*/*' and others", with(resources("*/*", "a", "")), nil,
			`webhooks[0].rules[0].resources[2]: Required value` + "\n" +
				`webhooks[0].rules[0].resources: Invalid value: ["*/*","a",""]: if '*/*' is present, must not specify other resources`},
		{"'a/*' and 'a/x'", with(resources("a/*", "a/x")), nil,
			`webhooks[0].rules[0].resources[1]: Invalid value: "a/x": if 'a/*' is present, must not specify a/x`},
		{"'*/a' and 'x/a'", with(resources("*/a", "x/a")), nil,
			`webhooks[0].rules[0].resources[1]: Invalid value: "x/a": if '*/a' is present, must not specify x/a`},
		{"'*' and a resource", with(resources("*", "a")), nil,
			`webhooks[0].rules[0].resources: Invalid value: ["*","a"]: if '*' is present, must not specify other resources without subresources`},
		{"'*' after a resource", with(resources("a", "*")), nil, ""}, // kube's: the last resource decides
		{"'*' and subresources", with(resources("*", "a/b")), nil, ""},
		{"policies", with(func(h *vhook) {
			h.FailurePolicy = ptr(admissionregistrationv1.FailurePolicyType("other"))
			h.MatchPolicy = ptr(admissionregistrationv1.MatchPolicyType("other"))
		}), nil, `webhooks[0].failurePolicy: Unsupported value: "other": supported values: "Fail", "Ignore"` + "\n" +
			`webhooks[0].matchPolicy: Unsupported value: "other": supported values: "Equivalent", "Exact"`},
		{"no side effects", with(func(h *vhook) { h.SideEffects = nil }), nil, `webhooks[0].sideEffects: Required value: must specify one of None, NoneOnDryRun`},
		{"empty side effects", with(func(h *vhook) { h.SideEffects = ptr(admissionregistrationv1.SideEffectClass("")) }), nil,
			`webhooks[0].sideEffects: Unsupported value: "": supported values: "None", "NoneOnDryRun"`},
		{"unknown side effects", with(func(h *vhook) { h.SideEffects = &unknown }), nil,
			`webhooks[0].sideEffects: Unsupported value: "Unknown": supported values: "None", "NoneOnDryRun"`},
		{"unknown side effects kept", with(func(h *vhook) { h.SideEffects = &unknown }), with(func(h *vhook) { h.SideEffects = &unknown }), ""},
		{"side effects on an update", with(func(h *vhook) { h.SideEffects = ptr(admissionregistrationv1.SideEffectClass("other")) }),
			with(func(h *vhook) { h.SideEffects = &unknown }),
			`webhooks[0].sideEffects: Unsupported value: "other": supported values: "None", "NoneOnDryRun", "Some", "Unknown"`},
		{"timeout 0", with(func(h *vhook) { h.TimeoutSeconds = ptr(int32(0)) }), nil,
			`webhooks[0].timeoutSeconds: Invalid value: 0: the timeout value must be between 1 and 30 seconds`},
		{"timeout 31", with(func(h *vhook) { h.TimeoutSeconds = ptr(int32(31)) }), nil,
			`webhooks[0].timeoutSeconds: Invalid value: 31: the timeout value must be between 1 and 30 seconds`},
		{"selectors", with(func(h *vhook) {
			h.NamespaceSelector = selector("b c")
			h.ObjectSelector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "a", Operator: "Is"}}}
		}), nil, `webhooks[0].namespaceSelector.matchExpressions[0].values[0]: Invalid value: ` + badValue + "\n" +
			`webhooks[0].objectSelector.matchExpressions[0].operator: Invalid value: "Is": not a valid selector operator`},
		{"invalid label value kept", with(func(h *vhook) { h.ObjectSelector = selector("d e") }),
			with(func(h *vhook) { h.NamespaceSelector = selector("b c") }), ""},
		{"reinvocation policy", mwc(ptr(admissionregistrationv1.ReinvocationPolicyType("sometimes"))), nil,
			`webhooks[0].reinvocationPolicy: Unsupported value: "sometimes": supported values: "IfNeeded", "Never"`},
		{"url and service", with(func(h *vhook) {
			h.ClientConfig.Service = &admissionregistrationv1.ServiceReference{Namespace: "ns", Name: "n"}
		}), nil, `webhooks[0].clientConfig: Required value: exactly one of url or service is required`},
		{"url without host", with(func(h *vhook) { h.ClientConfig.URL = ptr("https://") }), nil,
			`webhooks[0].clientConfig.url: Invalid value: "": host must be specified; desired format: https://host[/path]`},
		{"service path and port", with(func(h *vhook) {
			h.ClientConfig = admissionregistrationv1.WebhookClientConfig{Service: &admissionregistrationv1.ServiceReference{
				Namespace: "ns", Name: "n", Path: ptr("foo/"), Port: ptr(int32(0))}}
		}), nil, `webhooks[0].clientConfig.service.port: Invalid value: 0: port is not valid: must be between 1 and 65535, inclusive` + "\n" +
			`webhooks[0].clientConfig.service.path: Invalid value: "foo/": must start with a '/'`},
		{"no review versions", with(versions()), nil, `webhooks[0].admissionReviewVersions: Required value: must specify one of v1, v1beta1`},
		{"review versions", with(versions("0v", "0v", "invalid-v1")), nil,
			`webhooks[0].admissionReviewVersions[0]: Invalid value: "0v": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')` + "\n" +
				`webhooks[0].admissionReviewVersions[1]: Invalid value: "0v": duplicate version` + "\n" +
				`webhooks[0].admissionReviewVersions: Invalid value: ["0v","0v","invalid-v1"]: must include at least one of v1, v1beta1`},
		{"unrecognized review versions kept", with(versions("invalid-v1")), with(versions("invalid-v0")), ""},
		{"unrecognized review versions on an update", with(versions("invalid-v1")), with(versions("v1beta1", "invalid-v1")),
			`webhooks[0].admissionReviewVersions: Invalid value: ["invalid-v1"]: must include at least one of v1, v1beta1`},
		{"duplicate names kept", vwc(hook(nil), hook(nil)), vwc(hook(nil), hook(nil)), ""},
		{"duplicate names on an update", vwc(hook(nil), hook(nil)), vwc(hook(nil)), `webhooks[1].name: Duplicate value: "webhook.k8s.io"`},
		{"too many conditions", with(conditions(tooMany...)), nil, `webhooks[0].matchConditions: Too many: 65: must have at most 64 items`},
		{"conditions", with(conditions(admissionregistrationv1.MatchCondition{Expression: " "},
			admissionregistrationv1.MatchCondition{Name: "-hello", Expression: "6"},
			admissionregistrationv1.MatchCondition{Name: "-hello", Expression: "true"})), nil,
			`webhooks[0].matchConditions[0].expression: Required value` + "\n" +
				`webhooks[0].matchConditions[0].name: Required value` + "\n" +
				`webhooks[0].matchConditions[1].expression: Invalid value: "6": must evaluate to bool but got int` + "\n" +
				`webhooks[0].matchConditions[1].name: Invalid value: ` + badName + "\n" +
				`webhooks[0].matchConditions[2].name: Invalid value: ` + badName + "\n" +
				`webhooks[0].matchConditions[2].name: Duplicate value: "-hello"`},
		{"condition that does not compile", with(conditions(admissionregistrationv1.MatchCondition{Name: "c", Expression: "object.x in [1, 2,"})), nil,
			`webhooks[0].matchConditions[0].expression: Invalid value: "object.x in [1, 2,": compilation failed: ERROR: <input>:1:19: Syntax error: missing ']' at '<EOF>'` +
				"\n | object.x in [1, 2,\n | ..................^"},
		{"invalid conditions kept", with(conditions(admissionregistrationv1.MatchCondition{Expression: "6"})),
			with(conditions(admissionregistrationv1.MatchCondition{Expression: "6"})), ""},
		{"changed conditions", with(conditions(admissionregistrationv1.MatchCondition{Name: "c", Expression: "7"})),
			with(conditions(admissionregistrationv1.MatchCondition{Name: "c", Expression: "6"})),
			`webhooks[0].matchConditions[0].expression: Invalid value: "7": must evaluate to bool but got int`},
		// includes() is in the environment of stored expressions only.
		{"stored expression", vwc(hook(conditions(admissionregistrationv1.MatchCondition{Name: "c", Expression: "[1].includes(1)"})), hook(func(h *vhook) { h.Name = "other.k8s.io" })),
			vwc(hook(conditions(admissionregistrationv1.MatchCondition{Name: "c", Expression: "[1].includes(1)"}))), ""},
		{"new expression", with(conditions(admissionregistrationv1.MatchCondition{Name: "c", Expression: "[1].includes(1)"})), nil,
			"webhooks[0].matchConditions[0].expression: Invalid value: \"[1].includes(1)\": compilation failed: ERROR: <input>:1:13: undeclared reference to 'includes' (in container '')\n | [1].includes(1)\n | ............^"},
		{"static suffix", named("a.static.k8s.io", hook(nil)), nil,
			`metadata.name: Invalid value: "a.static.k8s.io": names ending with ".static.k8s.io" are reserved for static manifest-based configurations and cannot be managed via the API`},
		{"static suffix on an update", named("a.static.k8s.io", hook(nil)), named("a.static.k8s.io", hook(nil)), ""},
		{"kube's order", vwc(hook(func(h *vhook) {
			h.Name = "x"
			h.ClientConfig.URL = nil
			h.TimeoutSeconds = ptr(int32(-1))
			h.SideEffects = nil
			h.AdmissionReviewVersions = nil
			h.MatchConditions = []admissionregistrationv1.MatchCondition{{Name: "c"}}
		}), hook(func(h *vhook) { h.Name = "x" })), nil,
			"webhooks[0].name: Invalid value: \"x\": should be a domain with at least three segments separated by dots\n" +
				"webhooks[0].sideEffects: Required value: must specify one of None, NoneOnDryRun\n" +
				"webhooks[0].timeoutSeconds: Invalid value: -1: the timeout value must be between 1 and 30 seconds\n" +
				"webhooks[0].clientConfig: Required value: exactly one of url or service is required\n" +
				"webhooks[0].matchConditions[0].expression: Required value\n" +
				"webhooks[0].admissionReviewVersions: Required value: must specify one of v1, v1beta1\n" +
				"webhooks[1].name: Invalid value: \"x\": should be a domain with at least three segments separated by dots\n" +
				"webhooks[1].name: Duplicate value: \"x\""},
	} {
		for _, o := range []runtime.Object{c.obj, c.old} {
			if o != nil {
				webhookHooks.Default(o)
			}
		}
		var got []string
		for _, e := range webhookHooks.Validate(c.obj, c.old) {
			got = append(got, e.Error())
		}
		if g := strings.Join(got, "\n"); g != c.want {
			t.Errorf("%s:\n got: %s\nwant: %s", c.name, g, c.want)
		}
	}
}

// TestWebhookWarnings: kube 1.37's WarningsOnCreate and WarningsOnUpdate
// of webhook configurations: a rule naming a virtual resource (not by a
// wildcard) has no effect; the static suffix is warned of on an update.
func TestWebhookWarnings(t *testing.T) {
	rule := func(groups, resources []string) admissionregistrationv1.RuleWithOperations {
		return admissionregistrationv1.RuleWithOperations{Rule: admissionregistrationv1.Rule{APIGroups: groups, Resources: resources}}
	}
	cfg := &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "w.static.k8s.io"},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{
			{Rules: []admissionregistrationv1.RuleWithOperations{rule([]string{"*"}, []string{"tokenreviews"}), rule([]string{"apps"}, []string{"deployments"})}},
			{Rules: []admissionregistrationv1.RuleWithOperations{
				rule([]string{"", "authorization.k8s.io"}, []string{"pods", "subjectaccessreviews", "selfsubjectrulesreviews", "subjectaccessreviews"}),
				rule([]string{"authentication.k8s.io"}, []string{"*"}),
				rule([]string{"authentication.k8s.io"}, []string{"tokenreviews", "tokenreviews/status"})}},
		}}
	virtual := []string{
		"webhooks[1].rules[0]: subjectaccessreviews.authorization.k8s.io is excluded from admission webhooks; this rule will have no effect",
		"webhooks[1].rules[0]: selfsubjectrulesreviews.authorization.k8s.io is excluded from admission webhooks; this rule will have no effect",
		"webhooks[1].rules[2]: tokenreviews.authentication.k8s.io is excluded from admission webhooks; this rule will have no effect",
	}
	if got := webhookHooks.Warnings(cfg, nil); strings.Join(got, "\n") != strings.Join(virtual, "\n") {
		t.Errorf("on create:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(virtual, "\n"))
	}
	want := append([]string{"metadata.name: " + staticSuffixMessage}, virtual...)
	if got := webhookHooks.Warnings(cfg, cfg); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("on update:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	mut := &admissionregistrationv1.MutatingWebhookConfiguration{Webhooks: []admissionregistrationv1.MutatingWebhook{
		{Rules: []admissionregistrationv1.RuleWithOperations{rule([]string{"authentication.k8s.io"}, []string{"selfsubjectreviews"})}}}}
	if got := webhookHooks.Warnings(mut, nil); len(got) != 1 || got[0] != "webhooks[0].rules[0]: selfsubjectreviews.authentication.k8s.io is excluded from admission webhooks; this rule will have no effect" {
		t.Errorf("a mutating configuration: %q", got)
	}
}
