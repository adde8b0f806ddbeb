package policy

import (
	"testing"

	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"kapi/internal/registry/fieldtest"
)

// pdbCase is a create (old nil) or an update of a budget's spec.
type pdbCase struct {
	name     string
	old, obj *policyv1.PodDisruptionBudgetSpec
	want     string
}

// pdbCases: kube 1.37's ValidatePodDisruptionBudget with the options the
// strategy computes, with its messages.
func pdbCases() []pdbCase {
	type spec = policyv1.PodDisruptionBudgetSpec
	v := func(x intstr.IntOrString) *intstr.IntOrString { return &x }
	policy := func(p policyv1.UnhealthyPodEvictionPolicyType) *policyv1.UnhealthyPodEvictionPolicyType { return &p }
	app := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
	// spaced is a selector whose only fault is a value with a space,
	// which AllowInvalidLabelValueInSelector lets through.
	spaced := func(value string) *metav1.LabelSelector {
		return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
			{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{value}}}}
	}
	badKey := &metav1.LabelSelector{MatchLabels: map[string]string{"bad key!": "v"}}
	labelValue := func(path, value string) string {
		return path + `: Invalid value: "` + value + `": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`
	}
	badKeyMsg := `spec.selector.matchLabels: Invalid value: "bad key!": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`
	return []pdbCase{
		{"min available", nil, &spec{MinAvailable: v(intstr.FromInt32(2)), Selector: app}, ""},
		{"max unavailable percent, always allow", nil, &spec{MaxUnavailable: v(intstr.FromString("50%")), Selector: app,
			UnhealthyPodEvictionPolicy: policy(policyv1.AlwaysAllow)}, ""},
		{"zero and 100%", nil, &spec{MinAvailable: v(intstr.FromString("100%")), Selector: &metav1.LabelSelector{},
			UnhealthyPodEvictionPolicy: policy(policyv1.IfHealthyBudget)}, ""},
		{"neither bound nor selector", nil, &spec{}, ""},
		{"both bounds", nil, &spec{MinAvailable: v(intstr.FromInt32(1)), MaxUnavailable: v(intstr.FromString("10%")), Selector: app},
			`spec: Invalid value: {"MinAvailable":1,"Selector":{"matchLabels":{"app":"web"}},"MaxUnavailable":"10%","UnhealthyPodEvictionPolicy":null}: minAvailable and maxUnavailable cannot be both set`},
		{"negative", nil, &spec{MinAvailable: v(intstr.FromInt32(-1))},
			"spec.minAvailable: Invalid value: -1: must be greater than or equal to 0"},
		{"over 100%", nil, &spec{MaxUnavailable: v(intstr.FromString("120%"))},
			`spec.maxUnavailable: Invalid value: "120%": must not be greater than 100%`},
		{"not a percent", nil, &spec{MaxUnavailable: v(intstr.FromString("half"))},
			`spec.maxUnavailable: Invalid value: "half": a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')`},
		{"negative percent", nil, &spec{MinAvailable: v(intstr.FromString("-10%"))},
			`spec.minAvailable: Invalid value: "-10%": a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')`},
		{"invalid label value", nil, &spec{Selector: spaced("front end")}, labelValue("spec.selector.matchExpressions[0].values[0]", "front end")},
		{"invalid label key", nil, &spec{Selector: badKey}, badKeyMsg},
		{"unknown eviction policy", nil, &spec{UnhealthyPodEvictionPolicy: policy("Sometimes")},
			`spec.unhealthyPodEvictionPolicy: Unsupported value: "Sometimes": supported values: "AlwaysAllow", "IfHealthyBudget"`},
		{"errors in kube's order", nil, &spec{MinAvailable: v(intstr.FromString("200%")), MaxUnavailable: v(intstr.FromInt32(-2)),
			Selector: badKey, UnhealthyPodEvictionPolicy: policy("Never")},
			`spec: Invalid value: {"MinAvailable":"200%","Selector":{"matchLabels":{"bad key!":"v"}},"MaxUnavailable":-2,"UnhealthyPodEvictionPolicy":"Never"}: minAvailable and maxUnavailable cannot be both set` + "\n" +
				`spec.minAvailable: Invalid value: "200%": must not be greater than 100%` + "\n" +
				"spec.maxUnavailable: Invalid value: -2: must be greater than or equal to 0\n" +
				badKeyMsg + "\n" +
				`spec.unhealthyPodEvictionPolicy: Unsupported value: "Never": supported values: "AlwaysAllow", "IfHealthyBudget"`},
		{"v1beta1's label dropped from a new selector", nil, &spec{Selector: &metav1.LabelSelector{
			MatchExpressions: []metav1.LabelSelectorRequirement{{Key: v1beta1SelectorLabel, Operator: "Sometimes"}}}}, ""},
		{"v1beta1's match-none selector kept", nil, &spec{Selector: matchNoneSelector.DeepCopy()}, ""},
		// Updates.
		{"update, valid", &spec{MinAvailable: v(intstr.FromInt32(1)), Selector: app},
			&spec{MaxUnavailable: v(intstr.FromInt32(1)), Selector: app}, ""},
		{"update keeps a stored selector's invalid value, and allows others", &spec{Selector: spaced("front end")},
			&spec{MinAvailable: v(intstr.FromInt32(1)), Selector: spaced("back end")}, ""},
		{"update relaxes values only, not keys", &spec{Selector: spaced("front end")}, &spec{Selector: badKey}, badKeyMsg},
		{"update checks a new invalid value", &spec{Selector: app}, &spec{Selector: spaced("front end")},
			labelValue("spec.selector.matchExpressions[0].values[0]", "front end")},
		{"update checks a stored bound again", &spec{MinAvailable: v(intstr.FromString("120%"))},
			&spec{MinAvailable: v(intstr.FromString("120%"))}, `spec.minAvailable: Invalid value: "120%": must not be greater than 100%`},
		{"update keeps v1beta1's label on a selector left as it was", &spec{Selector: &metav1.LabelSelector{
			MatchExpressions: []metav1.LabelSelectorRequirement{{Key: v1beta1SelectorLabel, Operator: "Sometimes"}}}},
			&spec{Selector: &metav1.LabelSelector{
				MatchExpressions: []metav1.LabelSelectorRequirement{{Key: v1beta1SelectorLabel, Operator: "Sometimes"}}}},
			`spec.selector.matchExpressions[0].operator: Invalid value: "Sometimes": not a valid selector operator`},
	}
}

