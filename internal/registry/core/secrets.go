package core

import (
	"encoding/json"

	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/registry"
)

// secretHooks: stringData is write-only, as in kube-apiserver (whose
// conversion to the internal type does this): its keys overwrite data's,
// and it is never stored. The type defaults to Opaque and never changes;
// keys are checked as a config map's, and each well-known type needs its
// keys (validateSecretType).
var secretHooks = &registry.Hooks{
	Default: func(obj runtime.Object) { defaultSecret(obj.(*corev1.Secret)) },
	Validate: func(obj, old runtime.Object) field.ErrorList {
		s := obj.(*corev1.Secret)
		data := field.NewPath("data")
		errs := validateKeys(s.Data, data)
		size := 0
		for k, v := range s.Data {
			size += len(k) + len(v)
		}
		if size > maxDataSize {
			errs = append(errs, field.TooLong(data, "", maxDataSize))
		}
		errs = append(errs, validateSecretType(s)...)
		if old != nil {
			o := old.(*corev1.Secret)
			errs = append(errs, apimachineryvalidation.ValidateImmutableField(s.Type, o.Type, field.NewPath("type"))...)
			errs = append(errs, validateImmutable(o.Immutable, s.Immutable, []immutablePart{{"data", s.Data, o.Data}})...)
		}
		return errs
	},
	Warnings: secretWarnings,
}

func defaultSecret(s *corev1.Secret) {
	mergeStringData(s)
	if s.Type == "" {
		s.Type = corev1.SecretTypeOpaque
	}
}

func mergeStringData(s *corev1.Secret) {
	if len(s.StringData) == 0 {
		s.StringData = nil
		return
	}
	if s.Data == nil {
		s.Data = map[string][]byte{}
	}
	for k, v := range s.StringData {
		s.Data[k] = []byte(v)
	}
	s.StringData = nil
}

// validateSecretType checks what kube-apiserver requires of the built-in
// secret types: the keys they must hold (with the paths kube reports) and
// that docker configurations are JSON.
func validateSecretType(s *corev1.Secret) field.ErrorList {
	data := field.NewPath("data")
	var errs field.ErrorList
	require := func(key string) {
		if _, ok := s.Data[key]; !ok {
			errs = append(errs, field.Required(data.Key(key), ""))
		}
	}
	jsonKey := func(key string) {
		require(key)
		if v, ok := s.Data[key]; ok {
			var x map[string]any
			if err := json.Unmarshal(v, &x); err != nil {
				errs = append(errs, field.Invalid(data.Key(key), "<secret contents redacted>", err.Error()))
			}
		}
	}
	switch s.Type {
	case corev1.SecretTypeServiceAccountToken:
		if s.Annotations[corev1.ServiceAccountNameKey] == "" {
			errs = append(errs, field.Required(field.NewPath("metadata", "annotations").Key(corev1.ServiceAccountNameKey), ""))
		}
	case corev1.SecretTypeDockercfg:
		jsonKey(corev1.DockerConfigKey)
	case corev1.SecretTypeDockerConfigJson:
		jsonKey(corev1.DockerConfigJsonKey)
	case corev1.SecretTypeBasicAuth:
		_, user := s.Data[corev1.BasicAuthUsernameKey]
		_, pass := s.Data[corev1.BasicAuthPasswordKey]
		if !user && !pass {
			errs = append(errs, field.Required(data.Key(corev1.BasicAuthUsernameKey), ""),
				field.Required(data.Key(corev1.BasicAuthPasswordKey), ""))
		}
	case corev1.SecretTypeSSHAuth:
		if len(s.Data[corev1.SSHAuthPrivateKey]) == 0 {
			errs = append(errs, field.Required(data.Key(corev1.SSHAuthPrivateKey), ""))
		}
	case corev1.SecretTypeTLS:
		require(corev1.TLSCertKey)
		require(corev1.TLSPrivateKeyKey)
	}
	return errs
}
