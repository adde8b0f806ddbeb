// Package admissionregistration holds the rows of
// admissionregistration.k8s.io, v1: webhook configurations and admission
// policies with their bindings.
package admissionregistration

import (
	"kapi/internal/registry"
)

// Resources returns the admissionregistration.k8s.io/v1 rows. All are in
// the "api-extensions" category and count generations; of them only
// validating admission policies have a status subresource.
func Resources() []*registry.Resource {
	row := func(name, kind string, table *registry.TableDef, subresources ...*registry.Subresource) *registry.Resource {
		return &registry.Resource{Group: "admissionregistration.k8s.io", Version: "v1", Name: name, Kind: kind,
			Categories: []string{"api-extensions"}, Subresources: subresources, Generation: true, Table: table,
			AnyFinalizers: true}
	}
	with := func(h *registry.Hooks, r *registry.Resource) *registry.Resource {
		r.Hooks = h
		return r
	}
	return []*registry.Resource{
		with(mutatingPolicyHooks, row("mutatingadmissionpolicies", "MutatingAdmissionPolicy", mutatingPolicyTable)),
		with(mutatingBindingHooks, row("mutatingadmissionpolicybindings", "MutatingAdmissionPolicyBinding", mutatingBindingTable)),
		with(webhookHooks, row("mutatingwebhookconfigurations", "MutatingWebhookConfiguration", mutatingWebhookTable)),
		with(validatingPolicyHooks, row("validatingadmissionpolicies", "ValidatingAdmissionPolicy", validatingPolicyTable,
			registry.ValidatedStatus(validateValidatingPolicyStatus, registry.StatusMetadataResets...))),
		with(validatingBindingHooks, row("validatingadmissionpolicybindings", "ValidatingAdmissionPolicyBinding", validatingBindingTable)),
		with(webhookHooks, row("validatingwebhookconfigurations", "ValidatingWebhookConfiguration", validatingWebhookTable)),
	}
}
