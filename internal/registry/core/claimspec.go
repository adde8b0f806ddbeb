package core

// A PersistentVolumeClaim's spec, as kube validates a new one.

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ValidatePersistentVolumeClaimSpec is kube's, with its create options
// (strict selectors and API groups, VolumeAttributesClass on as in 1.37):
// a claim's, and a StatefulSet's claim templates', whose controller makes
// a claim of each for every pod.
func ValidatePersistentVolumeClaimSpec(s *corev1.PersistentVolumeClaimSpec, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(s.AccessModes) == 0 {
		errs = append(errs, field.Required(path.Child("accessModes"), "at least 1 access mode is required"))
	} else {
		errs = append(errs, validateAccessModes(s.AccessModes, path.Child("accessModes"))...)
	}
	if s.Selector != nil {
		errs = append(errs, metav1validation.ValidateLabelSelector(s.Selector, metav1validation.LabelSelectorValidationOptions{}, path.Child("selector"))...)
	}
	errs = append(errs, validateStorageRequest(s.Resources.Requests, path.Child("resources"))...)
	errs = append(errs, validateClassName(s.StorageClassName, path.Child("storageClassName"))...)
	if m := s.VolumeMode; m != nil {
		errs = append(errs, enum(string(*m), volumeModes, path.Child("volumeMode"))...)
	}
	if ds := s.DataSource; ds != nil {
		errs = append(errs, validateDataSource(ds.Name, ds.Kind, ds.APIGroup, path.Child("dataSource"))...)
	}
	if ref := s.DataSourceRef; ref != nil {
		errs = append(errs, validateDataSource(ref.Name, ref.Kind, ref.APIGroup, path.Child("dataSourceRef"))...)
		if ns := ref.Namespace; ns != nil && *ns != "" {
			for _, msg := range apimachineryvalidation.ValidateNamespaceName(*ns, false) {
				errs = append(errs, field.Invalid(path.Child("dataSourceRef", "namespace"), *ns, msg))
			}
		}
	}
	errs = append(errs, validateDataSources(s, path)...)
	return append(errs, validateClassName(s.VolumeAttributesClassName, path.Child("volumeAttributesClassName"))...)
}

// validateStorageRequest: a claim asks for some storage, under its
// resources at path. (kube's message shows the quantity as a string.)
func validateStorageRequest(requests corev1.ResourceList, path *field.Path) field.ErrorList {
	q, ok := requests[corev1.ResourceStorage]
	if !ok {
		return field.ErrorList{field.Required(path.Key(string(corev1.ResourceStorage)), "")}
	}
	if q.Cmp(resource.Quantity{}) <= 0 {
		return field.ErrorList{field.Invalid(path.Key(string(corev1.ResourceStorage)), q.String(), "must be greater than zero")}
	}
	return nil
}

// validateClassName is kube's ValidateClassName of a storage or volume
// attributes class a claim names: a DNS subdomain.
func validateClassName(name *string, path *field.Path) field.ErrorList {
	if name == nil || *name == "" {
		return nil
	}
	var errs field.ErrorList
	for _, msg := range apimachineryvalidation.NameIsDNSSubdomain(*name, false) {
		errs = append(errs, field.Invalid(path, *name, msg))
	}
	return errs
}

// validateDataSource is what kube's validateDataSource and
// validateDataSourceRef share: a name and a kind, a PersistentVolumeClaim
// in the core group, a DNS-subdomain API group otherwise.
func validateDataSource(name, kind string, apiGroup *string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if name == "" {
		errs = append(errs, field.Required(path.Child("name"), ""))
	}
	if kind == "" {
		errs = append(errs, field.Required(path.Child("kind"), ""))
	}
	group := ""
	if apiGroup != nil {
		group = *apiGroup
	}
	if group == "" && kind != "PersistentVolumeClaim" {
		errs = append(errs, field.Invalid(path, kind, "must be 'PersistentVolumeClaim' when referencing the default apiGroup"))
	}
	if group != "" {
		for _, msg := range validation.IsDNS1123Subdomain(group) {
			errs = append(errs, field.Invalid(path.Child("apiGroup"), group, msg))
		}
	}
	return errs
}

// validateDataSources: dataSource is the older, same-namespace form of
// dataSourceRef, so a claim giving both gives the same source, and one
// from another namespace has only dataSourceRef. (kube's bad value here
// is the path of dataSource, which shows as {}.)
func validateDataSources(s *corev1.PersistentVolumeClaimSpec, path *field.Path) field.ErrorList {
	ds, ref := s.DataSource, s.DataSourceRef
	switch {
	case ref != nil && ref.Namespace != nil && *ref.Namespace != "":
		if ds != nil {
			return field.ErrorList{field.Invalid(path, path.Child("dataSource"), "may not be specified when dataSourceRef.namespace is specified")}
		}
	case ds != nil && ref != nil:
		if !equality.Semantic.DeepEqual(ds.APIGroup, ref.APIGroup) || ds.Kind != ref.Kind || ds.Name != ref.Name {
			return field.ErrorList{field.Invalid(path, path.Child("dataSource"), "must match dataSourceRef")}
		}
	}
	return nil
}
