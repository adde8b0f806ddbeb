package admissionregistration

import (
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"kapi/internal/registry"
)

var webhooksColumns = []metav1.TableColumnDefinition{
	{Name: "Webhooks", Type: "integer", Description: "Webhooks indicates the number of webhooks registered in this configuration"},
	registry.AgeColumn,
}

var mutatingWebhookTable = &registry.TableDef{
	Columns: webhooksColumns,
	Row: func(obj runtime.Object, now time.Time) []interface{} {
		c := obj.(*admissionv1.MutatingWebhookConfiguration)
		return []interface{}{int64(len(c.Webhooks)), registry.Age(c, now)}
	},
}

var validatingWebhookTable = &registry.TableDef{
	Columns: webhooksColumns,
	Row: func(obj runtime.Object, now time.Time) []interface{} {
		c := obj.(*admissionv1.ValidatingWebhookConfiguration)
		return []interface{}{int64(len(c.Webhooks)), registry.Age(c, now)}
	},
}

var paramKindColumn = metav1.TableColumnDefinition{Name: "ParamKind", Type: "string",
	Description: "ParamKind specifies the kind of resources used to parameterize this policy"}

var validatingPolicyTable = &registry.TableDef{
	Columns: []metav1.TableColumnDefinition{
		{Name: "Validations", Type: "integer", Description: "Validations indicates the number of validation rules defined in this configuration"},
		paramKindColumn, registry.AgeColumn,
	},
	Row: func(obj runtime.Object, now time.Time) []interface{} {
		p := obj.(*admissionv1.ValidatingAdmissionPolicy)
		return []interface{}{int64(len(p.Spec.Validations)), paramKind(p.Spec.ParamKind), registry.Age(p, now)}
	},
}

var mutatingPolicyTable = &registry.TableDef{
	Columns: []metav1.TableColumnDefinition{
		{Name: "Mutations", Type: "integer", Description: "Mutation indicates the number of mutations rules defined in this configuration"},
		paramKindColumn, registry.AgeColumn,
	},
	Row: func(obj runtime.Object, now time.Time) []interface{} {
		p := obj.(*admissionv1.MutatingAdmissionPolicy)
		return []interface{}{int64(len(p.Spec.Mutations)), paramKind(p.Spec.ParamKind), registry.Age(p, now)}
	},
}

// paramKind prints "apiVersion/Kind", "<unset>" for a policy without
// parameters.
func paramKind(k *admissionv1.ParamKind) string {
	if k == nil {
		return "<unset>"
	}
	return k.APIVersion + "/" + k.Kind
}

var bindingColumns = []metav1.TableColumnDefinition{
	{Name: "PolicyName", Type: "string", Description: "PolicyName indicates the policy definition which the policy binding binded to"},
	{Name: "ParamRef", Type: "string", Description: "ParamRef indicates the param resource which sets the configration param"},
	registry.AgeColumn,
}

var validatingBindingTable = &registry.TableDef{
	Columns: bindingColumns,
	Row: func(obj runtime.Object, now time.Time) []interface{} {
		b := obj.(*admissionv1.ValidatingAdmissionPolicyBinding)
		return []interface{}{b.Spec.PolicyName, paramRef(b.Spec.ParamRef), registry.Age(b, now)}
	},
}

var mutatingBindingTable = &registry.TableDef{
	Columns: bindingColumns,
	Row: func(obj runtime.Object, now time.Time) []interface{} {
		b := obj.(*admissionv1.MutatingAdmissionPolicyBinding)
		return []interface{}{b.Spec.PolicyName, paramRef(b.Spec.ParamRef), registry.Age(b, now)}
	},
}

// paramRef prints "namespace/name", "*/name" when the namespace is not
// given (the parameter may be cluster-scoped), or the selector.
func paramRef(r *admissionv1.ParamRef) string {
	switch {
	case r == nil:
		return "<unset>"
	case r.Name != "" && r.Namespace != "":
		return r.Namespace + "/" + r.Name
	case r.Name != "":
		return "*/" + r.Name
	case r.Selector != nil:
		return r.Selector.String()
	}
	return "<unset>"
}
