package storagegroup

import (
	"math"
	"strings"

	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/registry"
	"kapi/internal/registry/core"
)

// What a VolumeAttachment's status may hold (kube's limits).
const (
	maxAttachedVolumeMetadataSize = 256 << 10
	maxVolumeErrorMessageSize     = 1024
)

// volumeAttachmentHooks: kube's ValidateVolumeAttachment with its v1
// checks on create, and an immutable spec. The status subresource's
// writes are validated the same way, as kube's status strategy inherits
// the update's validation. An inline volume spec has the defaults of a
// persistent volume's source, and its capacity rounded to milli units
// (SetObjectDefaults_VolumeAttachment; validation allows neither a
// capacity nor a source other than CSI there, so these only show in its
// errors, as kube's).
var volumeAttachmentHooks = &registry.Hooks{
	Default: func(obj runtime.Object) { defaultVolumeAttachment(obj.(*storagev1.VolumeAttachment)) },
	Validate: func(obj, old runtime.Object) field.ErrorList {
		va := obj.(*storagev1.VolumeAttachment)
		errs := validateVolumeAttachment(va)
		if old == nil {
			errs = append(errs, validateCSIDriverName(va.Spec.Attacher, field.NewPath("spec.attacher"))...)
			if pv := va.Spec.Source.PersistentVolumeName; pv != nil {
				for _, msg := range validation.IsDNS1123Subdomain(*pv) {
					errs = append(errs, field.Invalid(field.NewPath("spec.source.persistentVolumeName"), *pv, msg))
				}
			}
			return errs
		}
		if !equality.Semantic.DeepEqual(va.Spec, old.(*storagev1.VolumeAttachment).Spec) {
			errs = append(errs, field.Invalid(field.NewPath("spec"), va.Spec, "field is immutable"))
		}
		return errs
	},
}

func defaultVolumeAttachment(va *storagev1.VolumeAttachment) {
	if pv := va.Spec.Source.InlineVolumeSpec; pv != nil {
		core.RoundResourceLists(pv.Capacity)
		core.DefaultPersistentVolumeSource(&pv.PersistentVolumeSource)
	}
}

func validateVolumeAttachment(va *storagev1.VolumeAttachment) field.ErrorList {
	spec := field.NewPath("spec")
	var errs field.ErrorList
	if va.Spec.Attacher == "" {
		errs = append(errs, field.Required(spec.Child("attacher"), ""))
	}
	src, source := &va.Spec.Source, spec.Child("source")
	switch {
	case src.InlineVolumeSpec == nil && src.PersistentVolumeName == nil:
		errs = append(errs, field.Required(source, "must specify exactly one of inlineVolumeSpec and persistentVolumeName"))
	case src.InlineVolumeSpec != nil && src.PersistentVolumeName != nil:
		errs = append(errs, field.Forbidden(source, "must specify exactly one of inlineVolumeSpec and persistentVolumeName"))
	case src.PersistentVolumeName != nil:
		if *src.PersistentVolumeName == "" {
			errs = append(errs, field.Required(source.Child("persistentVolumeName"), "must specify non empty persistentVolumeName"))
		}
	default:
		// An inline volume is a CSI volume of no capacity and no claim.
		inline, p := src.InlineVolumeSpec, source.Child("inlineVolumeSpec")
		if inline.ClaimRef != nil {
			errs = append(errs, field.Forbidden(p.Child("claimRef"), "may not be specified in the context of inline volumes"))
		}
		if len(inline.Capacity) != 0 {
			errs = append(errs, field.Forbidden(p.Child("capacity"), "may not be specified in the context of inline volumes"))
		}
		if inline.CSI == nil {
			errs = append(errs, field.Required(p.Child("csi"), "has to be specified in the context of inline volumes"))
		}
		if len(inline.AccessModes) == 0 {
			errs = append(errs, field.Required(p.Child("accessModes"), ""))
		}
	}
	for _, msg := range validation.IsDNS1123Subdomain(va.Spec.NodeName) {
		errs = append(errs, field.Invalid(spec.Child("nodeName"), va.Spec.NodeName, msg))
	}
	status := field.NewPath("status")
	size := 0
	for k, v := range va.Status.AttachmentMetadata {
		size += len(k) + len(v)
	}
	if size > maxAttachedVolumeMetadataSize {
		errs = append(errs, field.TooLong(status.Child("attachmentMetadata"), "", maxAttachedVolumeMetadataSize))
	}
	for _, ve := range []struct {
		name string
		e    *storagev1.VolumeError
	}{{"attachError", va.Status.AttachError}, {"detachError", va.Status.DetachError}} {
		name, e := ve.name, ve.e
		if e == nil {
			continue
		}
		if len(e.Message) > maxVolumeErrorMessageSize {
			// (kube names the metadata's limit here)
			errs = append(errs, field.TooLong(status.Child(name, "message"), "", maxAttachedVolumeMetadataSize))
		}
		if e.ErrorCode != nil && *e.ErrorCode < 0 {
			errs = append(errs, field.Invalid(status.Child(name, "errorCode"), *e.ErrorCode, validation.InclusiveRangeError(0, math.MaxInt32)))
		}
	}
	return errs
}

// validateCSIDriverName is kube's: a DNS subdomain (in any case) of at
// most 63 characters.
func validateCSIDriverName(name string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if name == "" {
		errs = append(errs, field.Required(path, ""))
	}
	if len(name) > 63 {
		errs = append(errs, field.TooLong(path, name, 63))
	}
	for _, msg := range validation.IsDNS1123Subdomain(strings.ToLower(name)) {
		errs = append(errs, field.Invalid(path, name, msg))
	}
	return errs
}