func TestPDBSpecValidation(t *testing.T) {
	for _, c := range pdbCases() {
		t.Run(c.name, func(t *testing.T) {
			obj := &policyv1.PodDisruptionBudget{Spec: *c.obj}
			var old *policyv1.PodDisruptionBudget
			if c.old == nil {
				pdbHooks.PrepareCreate(obj)
			} else {
				old = &policyv1.PodDisruptionBudget{Spec: *c.old}
				pdbHooks.PrepareUpdate(obj, old)
			}
			if got := fieldtest.Lines(pdbHooks.Validate(obj, old)); got != c.want {
				t.Errorf("got\n%s\nwant\n%s", got, c.want)
			}
		})
	}
}

// TestPDBDropsV1beta1Label: kube's strategy drops v1beta1's label from a
// written selector, but not from its match-none selector, nor from a
// selector an update leaves as it was.
func TestPDBDropsV1beta1Label(t *testing.T) {
	label := metav1.LabelSelectorRequirement{Key: v1beta1SelectorLabel, Operator: metav1.LabelSelectorOpDoesNotExist}
	tier := metav1.LabelSelectorRequirement{Key: "tier", Operator: metav1.LabelSelectorOpExists}
	pdb := &policyv1.PodDisruptionBudget{Spec: policyv1.PodDisruptionBudgetSpec{Selector: &metav1.LabelSelector{
		MatchExpressions: []metav1.LabelSelectorRequirement{label, tier}}}}
	pdbHooks.PrepareCreate(pdb)
	if got := pdb.Spec.Selector.MatchExpressions; len(got) != 1 || got[0].Key != "tier" {
		t.Errorf("create: %v", got)
	}
	none := &policyv1.PodDisruptionBudget{Spec: policyv1.PodDisruptionBudgetSpec{Selector: matchNoneSelector.DeepCopy()}}
	pdbHooks.PrepareCreate(none)
	if got := none.Spec.Selector.MatchExpressions; len(got) != 1 {
		t.Errorf("match-none: %v", got)
	}
	old := &policyv1.PodDisruptionBudget{Spec: policyv1.PodDisruptionBudgetSpec{Selector: &metav1.LabelSelector{
		MatchExpressions: []metav1.LabelSelectorRequirement{label, tier}}}}
	now := old.DeepCopy()
	pdbHooks.PrepareUpdate(now, old)
	if got := now.Spec.Selector.MatchExpressions; len(got) != 2 {
		t.Errorf("unchanged selector: %v", got)
	}
	now.Spec.Selector.MatchLabels = map[string]string{"app": "web"}
	pdbHooks.PrepareUpdate(now, old)
	if got := now.Spec.Selector.MatchExpressions; len(got) != 1 || got[0].Key != "tier" {
		t.Errorf("changed selector: %v", got)
	}
}
