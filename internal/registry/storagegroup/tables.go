package storagegroup

import (
	"strings"
	"time"

	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"kapi/internal/registry"
)

// The default StorageClass and VolumeAttributesClass print as
// "name (default)", so their tables place the name themselves.
const (
	defaultClassAnnotation     = "storageclass.kubernetes.io/is-default-class"
	betaDefaultClassAnnotation = "storageclass.beta.kubernetes.io/is-default-class"
	defaultVACAnnotation       = "volumeattributesclass.alpha.kubernetes.io/is-default-class"
)

var classDocs = storagev1.StorageClass{}.SwaggerDoc()

// storageClassTable: NAME PROVISIONER RECLAIMPOLICY VOLUMEBINDINGMODE
// ALLOWVOLUMEEXPANSION AGE, unset fields shown with their defaults.
var storageClassTable = &registry.TableDef{
	OwnName: true,
	Columns: []metav1.TableColumnDefinition{
		registry.NameColumn,
		{Name: "Provisioner", Type: "string", Description: classDocs["provisioner"]},
		{Name: "ReclaimPolicy", Type: "string", Description: classDocs["reclaimPolicy"]},
		{Name: "VolumeBindingMode", Type: "string", Description: classDocs["volumeBindingMode"]},
		{Name: "AllowVolumeExpansion", Type: "string", Description: classDocs["allowVolumeExpansion"]},
		registry.AgeColumn,
	},
	Row: func(obj runtime.Object, now time.Time) []interface{} {
		sc := obj.(*storagev1.StorageClass)
		name := sc.Name
		if sc.Annotations[defaultClassAnnotation] == "true" || sc.Annotations[betaDefaultClassAnnotation] == "true" {
			name += " (default)"
		}
		reclaim, binding := "Delete", "Immediate"
		if sc.ReclaimPolicy != nil {
			reclaim = string(*sc.ReclaimPolicy)
		}
		if sc.VolumeBindingMode != nil {
			binding = string(*sc.VolumeBindingMode)
		}
		expansion := sc.AllowVolumeExpansion != nil && *sc.AllowVolumeExpansion
		return []interface{}{name, sc.Provisioner, reclaim, binding, expansion, registry.Age(sc, now)}
	},
}

var volumeAttributesClassTable = &registry.TableDef{
	OwnName: true,
	Columns: []metav1.TableColumnDefinition{
		registry.NameColumn,
		{Name: "DriverName", Type: "string", Description: storagev1.VolumeAttributesClass{}.SwaggerDoc()["driverName"]},
		registry.AgeColumn,
	},
	Row: func(obj runtime.Object, now time.Time) []interface{} {
		vac := obj.(*storagev1.VolumeAttributesClass)
		name := vac.Name
		if vac.Annotations[defaultVACAnnotation] == "true" {
			name += " (default)"
		}
		return []interface{}{name, vac.DriverName, registry.Age(vac, now)}
	},
}

var vaDocs = storagev1.VolumeAttachmentSpec{}.SwaggerDoc()

var volumeAttachmentTable = &registry.TableDef{
	Columns: []metav1.TableColumnDefinition{
		{Name: "Attacher", Type: "string", Format: "name", Description: vaDocs["attacher"]},
		{Name: "PV", Type: "string", Description: storagev1.VolumeAttachmentSource{}.SwaggerDoc()["persistentVolumeName"]},
		{Name: "Node", Type: "string", Description: vaDocs["nodeName"]},
		{Name: "Attached", Type: "boolean", Description: storagev1.VolumeAttachmentStatus{}.SwaggerDoc()["attached"]},
		registry.AgeColumn,
	},
	Row: func(obj runtime.Object, now time.Time) []interface{} {
		va := obj.(*storagev1.VolumeAttachment)
		pv := ""
		if va.Spec.Source.PersistentVolumeName != nil {
			pv = *va.Spec.Source.PersistentVolumeName
		}
		return []interface{}{va.Spec.Attacher, pv, va.Spec.NodeName, va.Status.Attached, registry.Age(va, now)}
	},
}

var csiNodeTable = &registry.TableDef{
	Columns: []metav1.TableColumnDefinition{
		{Name: "Drivers", Type: "integer", Description: "Drivers indicates the number of CSI drivers registered on the node"},
		registry.AgeColumn,
	},
	Row: func(obj runtime.Object, now time.Time) []interface{} {
		n := obj.(*storagev1.CSINode)
		return []interface{}{int64(len(n.Spec.Drivers)), registry.Age(n, now)}
	},
}

var driverDocs = storagev1.CSIDriverSpec{}.SwaggerDoc()

// csiDriverTable shows unset flags with their defaults: attach required,
// no pod info on mount, no storage capacity, no republishing.
var csiDriverTable = &registry.TableDef{
	Columns: []metav1.TableColumnDefinition{
		{Name: "AttachRequired", Type: "boolean", Description: driverDocs["attachRequired"]},
		{Name: "PodInfoOnMount", Type: "boolean", Description: driverDocs["podInfoOnMount"]},
		{Name: "StorageCapacity", Type: "boolean", Description: driverDocs["storageCapacity"]},
		{Name: "TokenRequests", Type: "string", Description: driverDocs["tokenRequests"]},
		{Name: "RequiresRepublish", Type: "boolean", Description: driverDocs["requiresRepublish"]},
		{Name: "Modes", Type: "string", Description: driverDocs["volumeLifecycleModes"]},
		registry.AgeColumn,
	},
	Row: func(obj runtime.Object, now time.Time) []interface{} {
		d := obj.(*storagev1.CSIDriver)
		flag := func(p *bool, def bool) bool {
			if p == nil {
				return def
			}
			return *p
		}
		tokens := "<unset>"
		if d.Spec.TokenRequests != nil {
			var audiences []string
			for _, t := range d.Spec.TokenRequests {
				audiences = append(audiences, t.Audience)
			}
			tokens = strings.Join(audiences, ",")
		}
		var modes []string
		for _, m := range d.Spec.VolumeLifecycleModes {
			modes = append(modes, string(m))
		}
		return []interface{}{flag(d.Spec.AttachRequired, true), flag(d.Spec.PodInfoOnMount, false),
			flag(d.Spec.StorageCapacity, false), tokens, flag(d.Spec.RequiresRepublish, false),
			registry.OrNone(strings.Join(modes, ",")), registry.Age(d, now)}
	},
}

// csiStorageCapacityTable has no AGE column in kube-apiserver either.
var csiStorageCapacityTable = &registry.TableDef{
	Columns: []metav1.TableColumnDefinition{
		{Name: "StorageClassName", Type: "string", Description: storagev1.CSIStorageCapacity{}.SwaggerDoc()["storageClassName"]},
		{Name: "Capacity", Type: "string", Description: storagev1.CSIStorageCapacity{}.SwaggerDoc()["capacity"]},
	},
	Row: func(obj runtime.Object, now time.Time) []interface{} {
		c := obj.(*storagev1.CSIStorageCapacity)
		capacity := "<unset>"
		if c.Capacity != nil {
			capacity = c.Capacity.String()
		}
		return []interface{}{c.StorageClassName, capacity}
	},
}
