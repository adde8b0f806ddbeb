package webhook

import (
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	celplugin "k8s.io/apiserver/pkg/admission/plugin/cel"
	"k8s.io/apiserver/pkg/admission/plugin/webhook/matchconditions"
	"k8s.io/apiserver/pkg/cel/environment"
)

// conditionCompiler compiles matchConditions in kube-apiserver's CEL
// environment for stored expressions, with its cost limits: k8s.io/apiserver's
// CEL libraries are the standard for admission expressions (object,
// oldObject, request, authorizer), so kapi uses them rather than its own.
var conditionCompiler = celplugin.NewConditionCompiler(environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion()))

// compileConditions compiles a webhook's matchConditions. An expression
// that does not compile makes every match an error (the configuration's
// validation refuses such expressions when it is written).
func compileConditions(conds []admissionregistrationv1.MatchCondition, failurePolicy *admissionregistrationv1.FailurePolicyType, mutating bool, name string) matchconditions.Matcher {
	exprs := make([]celplugin.ExpressionAccessor, len(conds))
	for i, c := range conds {
		exprs[i] = &matchconditions.MatchCondition{Name: c.Name, Expression: c.Expression}
	}
	return matchconditions.NewMatcher(conditionCompiler.CompileCondition(exprs,
		celplugin.OptionalVariableDeclarations{HasParams: false, HasAuthorizer: true}, environment.StoredExpressions),
		failurePolicy, "webhook", stepType(mutating), name)
}

// stepType is kube's name of a webhook's kind in the match conditions'
// metrics: "admit" for mutating webhooks, "validating" for the others.
func stepType(mutating bool) string {
	if mutating {
		return "admit"
	}
	return "validating"
}
