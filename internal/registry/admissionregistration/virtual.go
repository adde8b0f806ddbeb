package admissionregistration

import (
	"fmt"
	"slices"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// VirtualResources are the resources never stored that admission
// webhooks and policies never see, kube-apiserver's exclusion list: the
// reviews of who someone is and what they may do, which a webhook
// could otherwise wedge (every request's authentication or
// authorization by webhook would wait on it). Admission policies have
// always skipped them; webhooks skip them since kube 1.37
// (ExcludeAdmissionWebhookVirtualResources, on by default; kapi has no
// switch to turn it off).
var VirtualResources = sets.New(
	schema.GroupResource{Group: "authentication.k8s.io", Resource: "selfsubjectreviews"},
	schema.GroupResource{Group: "authentication.k8s.io", Resource: "tokenreviews"},
	schema.GroupResource{Group: "authorization.k8s.io", Resource: "localsubjectaccessreviews"},
	schema.GroupResource{Group: "authorization.k8s.io", Resource: "selfsubjectaccessreviews"},
	schema.GroupResource{Group: "authorization.k8s.io", Resource: "selfsubjectrulesreviews"},
	schema.GroupResource{Group: "authorization.k8s.io", Resource: "subjectaccessreviews"},
)

// virtualRuleWarnings are kube's WarningsForValidatingWebhookRules and
// WarningsForMutatingWebhookRules: a rule that names a virtual resource
// (not by a wildcard group or resource) has no effect, in any version.
//
//	webhooks[0].rules[1]: tokenreviews.authentication.k8s.io is excluded from admission webhooks; this rule will have no effect
func virtualRuleWarnings(obj runtime.Object) []string {
	var warnings []string
	for i, w := range webhooksOf(obj) {
		p := field.NewPath("webhooks").Index(i).Child("rules")
		for j, r := range w.rules {
			for _, gr := range virtualNamedBy(r.Rule) {
				warnings = append(warnings, fmt.Sprintf("%s: %s is excluded from admission webhooks; this rule will have no effect", p.Index(j), gr))
			}
		}
	}
	return warnings
}

// virtualNamedBy are the virtual resources a rule names, once each, in
// its order.
func virtualNamedBy(r admissionregistrationv1.Rule) []schema.GroupResource {
	if slices.Contains(r.APIGroups, "*") || slices.Contains(r.Resources, "*") {
		return nil
	}
	var out []schema.GroupResource
	for _, g := range r.APIGroups {
		for _, res := range r.Resources {
			gr := schema.GroupResource{Group: g, Resource: res}
			if VirtualResources.Has(gr) && !slices.Contains(out, gr) {
				out = append(out, gr)
			}
		}
	}
	return out
}

// webhookWarnings are the webhook configurations' WarningsOnCreate and
// WarningsOnUpdate: the reserved static suffix (on an update), then
// rules naming virtual resources.
func webhookWarnings(obj, old runtime.Object) []string {
	return append(staticSuffixWarnings(obj, old), virtualRuleWarnings(obj)...)
}
