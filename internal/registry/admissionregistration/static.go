package admissionregistration

import (
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/admission/plugin/manifest"
	"k8s.io/apiserver/pkg/features"
	utilfeature "k8s.io/apiserver/pkg/util/feature"

	"kapi/internal/registry"
)

// The names ending with manifest.StaticConfigSuffix (".static.k8s.io")
// are kept for the admission configurations kube-apiserver reads from
// manifests: webhook configurations, admission policies and their
// bindings alike.

const staticSuffixMessage = "names ending with \"" + manifest.StaticConfigSuffix +
	"\" are reserved for static manifest-based configurations and cannot be managed via the API"

// staticSuffixErrors is the strategies' ValidateStaticSuffix: names with
// the suffix are kept for manifest-based configurations; kube refuses
// them on a create (only a warning on an update).
func staticSuffixErrors(obj, old runtime.Object) field.ErrorList {
	if old != nil || !utilfeature.DefaultFeatureGate.Enabled(features.ManifestBasedAdmissionControlConfig) {
		return nil
	}
	if name := obj.(metav1.Object).GetName(); strings.HasSuffix(name, manifest.StaticConfigSuffix) {
		return field.ErrorList{field.Invalid(field.NewPath("metadata", "name"), name, staticSuffixMessage)}
	}
	return nil
}

// staticSuffixWarnings are the strategies' WarningsOnCreate (where the
// suffix is not refused) and WarningsOnUpdate.
func staticSuffixWarnings(obj, old runtime.Object) []string {
	if old == nil && utilfeature.DefaultFeatureGate.Enabled(features.ManifestBasedAdmissionControlConfig) {
		return nil
	}
	if strings.HasSuffix(obj.(metav1.Object).GetName(), manifest.StaticConfigSuffix) {
		return []string{"metadata.name: " + staticSuffixMessage}
	}
	return nil
}

// ValidateManifest defaults and validates obj, an
// admissionregistration.k8s.io/v1 object read from a static manifest
// (kube's ManifestBasedAdmissionControlConfig), as kube's manifest
// loaders do: as a create through the API, its metadata included, less
// the refusal of the reserved suffix, which such a name must have. ok is
// false for an object of no kind of this group.
func ValidateManifest(obj runtime.Object) (errs field.ErrorList, ok bool) {
	var hooks *registry.Hooks
	switch obj.(type) {
	case *admissionregistrationv1.ValidatingWebhookConfiguration, *admissionregistrationv1.MutatingWebhookConfiguration:
		hooks = webhookHooks
	case *admissionregistrationv1.ValidatingAdmissionPolicy:
		hooks = validatingPolicyHooks
	case *admissionregistrationv1.ValidatingAdmissionPolicyBinding:
		hooks = validatingBindingHooks
	case *admissionregistrationv1.MutatingAdmissionPolicy:
		hooks = mutatingPolicyHooks
	case *admissionregistrationv1.MutatingAdmissionPolicyBinding:
		hooks = mutatingBindingHooks
	default:
		return nil, false
	}
	m := obj.(metav1.Object)
	if hooks.Default != nil {
		hooks.Default(obj)
	}
	errs = apimachineryvalidation.ValidateObjectMetaAccessor(m, false, apimachineryvalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
	for _, e := range hooks.Validate(obj, nil) {
		if e.Field != "metadata.name" || e.Detail != staticSuffixMessage {
			errs = append(errs, e)
		}
	}
	return errs, true
}
