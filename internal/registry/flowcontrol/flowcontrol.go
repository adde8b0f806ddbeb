// Package flowcontrol holds the rows of flowcontrol.apiserver.k8s.io, v1:
// API priority and fairness.
package flowcontrol

import (
	"time"

	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"kapi/internal/registry"
)

// Resources returns the flowcontrol.apiserver.k8s.io/v1 rows.
func Resources() []*registry.Resource {
	return []*registry.Resource{
		{Group: "flowcontrol.apiserver.k8s.io", Version: "v1", Name: "flowschemas", Kind: "FlowSchema",
			Subresources: []*registry.Subresource{registry.ValidatedStatus(validateFlowSchemaStatus, registry.StatusMetadataResets...)}, Generation: true,
			Table: flowSchemaTable, Hooks: flowSchemaHooks},
		{Group: "flowcontrol.apiserver.k8s.io", Version: "v1", Name: "prioritylevelconfigurations",
			Kind: "PriorityLevelConfiguration", Generation: true, Table: priorityLevelTable, Hooks: priorityLevelHooks,
			Subresources: []*registry.Subresource{registry.ValidatedStatus(validatePriorityLevelStatus, registry.StatusMetadataResets...)}},
	}
}

var fsDocs = flowcontrolv1.FlowSchemaSpec{}.SwaggerDoc()

// flowSchemaTable ends with MISSINGPL: the status of the Dangling
// condition, "?" before the controller has set it.
var flowSchemaTable = &registry.TableDef{
	Columns: []metav1.TableColumnDefinition{
		{Name: "PriorityLevel", Type: "string", Description: flowcontrolv1.PriorityLevelConfigurationReference{}.SwaggerDoc()["name"]},
		{Name: "MatchingPrecedence", Type: "string", Description: fsDocs["matchingPrecedence"]},
		{Name: "DistinguisherMethod", Type: "string", Description: fsDocs["distinguisherMethod"]},
		registry.AgeColumn,
		{Name: "MissingPL", Type: "string", Description: "references a broken or non-existent PriorityLevelConfiguration"},
	},
	Row: func(obj runtime.Object, now time.Time) []interface{} {
		fs := obj.(*flowcontrolv1.FlowSchema)
		method := "<none>"
		if fs.Spec.DistinguisherMethod != nil {
			method = string(fs.Spec.DistinguisherMethod.Type)
		}
		missing := "?"
		for _, c := range fs.Status.Conditions {
			if c.Type == flowcontrolv1.FlowSchemaConditionDangling {
				missing = string(c.Status)
				break
			}
		}
		return []interface{}{fs.Spec.PriorityLevelConfiguration.Name, int64(fs.Spec.MatchingPrecedence), method,
			registry.Age(fs, now), missing}
	},
}

var queuingDocs = flowcontrolv1.QueuingConfiguration{}.SwaggerDoc()

var priorityLevelTable = &registry.TableDef{
	Columns: []metav1.TableColumnDefinition{
		{Name: "Type", Type: "string", Description: flowcontrolv1.PriorityLevelConfigurationSpec{}.SwaggerDoc()["type"]},
		{Name: "NominalConcurrencyShares", Type: "string", Description: flowcontrolv1.LimitedPriorityLevelConfiguration{}.SwaggerDoc()["nominalConcurrencyShares"]},
		{Name: "Queues", Type: "string", Description: queuingDocs["queues"]},
		{Name: "HandSize", Type: "string", Description: queuingDocs["handSize"]},
		{Name: "QueueLengthLimit", Type: "string", Description: queuingDocs["queueLengthLimit"]},
		registry.AgeColumn,
	},
	Row: func(obj runtime.Object, now time.Time) []interface{} {
		pl := obj.(*flowcontrolv1.PriorityLevelConfiguration)
		var shares, queues, handSize, queueLength interface{} = "<none>", "<none>", "<none>", "<none>"
		if l := pl.Spec.Limited; l != nil {
			if l.NominalConcurrencyShares != nil {
				shares = *l.NominalConcurrencyShares
			}
			if q := l.LimitResponse.Queuing; q != nil {
				queues, handSize, queueLength = q.Queues, q.HandSize, q.QueueLengthLimit
			}
		}
		return []interface{}{string(pl.Spec.Type), shares, queues, handSize, queueLength, registry.Age(pl, now)}
	},
}
