package storagegroup

import (
	"strings"
	"testing"

	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// TestCSIValidation: kube's rules and messages for CSIDrivers and
// CSINodes.
func TestCSIValidation(t *testing.T) {
	short, bad := int64(60), storagev1.FSGroupPolicy("Sometimes")
	driver := func(change func(*storagev1.CSIDriverSpec)) *storagev1.CSIDriver {
		d := &storagev1.CSIDriver{ObjectMeta: metav1.ObjectMeta{Name: "csi.example.com"}}
		defaultCSIDriver(&d.Spec)
		change(&d.Spec)
		return d
	}
	node := func(drivers ...storagev1.CSINodeDriver) *storagev1.CSINode {
		return &storagev1.CSINode{ObjectMeta: metav1.ObjectMeta{Name: "n1"}, Spec: storagev1.CSINodeSpec{Drivers: drivers}}
	}
	count := int32(-1)
	for _, c := range []struct {
		name     string
		validate func(obj, old runtime.Object) field.ErrorList
		obj, old runtime.Object
		want     string
	}{
		{"valid driver", validateCSIDriver, driver(func(*storagev1.CSIDriverSpec) {}), nil, ""},
		{"bad policy", validateCSIDriver, driver(func(s *storagev1.CSIDriverSpec) { s.FSGroupPolicy = &bad }), nil,
			`spec.fsGroupPolicy: Unsupported value: "Sometimes": supported values: "File", "None", "ReadWriteOnceWithFSType"`},
		{"short token", validateCSIDriver, driver(func(s *storagev1.CSIDriverSpec) {
			s.TokenRequests = []storagev1.TokenRequest{{Audience: "a", ExpirationSeconds: &short}, {Audience: "a"}}
		}), nil, "spec.tokenRequests[0].expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes, spec.tokenRequests[1].audience: Duplicate value: \"a\""},
		{"attach changed", validateCSIDriver, driver(func(s *storagev1.CSIDriverSpec) { f := false; s.AttachRequired = &f }),
			driver(func(*storagev1.CSIDriverSpec) {}), "spec.attachedRequired: Invalid value: false: field is immutable"},
		{"valid node", validateCSINode, node(storagev1.CSINodeDriver{Name: "csi.example.com", NodeID: "n1", TopologyKeys: []string{"topology.example.com/zone"}}), nil, ""},
		{"bad node", validateCSINode, node(
			storagev1.CSINodeDriver{Name: "csi.example.com", Allocatable: &storagev1.VolumeNodeResources{Count: &count}},
			storagev1.CSINodeDriver{Name: "csi.example.com", NodeID: "n1", TopologyKeys: []string{"k", "k"}}), nil,
			`spec.drivers[0].nodeID: Required value, spec.drivers[0].allocatable.count: Invalid value: -1: must be greater than or equal to 0, spec.drivers[1].name: Duplicate value: "csi.example.com", spec.drivers[1]: Duplicate value: "k"`},
		{"driver changed", validateCSINode, node(storagev1.CSINodeDriver{Name: "csi.example.com", NodeID: "n2"}),
			node(storagev1.CSINodeDriver{Name: "csi.example.com", NodeID: "n1"}), "spec.drivers: Invalid value"},
	} {
		got := c.validate(c.obj, c.old).ToAggregate()
		switch {
		case c.want == "" && got != nil:
			t.Errorf("%s: %v", c.name, got)
		case c.want != "" && (got == nil || !strings.Contains(got.Error(), c.want)):
			t.Errorf("%s: %v\nwant %q", c.name, got, c.want)
		}
	}
}
