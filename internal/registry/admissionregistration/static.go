package admissionregistration

import (
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/admission/plugin/manifest"
	"k8s.io/apiserver/pkg/features"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
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
