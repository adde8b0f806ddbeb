package core

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"kapi/internal/registry"
)

// secretHooks: stringData is write-only, as in kube-apiserver (whose
// conversion to the internal type does this): its keys overwrite data's,
// and it is never stored.
var secretHooks = &registry.Hooks{
	PrepareForCreate: func(obj runtime.Object) { mergeStringData(obj.(*corev1.Secret)) },
	PrepareForUpdate: func(obj, _ runtime.Object) { mergeStringData(obj.(*corev1.Secret)) },
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
