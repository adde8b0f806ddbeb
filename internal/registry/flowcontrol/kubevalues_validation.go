package flowcontrol

// kube validates its internal types, not flowcontrol/v1's, and an error
// shows its bad value as JSON: an internal struct's JSON has Go's field
// names and no omitted fields. So that a refused object reads as kube's
// (`spec.distinguisherMethod.type: Unsupported value: {"Type":"ByPod"}: ...`),
// the errors carry these copies of kube's internal types
// (pkg/apis/flowcontrol/types.go) as their values. The copies of the
// types whose fields are the same as v1's are converted from v1's
// directly (a conversion ignores the JSON names).

import (
	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
)

// internalDistinguisherMethod is kube's flowcontrol.FlowDistinguisherMethod.
type internalDistinguisherMethod struct {
	Type flowcontrolv1.FlowDistinguisherMethodType
}

// flowSchemaSpecValue is kube's flowcontrol.FlowSchemaSpec.
type flowSchemaSpecValue struct {
	PriorityLevelConfiguration struct{ Name string }
	MatchingPrecedence         int32
	DistinguisherMethod        *internalDistinguisherMethod
	Rules                      []policyRulesValue
}

// policyRulesValue is kube's flowcontrol.PolicyRulesWithSubjects.
type policyRulesValue struct {
	Subjects         []subjectValue
	ResourceRules    []resourceRuleValue
	NonResourceRules []nonResourceRuleValue
}

// subjectValue is kube's flowcontrol.Subject.
type subjectValue struct {
	Kind           flowcontrolv1.SubjectKind
	User           *struct{ Name string }
	Group          *struct{ Name string }
	ServiceAccount *struct{ Namespace, Name string }
}

// resourceRuleValue is kube's flowcontrol.ResourcePolicyRule.
type resourceRuleValue struct {
	Verbs        []string
	APIGroups    []string
	Resources    []string
	ClusterScope bool
	Namespaces   []string
}

// nonResourceRuleValue is kube's flowcontrol.NonResourcePolicyRule.
type nonResourceRuleValue struct {
	Verbs           []string
	NonResourceURLs []string
}

func internalFlowSchemaSpec(s *flowcontrolv1.FlowSchemaSpec) flowSchemaSpecValue {
	v := flowSchemaSpecValue{MatchingPrecedence: s.MatchingPrecedence,
		DistinguisherMethod: (*internalDistinguisherMethod)(s.DistinguisherMethod)}
	v.PriorityLevelConfiguration.Name = s.PriorityLevelConfiguration.Name
	if s.Rules != nil {
		v.Rules = make([]policyRulesValue, len(s.Rules))
	}
	for i, r := range s.Rules {
		out := &v.Rules[i]
		if r.Subjects != nil {
			out.Subjects = make([]subjectValue, len(r.Subjects))
		}
		for j, sub := range r.Subjects {
			out.Subjects[j] = subjectValue{Kind: sub.Kind,
				User:           (*struct{ Name string })(sub.User),
				Group:          (*struct{ Name string })(sub.Group),
				ServiceAccount: (*struct{ Namespace, Name string })(sub.ServiceAccount)}
		}
		if r.ResourceRules != nil {
			out.ResourceRules = make([]resourceRuleValue, len(r.ResourceRules))
		}
		for j, rr := range r.ResourceRules {
			out.ResourceRules[j] = resourceRuleValue(rr)
		}
		if r.NonResourceRules != nil {
			out.NonResourceRules = make([]nonResourceRuleValue, len(r.NonResourceRules))
		}
		for j, nr := range r.NonResourceRules {
			out.NonResourceRules[j] = nonResourceRuleValue(nr)
		}
	}
	return v
}

// priorityLevelSpecValue is kube's flowcontrol.PriorityLevelConfigurationSpec.
type priorityLevelSpecValue struct {
	Type    flowcontrolv1.PriorityLevelEnablement
	Limited *limitedValue
	Exempt  *struct{ NominalConcurrencyShares, LendablePercent *int32 }
}

// limitedValue is kube's flowcontrol.LimitedPriorityLevelConfiguration,
// whose shares are a number (v1's nil converts to 0).
type limitedValue struct {
	NominalConcurrencyShares int32
	LimitResponse            struct {
		Type    flowcontrolv1.LimitResponseType
		Queuing *struct{ Queues, HandSize, QueueLengthLimit int32 }
	}
	LendablePercent       *int32
	BorrowingLimitPercent *int32
}

func internalPriorityLevelSpec(s *flowcontrolv1.PriorityLevelConfigurationSpec) priorityLevelSpecValue {
	v := priorityLevelSpecValue{Type: s.Type,
		Exempt: (*struct{ NominalConcurrencyShares, LendablePercent *int32 })(s.Exempt)}
	if l := s.Limited; l != nil {
		v.Limited = &limitedValue{LendablePercent: l.LendablePercent, BorrowingLimitPercent: l.BorrowingLimitPercent}
		if l.NominalConcurrencyShares != nil {
			v.Limited.NominalConcurrencyShares = *l.NominalConcurrencyShares
		}
		v.Limited.LimitResponse.Type = l.LimitResponse.Type
		v.Limited.LimitResponse.Queuing = (*struct{ Queues, HandSize, QueueLengthLimit int32 })(l.LimitResponse.Queuing)
	}
	return v
}
