package server

import (
	"testing"

	"kapi/internal/admission"
	"kapi/internal/registry"
)

// TestDefaultPluginsImplemented: every admission plugin kube-apiserver
// runs by default is one kapi has (built in, or added by newAdmission:
// namespaces, webhooks, policies, quota and limits), so that a start with
// no flags warns of none that has no effect.
func TestDefaultPluginsImplemented(t *testing.T) {
	plugins, err := builtinPlugins(registry.NewCatalogue(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"NamespaceLifecycle", "MutatingAdmissionWebhook", "ValidatingAdmissionWebhook",
		"ResourceQuota", "LimitRanger", "MutatingAdmissionPolicy", "ValidatingAdmissionPolicy"} {
		plugins[n] = nil
	}
	for _, n := range admission.DefaultOn {
		if _, ok := plugins[n]; !ok {
			t.Errorf("default admission plugin %s is not implemented", n)
		}
	}
}
