package storagegroup

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/registry"
	"kapi/internal/registry/core"
)

// storageClassHooks: kube's defaults (reclaim policy Delete, binding
// mode Immediate) and ValidateStorageClass and its update: a qualified
// provisioner, known policy and mode; parameters, provisioner, reclaim
// policy and binding mode never change.
var storageClassHooks = &registry.Hooks{
	Default: func(obj runtime.Object) { defaultStorageClass(obj.(*storagev1.StorageClass)) },
	Validate: func(obj, old runtime.Object) field.ErrorList {
		sc := obj.(*storagev1.StorageClass)
		var errs field.ErrorList
		if sc.Provisioner == "" {
			errs = append(errs, field.Required(field.NewPath("provisioner"), ""))
		} else {
			for _, msg := range validation.IsQualifiedName(strings.ToLower(sc.Provisioner)) {
				errs = append(errs, field.Invalid(field.NewPath("provisioner"), sc.Provisioner, msg))
			}
		}
		if p := *sc.ReclaimPolicy; p != corev1.PersistentVolumeReclaimDelete && p != corev1.PersistentVolumeReclaimRetain {
			errs = append(errs, field.NotSupported(field.NewPath("reclaimPolicy"), p, []string{string(corev1.PersistentVolumeReclaimDelete), string(corev1.PersistentVolumeReclaimRetain)}))
		}
		if m := *sc.VolumeBindingMode; m != storagev1.VolumeBindingImmediate && m != storagev1.VolumeBindingWaitForFirstConsumer {
			errs = append(errs, field.NotSupported(field.NewPath("volumeBindingMode"), m, []string{string(storagev1.VolumeBindingImmediate), string(storagev1.VolumeBindingWaitForFirstConsumer)}))
		}
		stored, ok := old.(*storagev1.StorageClass)
		if !ok {
			return errs
		}
		// (a class stored before its defaults were set has them now)
		was := stored.DeepCopy()
		defaultStorageClass(was)
		if !equality.Semantic.DeepEqual(was.Parameters, sc.Parameters) {
			errs = append(errs, field.Forbidden(field.NewPath("parameters"), "updates to parameters are forbidden."))
		}
		if sc.Provisioner != was.Provisioner {
			errs = append(errs, field.Forbidden(field.NewPath("provisioner"), "updates to provisioner are forbidden."))
		}
		if *sc.ReclaimPolicy != *was.ReclaimPolicy {
			errs = append(errs, field.Forbidden(field.NewPath("reclaimPolicy"), "updates to reclaimPolicy are forbidden."))
		}
		if *sc.VolumeBindingMode != *was.VolumeBindingMode {
			errs = append(errs, field.Invalid(field.NewPath("volumeBindingMode"), fmt.Sprint(*sc.VolumeBindingMode), "field is immutable"))
		}
		return errs
	},
	Warnings: storageClassWarnings,
}

func defaultStorageClass(sc *storagev1.StorageClass) {
	if sc.ReclaimPolicy == nil {
		p := corev1.PersistentVolumeReclaimDelete
		sc.ReclaimPolicy = &p
	}
	if sc.VolumeBindingMode == nil {
		m := storagev1.VolumeBindingImmediate
		sc.VolumeBindingMode = &m
	}
}

// csiDriverHooks set kube's defaults (SetDefaults_CSIDriver): attach
// required, no pod info on mount, no storage capacity, fsGroup policy
// ReadWriteOnceWithFSType, persistent volumes, no republish, no SELinux
// mount.
var csiDriverHooks = &registry.Hooks{
	Default:  func(obj runtime.Object) { defaultCSIDriver(&obj.(*storagev1.CSIDriver).Spec) },
	Validate: validateCSIDriver,
}

func defaultCSIDriver(s *storagev1.CSIDriverSpec) {
	for _, b := range []struct {
		p   **bool
		def bool
	}{{&s.AttachRequired, true}, {&s.PodInfoOnMount, false}, {&s.StorageCapacity, false}, {&s.RequiresRepublish, false}, {&s.SELinuxMount, false}} {
		if *b.p == nil {
			v := b.def
			*b.p = &v
		}
	}
	if s.FSGroupPolicy == nil {
		p := storagev1.ReadWriteOnceWithFSTypeFSGroupPolicy
		s.FSGroupPolicy = &p
	}
	if len(s.VolumeLifecycleModes) == 0 {
		s.VolumeLifecycleModes = []storagev1.VolumeLifecycleMode{storagev1.VolumeLifecyclePersistent}
	}
}

// storageClassWarnings: deprecated node labels in the allowed
// topologies, on every write.
func storageClassWarnings(obj, _ runtime.Object) []string {
	var w []string
	for i, t := range obj.(*storagev1.StorageClass).AllowedTopologies {
		for j, e := range t.MatchLabelExpressions {
			if msg, ok := core.DeprecatedNodeLabel(e.Key); ok {
				w = append(w, fmt.Sprintf("%s: %s", field.NewPath("allowedTopologies").Index(i).Child("matchLabelExpressions").Index(j).Child("key"), msg))
			}
		}
	}
	return w
}

// csiStorageCapacityWarnings: deprecated node labels in the node
// topology, on every write.
func csiStorageCapacityWarnings(obj, _ runtime.Object) []string {
	sel := obj.(*storagev1.CSIStorageCapacity).NodeTopology
	if sel == nil {
		return nil
	}
	path := field.NewPath("nodeTopology")
	var w []string
	for i, e := range sel.MatchExpressions {
		if msg, ok := core.DeprecatedNodeLabel(e.Key); ok {
			w = append(w, fmt.Sprintf("%s: %s is %s", path.Child("matchExpressions").Index(i).Child("key"), e.Key, msg))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(sel.MatchLabels)) {
		if msg, ok := core.DeprecatedNodeLabel(k); ok {
			w = append(w, fmt.Sprintf("%s: %s", path.Child("matchLabels").Child(k), msg))
		}
	}
	return w
}
