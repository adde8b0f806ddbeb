package storagegroup

import (
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/registry"
)

// csiStorageCapacityHooks validate a CSIStorageCapacity as kube's
// ValidateCSIStorageCapacity and its update: a valid node topology
// selector (one stored with invalid label values may keep them), a
// storage class name that is a DNS subdomain, a capacity that is not
// negative; the node topology and storage class never change, being what
// the capacity was asked for. Its strategy resets nothing.
var csiStorageCapacityHooks = &registry.Hooks{
	Validate: validateCSIStorageCapacity,
	Warnings: csiStorageCapacityWarnings,
}

func validateCSIStorageCapacity(obj, old runtime.Object) field.ErrorList {
	c := obj.(*storagev1.CSIStorageCapacity)
	o, _ := old.(*storagev1.CSIStorageCapacity)
	opts := metav1validation.LabelSelectorValidationOptions{
		AllowInvalidLabelValueInSelector: o != nil && len(metav1validation.ValidateLabelSelector(o.NodeTopology, metav1validation.LabelSelectorValidationOptions{}, nil)) > 0,
	}
	errs := metav1validation.ValidateLabelSelector(c.NodeTopology, opts, field.NewPath("nodeTopology"))
	for _, msg := range apimachineryvalidation.NameIsDNSSubdomain(c.StorageClassName, false) {
		errs = append(errs, field.Invalid(field.NewPath("storageClassName"), c.StorageClassName, msg))
	}
	if c.Capacity != nil && c.Capacity.Sign() < 0 {
		errs = append(errs, field.Invalid(field.NewPath("capacity"), c.Capacity.String(), apimachineryvalidation.IsNegativeErrorMsg))
	}
	if o == nil {
		return errs
	}
	if !equality.Semantic.DeepEqual(c.NodeTopology, o.NodeTopology) {
		errs = append(errs, field.Invalid(field.NewPath("nodeTopology"), c.NodeTopology, "field is immutable"))
	}
	if c.StorageClassName != o.StorageClassName {
		errs = append(errs, field.Invalid(field.NewPath("storageClassName"), c.StorageClassName, "field is immutable"))
	}
	return errs
}
