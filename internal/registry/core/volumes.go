package core

import (
	"reflect"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/registry"
)

// persistentVolumeHooks: kube's defaults (defaultPersistentVolume), a
// new volume starts Pending, and the spec is
// validated as kube's ValidatePersistentVolume does in its main points:
// access modes, a storage capacity, exactly one volume source, known
// policies and modes; the volume mode never changes.
var persistentVolumeHooks = &registry.Hooks{
	Default: func(obj runtime.Object) { defaultPersistentVolume(obj.(*corev1.PersistentVolume)) },
	PrepareForCreate: func(obj runtime.Object) {
		pv := obj.(*corev1.PersistentVolume)
		now := metav1.NewTime(time.Now().Truncate(time.Second))
		pv.Status.Phase, pv.Status.LastPhaseTransitionTime = corev1.VolumePending, &now
	},
	Validate: func(obj, old runtime.Object) field.ErrorList {
		pv := obj.(*corev1.PersistentVolume)
		spec := field.NewPath("spec")
		errs := validateAccessModes(pv.Spec.AccessModes, spec.Child("accessModes"))
		switch q, ok := pv.Spec.Capacity[corev1.ResourceStorage]; {
		case len(pv.Spec.Capacity) == 0:
			errs = append(errs, field.Required(spec.Child("capacity"), ""))
		case !ok || len(pv.Spec.Capacity) > 1:
			errs = append(errs, field.NotSupported(spec.Child("capacity"), capacityKeys(pv.Spec.Capacity), []string{string(corev1.ResourceStorage)}))
		case q.Sign() < 0:
			errs = append(errs, field.Invalid(spec.Child("capacity").Key(string(corev1.ResourceStorage)), q.String(), "must be greater than or equal to 0"))
		}
		errs = append(errs, validateOneSource(&pv.Spec.PersistentVolumeSource, spec)...)
		errs = append(errs, enum(string(pv.Spec.PersistentVolumeReclaimPolicy), reclaimPolicies, spec.Child("persistentVolumeReclaimPolicy"))...)
		if m := pv.Spec.VolumeMode; m != nil {
			errs = append(errs, enum(string(*m), volumeModes, spec.Child("volumeMode"))...)
		}
		if old, ok := old.(*corev1.PersistentVolume); ok {
			// (a volume stored before its defaults were set has them now)
			was := old.DeepCopy()
			defaultPersistentVolume(was)
			if !equality.Semantic.DeepEqual(pv.Spec.VolumeMode, was.Spec.VolumeMode) {
				errs = append(errs, field.Invalid(spec.Child("volumeMode"), pv.Spec.VolumeMode, "field is immutable"))
			}
		}
		return errs
	},
	Warnings: persistentVolumeWarnings,
}

// defaultPersistentVolume is kube's SetObjectDefaults_PersistentVolume:
// reclaim policy Retain, volume mode Filesystem, the phase Pending when a
// write (a status one too) leaves it empty, the capacity rounded to milli
// units, and the source's defaults.
func defaultPersistentVolume(pv *corev1.PersistentVolume) {
	if pv.Status.Phase == "" {
		pv.Status.Phase = corev1.VolumePending
	}
	RoundResourceLists(pv.Spec.Capacity)
	DefaultPersistentVolumeSource(&pv.Spec.PersistentVolumeSource)
	if pv.Spec.PersistentVolumeReclaimPolicy == "" {
		pv.Spec.PersistentVolumeReclaimPolicy = corev1.PersistentVolumeReclaimRetain
	}
	if pv.Spec.VolumeMode == nil {
		m := corev1.PersistentVolumeFilesystem
		pv.Spec.VolumeMode = &m
	}
}

// persistentVolumeClaimHooks: kube's defaults (DefaultPersistentVolumeClaim),
// a new claim starts Pending; its spec is kube's valid claim spec
// (ValidatePersistentVolumeClaimSpec), and is immutable but for the storage request of a bound claim
// (not below what it has) and its volume attributes class, as kube's
// ValidatePersistentVolumeClaimUpdate.
var persistentVolumeClaimHooks = &registry.Hooks{
	Default:          func(obj runtime.Object) { DefaultPersistentVolumeClaim(obj.(*corev1.PersistentVolumeClaim)) },
	PrepareForCreate: func(obj runtime.Object) { obj.(*corev1.PersistentVolumeClaim).Status.Phase = corev1.ClaimPending },
	Validate: func(obj, old runtime.Object) field.ErrorList {
		pvc := obj.(*corev1.PersistentVolumeClaim)
		spec := field.NewPath("spec")
		errs := ValidatePersistentVolumeClaimSpec(&pvc.Spec, spec)
		stored, ok := old.(*corev1.PersistentVolumeClaim)
		if !ok {
			return errs
		}
		// (a claim stored before its defaults were set has them now)
		was := stored.DeepCopy()
		defaultClaimSpec(&was.Spec)
		cmp := pvc.Spec.DeepCopy()
		cmp.VolumeAttributesClassName = was.Spec.VolumeAttributesClassName
		// The volume controller binds a claim by setting its volumeName,
		// once; and gives a claim without a class the default one (or
		// the class its beta annotation names), as kube allows.
		if was.Spec.VolumeName == "" {
			cmp.VolumeName = ""
		}
		if was.Spec.StorageClassName == nil && cmp.StorageClassName != nil {
			if ann, ok := was.Annotations[corev1.BetaStorageClassAnnotation]; !ok || ann == *cmp.StorageClassName {
				cmp.StorageClassName = nil
			}
		}
		bound := was.Status.Phase == corev1.ClaimBound
		if bound && cmp.Resources.Requests != nil {
			if q, ok := was.Spec.Resources.Requests[corev1.ResourceStorage]; ok {
				cmp.Resources.Requests[corev1.ResourceStorage] = q
			}
		}
		if !equality.Semantic.DeepEqual(cmp, &was.Spec) {
			errs = append(errs, field.Forbidden(spec, "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims"))
		} else if bound {
			now, capacity := pvc.Spec.Resources.Requests[corev1.ResourceStorage], was.Status.Capacity[corev1.ResourceStorage]
			if !capacity.IsZero() && now.Cmp(capacity) < 0 {
				errs = append(errs, field.Forbidden(spec.Child("resources", "requests", "storage"), "field can not be less than status.capacity"))
			}
		}
		return errs
	},
	Warnings: persistentVolumeClaimWarnings,
}

