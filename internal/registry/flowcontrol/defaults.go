package flowcontrol

import (
	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"kapi/internal/registry"
)

// kube-apiserver's defaults of flowcontrol.apiserver.k8s.io/v1
// (pkg/apis/flowcontrol/v1/defaults.go).
const (
	defaultMatchingPrecedence       int32 = 1000
	defaultHandSize                 int32 = 8
	defaultQueues                   int32 = 64
	defaultQueueLengthLimit         int32 = 50
	defaultNominalConcurrencyShares int32 = 30
)

var flowSchemaHooks = &registry.Hooks{
	Default:  func(obj runtime.Object) { DefaultFlowSchemaSpec(&obj.(*flowcontrolv1.FlowSchema).Spec) },
	Validate: validateFlowSchema,
}

var priorityLevelHooks = &registry.Hooks{
	Default: func(obj runtime.Object) {
		DefaultPriorityLevelSpec(&obj.(*flowcontrolv1.PriorityLevelConfiguration).Spec)
	},
	Validate: validatePriorityLevel,
}

// DefaultFlowSchemaSpec sets kube's default matching precedence.
func DefaultFlowSchemaSpec(spec *flowcontrolv1.FlowSchemaSpec) {
	if spec.MatchingPrecedence == 0 {
		spec.MatchingPrecedence = defaultMatchingPrecedence
	}
}

// DefaultPriorityLevelSpec sets kube's defaults of a priority level:
// shares and lendable percent of either type, and the queuing shape.
func DefaultPriorityLevelSpec(spec *flowcontrolv1.PriorityLevelConfigurationSpec) {
	if e := spec.Exempt; e != nil {
		setIfNil(&e.NominalConcurrencyShares, 0)
		setIfNil(&e.LendablePercent, 0)
	}
	if l := spec.Limited; l != nil {
		setIfNil(&l.NominalConcurrencyShares, defaultNominalConcurrencyShares)
		setIfNil(&l.LendablePercent, 0)
		if q := l.LimitResponse.Queuing; q != nil {
			setIfZero(&q.HandSize, defaultHandSize)
			setIfZero(&q.Queues, defaultQueues)
			setIfZero(&q.QueueLengthLimit, defaultQueueLengthLimit)
		}
	}
}

func setIfNil(p **int32, v int32) {
	if *p == nil {
		*p = &v
	}
}

func setIfZero(p *int32, v int32) {
	if *p == 0 {
		*p = v
	}
}
