package endpoints

import (
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

type runtimeObject = runtime.Object

func metaAccessor(obj runtime.Object) (metav1.Object, error) { return meta.Accessor(obj) }

func badNamespace() error {
	return apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request")
}

// schemaGroupKind is the empty GroupKind kube-apiserver uses for errors
// about a patch itself.
var schemaGroupKind = schema.GroupKind{}
