package core

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"kapi/internal/registry/fieldtest"
)

// TestPersistentVolumes: kube's defaults and the main points of its
// validation of volumes and claims.
func TestPersistentVolumes(t *testing.T) {
	pv := func(mut func(*corev1.PersistentVolume)) *corev1.PersistentVolume {
		v := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv"}, Spec: corev1.PersistentVolumeSpec{
			AccessModes:            []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Capacity:               corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
			PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/data"}}}}
		if mut != nil {
			mut(v)
		}
		return v
	}
	v := pv(nil)
	if errs := create(persistentVolumeHooks, v); len(errs) > 0 {
		t.Fatalf("a valid volume: %v", errs)
	}
	if v.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimRetain || *v.Spec.VolumeMode != corev1.PersistentVolumeFilesystem ||
		v.Status.Phase != corev1.VolumePending || v.Status.LastPhaseTransitionTime == nil {
		t.Errorf("defaults of a volume: %s %v %s", v.Spec.PersistentVolumeReclaimPolicy, v.Spec.VolumeMode, v.Status.Phase)
	}
	for _, c := range []struct {
		name string
		mut  func(*corev1.PersistentVolume)
		want string
	}{
		{"no access modes", func(v *corev1.PersistentVolume) { v.Spec.AccessModes = nil }, "spec.accessModes: Required value"},
		{"odd access mode", func(v *corev1.PersistentVolume) {
			v.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{"Sometimes"}
		}, "spec.accessModes: Unsupported value"},
		{"pod with others", func(v *corev1.PersistentVolume) {
			v.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOncePod, corev1.ReadOnlyMany}
		}, "spec.accessModes: Forbidden"},
		{"no capacity", func(v *corev1.PersistentVolume) { v.Spec.Capacity = nil }, "spec.capacity: Required value"},
		{"cpu capacity", func(v *corev1.PersistentVolume) {
			v.Spec.Capacity = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}
		}, "spec.capacity: Unsupported value"},
		{"no source", func(v *corev1.PersistentVolume) { v.Spec.HostPath = nil }, "spec: Required value"},
		{"two sources", func(v *corev1.PersistentVolume) { v.Spec.NFS = &corev1.NFSVolumeSource{Server: "s", Path: "/p"} }, "spec.nfs: Forbidden"},
		{"odd policy", func(v *corev1.PersistentVolume) { v.Spec.PersistentVolumeReclaimPolicy = "Keep" }, "spec.persistentVolumeReclaimPolicy: Unsupported value"},
	} {
		if got := fieldtest.Paths(create(persistentVolumeHooks, pv(c.mut))); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	block := pv(func(v *corev1.PersistentVolume) { m := corev1.PersistentVolumeBlock; v.Spec.VolumeMode = &m })
	if got := fieldtest.Paths(update(persistentVolumeHooks, block, v)); got != "spec.volumeMode: Invalid value" {
		t.Errorf("changing the volume mode: %q", got)
	}
	// A volume stored without defaults takes them without a change.
	bare := pv(nil)
	if errs := update(persistentVolumeHooks, pv(nil), bare); len(errs) > 0 {
		t.Errorf("updating a volume stored without defaults: %v", errs)
	}

	claim := func(mut func(*corev1.PersistentVolumeClaim)) *corev1.PersistentVolumeClaim {
		c := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "c", Namespace: "ns"}, Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}}}
		if mut != nil {
			mut(c)
		}
		return c
	}
	c := claim(nil)
	if errs := create(persistentVolumeClaimHooks, c); len(errs) > 0 || c.Status.Phase != corev1.ClaimPending || *c.Spec.VolumeMode != corev1.PersistentVolumeFilesystem {
		t.Fatalf("a valid claim: %v, phase %q", errs, c.Status.Phase)
	}
	if got := fieldtest.Paths(create(persistentVolumeClaimHooks, claim(func(c *corev1.PersistentVolumeClaim) {
		c.Spec.AccessModes, c.Spec.Resources.Requests = nil, nil
	}))); got != "spec.accessModes: Required value; spec.resources[storage]: Required value" {
		t.Errorf("an empty claim: %q", got)
	}
	// The volume controller binds a claim (volumeName, once) and gives a
	// claim without a class the default one.
	bind := claim(func(c *corev1.PersistentVolumeClaim) { c.Spec.VolumeName = "pv-1" })
	if errs := update(persistentVolumeClaimHooks, bind, c); len(errs) > 0 {
		t.Errorf("binding a claim: %v", errs)
	}
	rebind := claim(func(c *corev1.PersistentVolumeClaim) { c.Spec.VolumeName = "pv-2" })
	if got := fieldtest.Paths(update(persistentVolumeClaimHooks, rebind, bind)); got != "spec: Forbidden" {
		t.Errorf("binding a bound claim again: %q", got)
	}
	class, other := "standard", "fast"
	if errs := update(persistentVolumeClaimHooks, claim(func(c *corev1.PersistentVolumeClaim) { c.Spec.StorageClassName = &class }), c); len(errs) > 0 {
		t.Errorf("giving a claim without a class the default one: %v", errs)
	}
	withClass := claim(func(c *corev1.PersistentVolumeClaim) { c.Spec.StorageClassName = &class })
	if got := fieldtest.Paths(update(persistentVolumeClaimHooks, claim(func(c *corev1.PersistentVolumeClaim) { c.Spec.StorageClassName = &other }), withClass)); got != "spec: Forbidden" {
		t.Errorf("changing a claim's class: %q", got)
	}
	more := func(c *corev1.PersistentVolumeClaim) {
		c.Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("2Gi")
	}
	if got := fieldtest.Paths(update(persistentVolumeClaimHooks, claim(more), c)); got != "spec: Forbidden" {
		t.Errorf("growing an unbound claim: %q", got)
	}
	bound := c.DeepCopy()
	bound.Status = corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound, Capacity: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}
	if errs := update(persistentVolumeClaimHooks, claim(more), bound); len(errs) > 0 {
		t.Errorf("growing a bound claim: %v", errs)
	}
	less := claim(func(c *corev1.PersistentVolumeClaim) {
		c.Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("500Mi")
	})
	if got := fieldtest.Paths(update(persistentVolumeClaimHooks, less, bound)); got != "spec.resources.requests.storage: Forbidden" {
		t.Errorf("shrinking a bound claim below its capacity: %q", got)
	}
	if got := fieldtest.Paths(update(persistentVolumeClaimHooks, claim(func(c *corev1.PersistentVolumeClaim) {
		c.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany}
	}), bound)); got != "spec: Forbidden" {
		t.Errorf("changing a bound claim's access modes: %q", got)
	}
}
