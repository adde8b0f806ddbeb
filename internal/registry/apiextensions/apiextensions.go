// Package apiextensions holds what is particular to
// CustomResourceDefinitions: the row of apiextensions.k8s.io/v1
// customresourcedefinitions with its defaulting and validation, and what
// a CRD makes of its custom resources (Serving): their schemas, their
// conversion between versions, their OpenAPI, and the catalogue's rows
// that serve them.
//
// The validation of CRDs and of custom resources is
// k8s.io/apiextensions-apiserver's (CRD validation, structural schemas,
// pruning, defaulting, list types, embedded ObjectMeta, CEL): the domain's
// standard algorithms, which kube-apiserver runs.
package apiextensions

import (
	"context"
	"slices"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	crdvalidation "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/registry"
)

// CleanupFinalizer keeps a CRD being deleted until its custom resources
// are gone.
const CleanupFinalizer = apiextensionsv1.CustomResourceCleanupFinalizer

// Resources returns the apiextensions.k8s.io/v1 row. The CRD store keys
// its objects by group and resource, under
// "apiextensions.k8s.io/customresourcedefinitions"; kube-apiserver prints
// CRDs with the default table (NAME CREATED AT).
//
// kube-apiserver encodes CRDs in etcd as v1beta1 for the sake of
// downgrades; kapi keeps them as v1, the only version it serves.
func Resources() []*registry.Resource {
	status := registry.ValidatedStatus(func(obj, old runtime.Object) field.ErrorList {
		return crdvalidation.ValidateUpdateCustomResourceDefinitionStatus(context.Background(), internalStatus(obj), internalStatus(old))
	})
	return []*registry.Resource{
		{Group: "apiextensions.k8s.io", Version: "v1", Name: "customresourcedefinitions",
			Kind: "CustomResourceDefinition", ShortNames: []string{"crd", "crds"},
			Categories: []string{"api-extensions"}, Subresources: []*registry.Subresource{status},
			KeyPrefix: "apiextensions.k8s.io/customresourcedefinitions", Generation: true, Hooks: crdHooks,
			AnyFinalizers: true},
	}
}

// crdHooks are kube-apiserver's CRD strategy: defaults, the storage
// version recorded in status.storedVersions, the validation of the
// apiextensions library; and on delete, the cleanup finalizer and the
// Terminating condition, so that the CRD stays until its custom resources
// are gone.
var crdHooks = &registry.Hooks{
	Default: func(obj runtime.Object) {
		apiextensionsv1.SetObjectDefaults_CustomResourceDefinition(obj.(*apiextensionsv1.CustomResourceDefinition))
	},
	PrepareForCreate: func(obj runtime.Object) {
		crd := obj.(*apiextensionsv1.CustomResourceDefinition)
		crd.Status = apiextensionsv1.CustomResourceDefinitionStatus{}
		recordStorageVersion(crd)
	},
	PrepareForUpdate: func(obj, _ runtime.Object) {
		recordStorageVersion(obj.(*apiextensionsv1.CustomResourceDefinition))
	},
	Validate: func(obj, old runtime.Object) field.ErrorList {
		if old == nil {
			return crdvalidation.ValidateCustomResourceDefinition(context.Background(), internal(obj))
		}
		return crdvalidation.ValidateCustomResourceDefinitionUpdate(context.Background(), internal(obj), internal(old))
	},
	Warnings: crdWarnings,
	// The first delete marks the CRD, whatever its finalizers.
	Retain: func(obj runtime.Object) bool {
		return obj.(*apiextensionsv1.CustomResourceDefinition).DeletionTimestamp == nil
	},
	PrepareForDelete: func(obj runtime.Object) {
		crd := obj.(*apiextensionsv1.CustomResourceDefinition)
		if !slices.Contains(crd.Finalizers, CleanupFinalizer) {
			crd.Finalizers = append(crd.Finalizers, CleanupFinalizer)
		}
		SetCondition(crd, apiextensionsv1.CustomResourceDefinitionCondition{Type: apiextensionsv1.Terminating,
			Status: apiextensionsv1.ConditionTrue, Reason: "InstanceDeletionPending",
			Message: "CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon"})
	},
}

// recordStorageVersion adds the storage version to status.storedVersions.
func recordStorageVersion(crd *apiextensionsv1.CustomResourceDefinition) {
	for _, v := range crd.Spec.Versions {
		if v.Storage {
			if !slices.Contains(crd.Status.StoredVersions, v.Name) {
				crd.Status.StoredVersions = append(crd.Status.StoredVersions, v.Name)
			}
			return
		}
	}
}

// internal is crd in the apiextensions library's internal version, which
// its validation takes.
func internal(obj runtime.Object) *apiextensions.CustomResourceDefinition {
	out := &apiextensions.CustomResourceDefinition{}
	in := obj.(*apiextensionsv1.CustomResourceDefinition)
	if err := apiextensionsv1.Convert_v1_CustomResourceDefinition_To_apiextensions_CustomResourceDefinition(in, out, nil); err != nil {
		// The conversion of a decoded v1 object does not fail; an
		// empty object fails validation rather than pass it.
		return &apiextensions.CustomResourceDefinition{}
	}
	return out
}

// internalStatus is the metadata and status of crd in the internal
// version: all a status write's validation reads, without converting the
// schemas.
func internalStatus(obj runtime.Object) *apiextensions.CustomResourceDefinition {
	in := obj.(*apiextensionsv1.CustomResourceDefinition)
	out := &apiextensions.CustomResourceDefinition{ObjectMeta: in.ObjectMeta}
	if err := apiextensionsv1.Convert_v1_CustomResourceDefinitionStatus_To_apiextensions_CustomResourceDefinitionStatus(&in.Status, &out.Status, nil); err != nil {
		return &apiextensions.CustomResourceDefinition{}
	}
	return out
}

// SetCondition sets c on crd, keeping the transition time when the status
// does not change, as kube-apiserver's helper.
func SetCondition(crd *apiextensionsv1.CustomResourceDefinition, c apiextensionsv1.CustomResourceDefinitionCondition) {
	c.LastTransitionTime = metav1.NewTime(metav1.Now().Rfc3339Copy().Time)
	for i, old := range crd.Status.Conditions {
		if old.Type != c.Type {
			continue
		}
		if old.Status == c.Status {
			c.LastTransitionTime = old.LastTransitionTime
		}
		crd.Status.Conditions[i] = c
		return
	}
	crd.Status.Conditions = append(crd.Status.Conditions, c)
}

// Condition returns crd's condition of type t, or nil.
func Condition(crd *apiextensionsv1.CustomResourceDefinition, t apiextensionsv1.CustomResourceDefinitionConditionType) *apiextensionsv1.CustomResourceDefinitionCondition {
	for i := range crd.Status.Conditions {
		if crd.Status.Conditions[i].Type == t {
			return &crd.Status.Conditions[i]
		}
	}
	return nil
}

// IsTrue reports whether crd's condition t is True.
func IsTrue(crd *apiextensionsv1.CustomResourceDefinition, t apiextensionsv1.CustomResourceDefinitionConditionType) bool {
	c := Condition(crd, t)
	return c != nil && c.Status == apiextensionsv1.ConditionTrue
}
