package storagegroup

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// TestVolumeAttachmentValidation: kube's rules and messages.
func TestVolumeAttachmentValidation(t *testing.T) {
	pv, empty, code := "pv-1", "", int32(-1)
	good := func() *storagev1.VolumeAttachment {
		return &storagev1.VolumeAttachment{Spec: storagev1.VolumeAttachmentSpec{Attacher: "csi.example.com", NodeName: "node-1",
			Source: storagev1.VolumeAttachmentSource{PersistentVolumeName: &pv}}}
	}
	errs := func(l field.ErrorList) string {
		var out []string
		for _, e := range l {
			out = append(out, e.Error())
		}
		return strings.Join(out, "; ")
	}
	for _, c := range []struct {
		name   string
		change func(*storagev1.VolumeAttachment)
		want   string
	}{
		{"valid", func(*storagev1.VolumeAttachment) {}, ""},
		{"no source", func(va *storagev1.VolumeAttachment) { va.Spec.Source.PersistentVolumeName = nil },
			"spec.source: Required value: must specify exactly one of inlineVolumeSpec and persistentVolumeName"},
		{"empty volume name", func(va *storagev1.VolumeAttachment) { va.Spec.Source.PersistentVolumeName = &empty },
			"spec.source.persistentVolumeName: Required value: must specify non empty persistentVolumeName"},
		{"bad attacher", func(va *storagev1.VolumeAttachment) { va.Spec.Attacher = "csi_driver" },
			`spec.attacher: Invalid value: "csi_driver": a lowercase RFC 1123 subdomain`},
		{"bad node", func(va *storagev1.VolumeAttachment) { va.Spec.NodeName = "Node 1" }, `spec.nodeName: Invalid value: "Node 1"`},
		{"negative error code", func(va *storagev1.VolumeAttachment) {
			va.Status.DetachError = &storagev1.VolumeError{ErrorCode: &code}
		}, "status.detachError.errorCode: Invalid value: -1: must be between 0 and 2147483647, inclusive"},
	} {
		va := good()
		c.change(va)
		got := errs(volumeAttachmentHooks.Validate(va, nil))
		if c.want == "" && got != "" || !strings.Contains(got, c.want) {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	old, va := good(), good()
	va.Spec.NodeName = "node-2"
	if got := errs(volumeAttachmentHooks.Validate(va, old)); !strings.Contains(got, "spec: Invalid value") || !strings.Contains(got, "field is immutable") {
		t.Errorf("a changed spec: %q", got)
	}
}

// TestVolumeAttachmentInlineDefaults: an inline volume spec has a
// persistent volume source's defaults and its capacity rounded to milli
// units (kube 1.37.2 SetObjectDefaults_VolumeAttachment).
func TestVolumeAttachmentInlineDefaults(t *testing.T) {
	va := &storagev1.VolumeAttachment{Spec: storagev1.VolumeAttachmentSpec{Attacher: "csi.example.com", NodeName: "node-1",
		Source: storagev1.VolumeAttachmentSource{InlineVolumeSpec: &corev1.PersistentVolumeSpec{
			Capacity:               corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("0.0001")},
			PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/d"}}}}}}
	volumeAttachmentHooks.PrepareCreate(va)
	pv := va.Spec.Source.InlineVolumeSpec
	if q := pv.Capacity[corev1.ResourceStorage]; q.String() != "1m" {
		t.Errorf("inline capacity %s, want 1m", q.String())
	}
	if h := pv.HostPath.Type; h == nil || *h != corev1.HostPathUnset {
		t.Errorf("inline hostPath type %v", h)
	}
}
