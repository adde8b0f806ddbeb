package admission

import (
	"context"
	"fmt"
	"slices"
	"sort"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	// isDefaultStorageClass marks the default StorageClass ("true"), and
	// its beta spelling.
	isDefaultStorageClass     = "storageclass.kubernetes.io/is-default-class"
	isDefaultStorageClassBeta = "storageclass.beta.kubernetes.io/is-default-class"
	// betaStorageClass names a claim's class before spec.storageClassName.
	betaStorageClass = "volume.beta.kubernetes.io/storage-class"
	// The finalizers StorageObjectInUseProtection adds.
	PVCProtectionFinalizer = "kubernetes.io/pvc-protection"
	PVProtectionFinalizer  = "kubernetes.io/pv-protection"
)

// DefaultStorageClass is kube-apiserver's plugin of the same name: a
// PersistentVolumeClaim created without a class (neither
// spec.storageClassName nor the beta annotation) gets the default
// StorageClass, the newest when several are marked default.
type DefaultStorageClass struct {
	StorageClasses Objects
}

// Admit sets the class.
func (p *DefaultStorageClass) Admit(ctx context.Context, a *Attributes) error {
	if a.Operation != Create || !is(a, "", "persistentvolumeclaims") || a.Subresource != "" {
		return nil
	}
	pvc, ok := a.Object.(*corev1.PersistentVolumeClaim)
	if !ok {
		return nil
	}
	if _, ok := pvc.Annotations[betaStorageClass]; ok || pvc.Spec.StorageClassName != nil {
		return nil
	}
	objs, err := p.StorageClasses.List(ctx, "")
	if err != nil {
		return Forbidden(a, err)
	}
	var defaults []metav1.Object
	for _, o := range objs {
		sc, ok := o.(*storagev1.StorageClass)
		if ok && (sc.Annotations[isDefaultStorageClass] == "true" || sc.Annotations[isDefaultStorageClassBeta] == "true") {
			defaults = append(defaults, sc)
		}
	}
	if def := newest(defaults); def != nil {
		pvc.Spec.StorageClassName = ptrTo(def.GetName())
	}
	return nil
}

// newest is the object created last, by name when two were created at
// once; nil for none.
func newest(objs []metav1.Object) metav1.Object {
	if len(objs) == 0 {
		return nil
	}
	sort.Slice(objs, func(i, j int) bool {
		ti, tj := objs[i].GetCreationTimestamp().UnixNano(), objs[j].GetCreationTimestamp().UnixNano()
		if ti == tj {
			return objs[i].GetName() < objs[j].GetName()
		}
		return ti > tj
	})
	return objs[0]
}

// StorageObjectInUseProtection is kube-apiserver's plugin of the same
// name: new PersistentVolumeClaims get the kubernetes.io/pvc-protection
// finalizer and new PersistentVolumes kubernetes.io/pv-protection, so
// that they outlive their users.
type StorageObjectInUseProtection struct{}

// Admit adds the finalizers.
func (StorageObjectInUseProtection) Admit(_ context.Context, a *Attributes) error {
	if a.Operation != Create || a.Subresource != "" {
		return nil
	}
	var m *metav1.ObjectMeta
	var finalizer string
	switch o := a.Object.(type) {
	case *corev1.PersistentVolumeClaim:
		if !is(a, "", "persistentvolumeclaims") {
			return nil
		}
		m, finalizer = &o.ObjectMeta, PVCProtectionFinalizer
	case *corev1.PersistentVolume:
		if !is(a, "", "persistentvolumes") {
			return nil
		}
		m, finalizer = &o.ObjectMeta, PVProtectionFinalizer
	default:
		return nil
	}
	if !slices.Contains(m.Finalizers, finalizer) {
		m.Finalizers = append(m.Finalizers, finalizer)
	}
	return nil
}

// PersistentVolumeClaimResize is kube-apiserver's plugin of the same
// name: a claim may grow only when it is bound and its StorageClass
// (unchanged) allows volume expansion. Shrinking is refused by the
// claim's validation.
type PersistentVolumeClaimResize struct {
	StorageClasses Objects
}

// Validate checks claim updates that ask for more storage.
func (p *PersistentVolumeClaimResize) Validate(ctx context.Context, a *Attributes) error {
	if a.Operation != Update || !is(a, "", "persistentvolumeclaims") || a.Subresource != "" {
		return nil
	}
	pvc, ok := a.Object.(*corev1.PersistentVolumeClaim)
	if !ok {
		return nil
	}
	old, ok := a.OldObject.(*corev1.PersistentVolumeClaim)
	if !ok {
		return nil
	}
	oldSize, newSize := storageRequest(old), storageRequest(pvc)
	if newSize.Cmp(oldSize) <= 0 {
		return nil
	}
	if old.Status.Phase != corev1.ClaimBound {
		return Forbidden(a, fmt.Errorf("Only bound persistent volume claims can be expanded"))
	}
	if !p.allowResize(ctx, pvc, old) {
		return Forbidden(a, fmt.Errorf("only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize"))
	}
	return nil
}

func storageRequest(pvc *corev1.PersistentVolumeClaim) resource.Quantity {
	return pvc.Spec.Resources.Requests[corev1.ResourceStorage]
}

func (p *PersistentVolumeClaimResize) allowResize(ctx context.Context, pvc, old *corev1.PersistentVolumeClaim) bool {
	class, oldClass := claimClass(pvc), claimClass(old)
	if class == "" || oldClass == "" || class != oldClass {
		return false
	}
	obj, err := p.StorageClasses.Get(ctx, "", class)
	if err != nil {
		return false
	}
	sc, ok := obj.(*storagev1.StorageClass)
	return ok && sc.AllowVolumeExpansion != nil && *sc.AllowVolumeExpansion
}

// claimClass is a claim's StorageClass: the beta annotation first.
func claimClass(pvc *corev1.PersistentVolumeClaim) string {
	if c, ok := pvc.Annotations[betaStorageClass]; ok {
		return c
	}
	if pvc.Spec.StorageClassName != nil {
		return *pvc.Spec.StorageClassName
	}
	return ""
}