// DefaultPersistentVolumeClaim is kube's SetObjectDefaults_PersistentVolumeClaim,
// which apps/v1 also runs on a stateful set's volumeClaimTemplates: the
// phase Pending when a write (a status one too) leaves it empty, the
// spec's defaults, and the status's quantities rounded to milli units.
func DefaultPersistentVolumeClaim(pvc *corev1.PersistentVolumeClaim) {
	if pvc.Status.Phase == "" {
		pvc.Status.Phase = corev1.ClaimPending
	}
	defaultClaimSpec(&pvc.Spec)
	RoundResourceLists(pvc.Status.Capacity, pvc.Status.AllocatedResources)
}

// defaultClaimSpec is kube's SetDefaults_PersistentVolumeClaimSpec, of
// claims and claim templates: volume mode Filesystem; and the requests
// and limits rounded to milli units.
func defaultClaimSpec(s *corev1.PersistentVolumeClaimSpec) {
	if s.VolumeMode == nil {
		m := corev1.PersistentVolumeFilesystem
		s.VolumeMode = &m
	}
	RoundResourceLists(s.Resources.Limits, s.Resources.Requests)
}

// DefaultPersistentVolumeSource is what kube's generated defaulters give
// the source of a persistent volume, and of the inline volume spec of a
// VolumeAttachment: hostPath type "" and the legacy sources' declarative
// defaults.
func DefaultPersistentVolumeSource(s *corev1.PersistentVolumeSource) {
	if s.HostPath != nil {
		defaultHostPath(s.HostPath)
	}
	if r := s.RBD; r != nil {
		rbdDefaults(&r.RBDPool, &r.RadosUser, &r.Keyring)
	}
	if i := s.ISCSI; i != nil {
		setEmpty(&i.ISCSIInterface, "default")
	}
	if d := s.AzureDisk; d != nil {
		defaultAzureDisk(d)
	}
	if c := s.ScaleIO; c != nil {
		scaleIODefaults(&c.StorageMode, &c.FSType)
	}
}

var (
	// (sorted, as kube's messages list them)
	knownAccessModes = []string{string(corev1.ReadOnlyMany), string(corev1.ReadWriteMany), string(corev1.ReadWriteOnce), string(corev1.ReadWriteOncePod)}
	reclaimPolicies  = []string{string(corev1.PersistentVolumeReclaimDelete), string(corev1.PersistentVolumeReclaimRecycle), string(corev1.PersistentVolumeReclaimRetain)}
	volumeModes      = []string{string(corev1.PersistentVolumeBlock), string(corev1.PersistentVolumeFilesystem)}
)

// validateAccessModes is kube's: at least one, each known, and
// ReadWriteOncePod alone.
func validateAccessModes(modes []corev1.PersistentVolumeAccessMode, path *field.Path) field.ErrorList {
	if len(modes) == 0 {
		return field.ErrorList{field.Required(path, "")}
	}
	var errs field.ErrorList
	pod := false
	for _, m := range modes {
		pod = pod || m == corev1.ReadWriteOncePod
		if !slices.Contains(knownAccessModes, string(m)) {
			errs = append(errs, field.NotSupported(path, m, knownAccessModes))
		}
	}
	if pod && len(modes) > 1 {
		errs = append(errs, field.Forbidden(path, "may not use ReadWriteOncePod with other access modes"))
	}
	return errs
}

func capacityKeys(c corev1.ResourceList) string {
	return strings.Join(sortedNames(c), ",")
}

// validateOneSource: a persistent volume has exactly one source (one of
// the pointer fields of PersistentVolumeSource), kube's "must specify a
// volume type" and "may not specify more than 1 volume type".
func validateOneSource(src *corev1.PersistentVolumeSource, spec *field.Path) field.ErrorList {
	v := reflect.ValueOf(src).Elem()
	var errs field.ErrorList
	n := 0
	for i := 0; i < v.NumField(); i++ {
		if v.Field(i).Kind() != reflect.Pointer || v.Field(i).IsNil() {
			continue
		}
		if n++; n > 1 {
			name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ",")
			errs = append(errs, field.Forbidden(spec.Child(name), "may not specify more than 1 volume type"))
		}
	}
	if n == 0 {
		errs = append(errs, field.Required(spec, "must specify a volume type"))
	}
	return errs
}
