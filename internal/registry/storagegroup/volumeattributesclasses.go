package storagegroup

import (
	"reflect"
	"strings"

	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/registry"
)

// How many parameters a class may have, and how long they may be in all
// (kube's provisioner parameter limits).
const (
	maxParameters    = 512
	maxParameterSize = 256 << 10
)

// volumeAttributesClassHooks validate a VolumeAttributesClass as kube's
// ValidateVolumeAttributesClass and its update: a driver name that is a
// qualified name (in any case), at least one parameter; the driver name
// and parameters never change. Its strategy resets nothing.
var volumeAttributesClassHooks = &registry.Hooks{
	Validate: func(obj, old runtime.Object) field.ErrorList {
		vac := obj.(*storagev1.VolumeAttributesClass)
		var errs field.ErrorList
		if o, ok := old.(*storagev1.VolumeAttributesClass); ok {
			if vac.DriverName != o.DriverName {
				errs = append(errs, field.Forbidden(field.NewPath("driverName"), "updates to driverName are forbidden."))
			}
			if !reflect.DeepEqual(o.Parameters, vac.Parameters) {
				errs = append(errs, field.Forbidden(field.NewPath("parameters"), "updates to parameters are forbidden."))
			}
		}
		errs = append(errs, validateProvisioner(vac.DriverName, field.NewPath("driverName"))...)
		return append(errs, validateParameters(vac.Parameters, false, field.NewPath("parameters"))...)
	},
}

// validateProvisioner is kube's: a qualified name, checked in lower case.
func validateProvisioner(provisioner string, path *field.Path) field.ErrorList {
	if provisioner == "" {
		return field.ErrorList{field.Required(path, "")}
	}
	var errs field.ErrorList
	lower := strings.ToLower(provisioner)
	for _, msg := range validation.IsQualifiedName(lower) {
		errs = append(errs, field.Invalid(path, lower, msg))
	}
	return errs
}

// validateParameters is kube's: at most 512 parameters of 256 KiB in all,
// none of an empty key; none at all only when allowEmpty.
func validateParameters(params map[string]string, allowEmpty bool, path *field.Path) field.ErrorList {
	if len(params) > maxParameters {
		return field.ErrorList{field.TooLong(path, "", maxParameters)}
	}
	var errs field.ErrorList
	size := 0
	for k, v := range params {
		if k == "" {
			errs = append(errs, field.Invalid(path, k, "field can not be empty."))
		}
		size += len(k) + len(v)
	}
	if size > maxParameterSize {
		errs = append(errs, field.TooLong(path, "", maxParameterSize))
	}
	if !allowEmpty && len(params) == 0 {
		errs = append(errs, field.Required(path, "must contain at least one key/value pair"))
	}
	return errs
}
