package webhook

import (
	"errors"
	"fmt"
	"slices"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kubemanifest "k8s.io/apiserver/pkg/admission/plugin/manifest"

	"kapi/internal/admission"
	"kapi/internal/admission/manifest"
	"kapi/internal/admission/match"
)

// LoadStatic reads the webhook configurations of dir, a staticManifestsDir
// (see manifest.Manifests): MutatingWebhookConfigurations for the mutating
// plugin, ValidatingWebhookConfigurations for the validating one, as
// kube's manifest loader reads them. publish makes them the static hooks,
// kept beside those of the API and compiled alike.
func (h *hooks) LoadStatic(dir string) (hash string, publish func() error, err error) {
	configs, hash, err := h.readStatic(dir)
	if err != nil {
		return "", nil, err
	}
	return hash, func() error { return h.publishStatic(configs) }, nil
}

// readStatic reads dir's configurations, ordered by name. Each is
// defaulted and validated as a create through the API, then must have a
// name with the reserved suffix, unique in the directory, and call its
// webhooks by URL (a Service cannot be reached before kapi serves).
//
//	webhook "deny.kapi.test" in "deny.static.k8s.io" (file "/etc/kapi/static/deny.yaml"): clientConfig.service is not supported for static manifests; use clientConfig.url instead
func (h *hooks) readStatic(dir string) ([]runtime.Object, string, error) {
	var configs []runtime.Object
	seen := map[string]string{}
	hash, err := manifest.Read(dir, func(obj runtime.Object, file string) error {
		items, err := h.configsIn(obj)
		if err != nil {
			return err
		}
		for _, item := range items {
			if err := manifest.DefaultAndValidate(item); err != nil {
				return err
			}
		}
		for _, item := range items {
			name := item.(metav1.Object).GetName()
			if err := kubemanifest.ValidateManifestName(name, file, seen); err != nil {
				return err
			}
			_, specs, _ := specsOf(item)
			for _, w := range specs {
				if err := urlOnly(w.name, name, file, w.clientConfig); err != nil {
					return err
				}
			}
		}
		configs = append(configs, items...)
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return match.SortedByName(configs), hash, nil
}

// configsIn are the configurations of the plugin's kind obj holds: itself,
// or the items of a list of them.
func (h *hooks) configsIn(obj runtime.Object) ([]runtime.Object, error) {
	switch obj.(type) {
	case *admissionregistrationv1.MutatingWebhookConfiguration, *admissionregistrationv1.MutatingWebhookConfigurationList:
		if h.mutating {
			return itemsOf(obj)
		}
	case *admissionregistrationv1.ValidatingWebhookConfiguration, *admissionregistrationv1.ValidatingWebhookConfigurationList:
		if !h.mutating {
			return itemsOf(obj)
		}
	}
	return nil, fmt.Errorf("unsupported resource type %T", obj)
}

// itemsOf is obj, or the items of obj when it is a list.
func itemsOf(obj runtime.Object) ([]runtime.Object, error) {
	if meta.IsListType(obj) {
		return meta.ExtractList(obj)
	}
	return []runtime.Object{obj}, nil
}

// urlOnly is kube's ValidateWebhookClientConfig of static manifests.
func urlOnly(webhook, config, file string, cc admissionregistrationv1.WebhookClientConfig) error {
	if cc.Service != nil {
		return fmt.Errorf("webhook %q in %q (file %q): clientConfig.service is not supported for static manifests; use clientConfig.url instead", webhook, config, file)
	}
	if cc.URL == nil || *cc.URL == "" {
		return fmt.Errorf("webhook %q in %q (file %q): clientConfig.url is required for static manifests", webhook, config, file)
	}
	return nil
}

// publishStatic compiles configs into the static hooks and publishes
// them. Their selectors must parse (kube's validateAccessors, which the
// API's validation already ensures).
func (h *hooks) publishStatic(configs []runtime.Object) error {
	var errs []error
	for _, c := range configs {
		_, specs, _ := specsOf(c)
		for _, w := range specs {
			if _, err := match.Selector(w.namespaceSelector); err != nil {
				errs = append(errs, fmt.Errorf("webhook %q: invalid namespaceSelector: %w", w.name, err))
			}
			if _, err := match.Selector(w.objectSelector); err != nil {
				errs = append(errs, fmt.Errorf("webhook %q: invalid objectSelector: %w", w.name, err))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	var out []*hook
	for _, c := range configs {
		for _, k := range h.compile(c) {
			// Reinvocation tells hooks apart by uid; the API's
			// configurations cannot have the static names, but
			// kube's uids keep the two apart all the same.
			k.uid = "manifest/" + k.uid
			out = append(out, k)
		}
	}
	h.static.Store(&set{hooks: out})
	h.keepClients()
	return nil
}

// keepClients drops the clients neither the API's hooks nor the static
// ones use.
func (h *hooks) keepClients() {
	h.clients.keep(slices.Concat(h.current.Load().hooks, h.static.Load().hooks))
}

// candidatesFor are the hooks that may take a, in kube's order: the
// static ones first, then the API's (see match.ReachOf; the virtual
// resources too with Deps.SeeVirtualResources).
func (h *hooks) candidatesFor(a *admission.Attributes) []candidate {
	reach := match.ReachOf(a, false)
	if reach == match.NoHooks && h.deps.SeeVirtualResources {
		reach = match.AllHooks
	}
	if reach == match.NoHooks {
		return nil
	}
	var fromAPI []candidate
	if reach == match.AllHooks {
		fromAPI = h.candidates(h.current.Load(), a.Resource, a.Subresource)
	}
	return match.InForce(reach, h.candidates(h.static.Load(), a.Resource, a.Subresource), fromAPI)
}
