package storagegroup

import (
	"fmt"
	"slices"

	storagev1 "k8s.io/api/storage/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// validateCSIDriver is kube's ValidateCSIDriver and its update: the
// switches are set (kapi defaults them), the policies and modes known,
// token requests of distinct audiences and sane lengths; attachRequired
// and the lifecycle modes never change.
func validateCSIDriver(obj, old runtime.Object) field.ErrorList {
	s := &obj.(*storagev1.CSIDriver).Spec
	spec := field.NewPath("spec")
	var errs field.ErrorList
	for _, b := range []struct {
		name string
		v    *bool
	}{
		// (kube's path says "attachedRequired")
		{"attachedRequired", s.AttachRequired}, {"podInfoOnMount", s.PodInfoOnMount},
		{"storageCapacity", s.StorageCapacity}, {"seLinuxMount", s.SELinuxMount},
	} {
		if b.v == nil {
			errs = append(errs, field.Required(spec.Child(b.name), ""))
		}
	}
	policies := []string{string(storagev1.FileFSGroupPolicy), string(storagev1.NoneFSGroupPolicy), string(storagev1.ReadWriteOnceWithFSTypeFSGroupPolicy)}
	if p := s.FSGroupPolicy; p != nil && !slices.Contains(policies, string(*p)) {
		errs = append(errs, field.NotSupported(spec.Child("fsGroupPolicy"), p, policies))
	}
	audiences := map[string]bool{}
	for i, r := range s.TokenRequests {
		p := spec.Child("tokenRequests").Index(i)
		if audiences[r.Audience] {
			errs = append(errs, field.Duplicate(p.Child("audience"), r.Audience))
			continue
		}
		audiences[r.Audience] = true
		if e := r.ExpirationSeconds; e != nil && *e < 600 {
			errs = append(errs, field.Invalid(p.Child("expirationSeconds"), *e, "may not specify a duration less than 10 minutes"))
		} else if e != nil && *e > 1<<32 {
			errs = append(errs, field.Invalid(p.Child("expirationSeconds"), *e, "may not specify a duration larger than 2^32 seconds"))
		}
	}
	for _, m := range s.VolumeLifecycleModes {
		if m != storagev1.VolumeLifecyclePersistent && m != storagev1.VolumeLifecycleEphemeral {
			errs = append(errs, field.NotSupported(spec.Child("volumeLifecycleModes"), m,
				[]string{string(storagev1.VolumeLifecyclePersistent), string(storagev1.VolumeLifecycleEphemeral)}))
		}
	}
	if p := s.NodeAllocatableUpdatePeriodSeconds; p != nil && *p < 10 {
		errs = append(errs, field.Invalid(spec.Child("nodeAllocatableUpdatePeriodSeconds"), *p, "must be greater than or equal to 10 seconds"))
	}
	if o, ok := old.(*storagev1.CSIDriver); ok {
		was := o.Spec.DeepCopy() // (a driver stored before its defaults were set has them now)
		defaultCSIDriver(was)
		errs = append(errs, apimachineryvalidation.ValidateImmutableField(s.AttachRequired, was.AttachRequired, spec.Child("attachedRequired"))...)
		errs = append(errs, apimachineryvalidation.ValidateImmutableField(s.VolumeLifecycleModes, was.VolumeLifecycleModes, spec.Child("volumeLifecycleModes"))...)
	}
	return errs
}

// csiNodeIDMaxLength is the longest node ID kube-apiserver takes (its
// AllowLongNodeID).
const csiNodeIDMaxLength = 256

// validateCSINode is kube's ValidateCSINode and its update: each driver
// named once and as a CSI driver, with a node ID, a non-negative volume
// count and distinct qualified topology keys; a driver's entry never
// changes but for its count.
func validateCSINode(obj, old runtime.Object) field.ErrorList {
	drivers := obj.(*storagev1.CSINode).Spec.Drivers
	path := field.NewPath("spec", "drivers")
	var errs field.ErrorList
	names := map[string]bool{}
	for i, d := range drivers {
		p := path.Index(i)
		errs = append(errs, validateCSIDriverName(d.Name, p.Child("name"))...)
		if d.NodeID == "" {
			errs = append(errs, field.Required(p.Child("nodeID"), d.NodeID))
		}
		if len(d.NodeID) > csiNodeIDMaxLength {
			errs = append(errs, field.Invalid(p.Child("nodeID"), d.NodeID, fmt.Sprintf("must be %d characters or less", csiNodeIDMaxLength)))
		}
		if a := d.Allocatable; a != nil && a.Count != nil {
			errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(int64(*a.Count), p.Child("allocatable", "count"))...)
		}
		if names[d.Name] {
			errs = append(errs, field.Duplicate(p.Child("name"), d.Name))
		}
		names[d.Name] = true
		keys := map[string]bool{}
		for _, k := range d.TopologyKeys {
			if k == "" {
				errs = append(errs, field.Required(p, k))
			}
			if keys[k] {
				errs = append(errs, field.Duplicate(p, k))
			}
			keys[k] = true
			for _, msg := range validation.IsQualifiedName(k) {
				errs = append(errs, field.Invalid(p, k, msg))
			}
		}
	}
	o, ok := old.(*storagev1.CSINode)
	if !ok {
		return errs
	}
	for _, was := range o.Spec.Drivers {
		for _, d := range drivers {
			if d.Name == was.Name {
				a, b := d.DeepCopy(), was.DeepCopy()
				a.Allocatable, b.Allocatable = nil, nil
				errs = append(errs, apimachineryvalidation.ValidateImmutableField(a, b, path)...)
			}
		}
	}
	return errs
}
