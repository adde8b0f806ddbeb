package storagegroup

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func paths(errs field.ErrorList) string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Field+": "+e.Type.String())
	}
	return strings.Join(out, "; ")
}

// TestStorageClasses: kube's defaults, validation and immutable fields.
func TestStorageClasses(t *testing.T) {
	sc := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "fast"}, Provisioner: "example.com/disk"}
	storageClassHooks.PrepareCreate(sc)
	if *sc.ReclaimPolicy != corev1.PersistentVolumeReclaimDelete || *sc.VolumeBindingMode != storagev1.VolumeBindingImmediate {
		t.Errorf("defaults: %s %s", *sc.ReclaimPolicy, *sc.VolumeBindingMode)
	}
	if errs := storageClassHooks.Validate(sc, nil); len(errs) > 0 {
		t.Errorf("a valid class: %v", errs)
	}
	bad := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "bad"}}
	recycle := corev1.PersistentVolumeReclaimRecycle
	bad.ReclaimPolicy = &recycle
	storageClassHooks.PrepareCreate(bad)
	if got := paths(storageClassHooks.Validate(bad, nil)); got != "provisioner: Required value; reclaimPolicy: Unsupported value" {
		t.Errorf("a class without provisioner, recycling: %q", got)
	}
	changed := sc.DeepCopy()
	changed.Provisioner, changed.Parameters = "example.com/other", map[string]string{"a": "b"}
	retain, wait := corev1.PersistentVolumeReclaimRetain, storagev1.VolumeBindingWaitForFirstConsumer
	changed.ReclaimPolicy, changed.VolumeBindingMode = &retain, &wait
	if got := paths(storageClassHooks.Validate(changed, sc)); got != "parameters: Forbidden; provisioner: Forbidden; reclaimPolicy: Forbidden; volumeBindingMode: Invalid value" {
		t.Errorf("changing a class: %q", got)
	}
	// A class stored before kapi set these defaults is updated as one
	// that has them.
	bare := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "fast"}, Provisioner: "example.com/disk"}
	if errs := storageClassHooks.Validate(sc, bare); len(errs) > 0 {
		t.Errorf("updating a class stored without defaults: %v", errs)
	}
}

// TestCSIDriverDefaults: kube's SetDefaults_CSIDriver.
func TestCSIDriverDefaults(t *testing.T) {
	d := &storagev1.CSIDriver{ObjectMeta: metav1.ObjectMeta{Name: "d"}}
	csiDriverHooks.PrepareCreate(d)
	s := d.Spec
	if !*s.AttachRequired || *s.PodInfoOnMount || *s.StorageCapacity || *s.RequiresRepublish || *s.SELinuxMount ||
		*s.FSGroupPolicy != storagev1.ReadWriteOnceWithFSTypeFSGroupPolicy || len(s.VolumeLifecycleModes) != 1 || s.VolumeLifecycleModes[0] != storagev1.VolumeLifecyclePersistent {
		t.Errorf("defaults: %+v", s)
	}
}
