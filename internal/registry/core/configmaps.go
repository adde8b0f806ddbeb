package core

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/registry"
)

// maxDataSize is kube-apiserver's limit on the data of a ConfigMap or a
// Secret (core.MaxSecretSize): 1 MiB.
const maxDataSize = 1 << 20

// configMapHooks validate key names (kube's IsConfigMapKey), that no key is
// in both data and binaryData, the 1 MiB total, and that an immutable
// config map stays as it is.
var configMapHooks = &registry.Hooks{
	Validate: func(obj, old runtime.Object) field.ErrorList {
		cm := obj.(*corev1.ConfigMap)
		errs := validateKeys(cm.Data, field.NewPath("data"))
		errs = append(errs, validateKeys(cm.BinaryData, field.NewPath("binaryData"))...)
		size := 0
		for k, v := range cm.Data {
			size += len(k) + len(v)
			if _, ok := cm.BinaryData[k]; ok {
				errs = append(errs, field.Invalid(field.NewPath("binaryData").Key(k), k, "duplicate of key present in data"))
			}
		}
		for k, v := range cm.BinaryData {
			size += len(k) + len(v)
		}
		if size > maxDataSize {
			errs = append(errs, field.TooLong(field.NewPath(""), "", maxDataSize))
		}
		if old != nil {
			o := old.(*corev1.ConfigMap)
			errs = append(errs, validateImmutable(o.Immutable, cm.Immutable, []immutablePart{
				{"data", cm.Data, o.Data}, {"binaryData", cm.BinaryData, o.BinaryData}})...)
		}
		return errs
	},
}

// validateKeys checks the keys of a data map; keys are sorted by the
// caller's iteration only, so tests compare sets of errors.
func validateKeys[V any](data map[string]V, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for k := range data {
		for _, msg := range validation.IsConfigMapKey(k) {
			errs = append(errs, field.Invalid(path.Key(k), k, msg))
		}
	}
	return errs
}

type immutablePart struct {
	name     string
	new, old any
}

// validateImmutable is kube's rule for `immutable: true`: once set it
// stays, and so do the listed parts.
func validateImmutable(wasImmutable, isImmutable *bool, parts []immutablePart) field.ErrorList {
	if wasImmutable == nil || !*wasImmutable {
		return nil
	}
	const msg = "field is immutable when `immutable` is set"
	var errs field.ErrorList
	if isImmutable == nil || !*isImmutable {
		errs = append(errs, field.Forbidden(field.NewPath("immutable"), msg))
	}
	for _, p := range parts {
		if !equality.Semantic.DeepEqual(p.new, p.old) {
			errs = append(errs, field.Forbidden(field.NewPath(p.name), msg))
		}
	}
	return errs
}
