package storagegroup

import (
	"testing"

	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// TestCSIStorageCapacityValidation: kube's ValidateCSIStorageCapacity and
// its update, message for message.
func TestCSIStorageCapacityValidation(t *testing.T) {
	zone := &metav1.LabelSelector{MatchLabels: map[string]string{"topology.example.com/zone": "a"}}
	badValue := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
		{Key: "zone", Operator: metav1.LabelSelectorOpIn, Values: []string{"-a-"}}}}
	capacity := func(class string, topology *metav1.LabelSelector, q string) *storagev1.CSIStorageCapacity {
		c := &storagev1.CSIStorageCapacity{ObjectMeta: metav1.ObjectMeta{Name: "c1", Namespace: "kube-system"},
			StorageClassName: class, NodeTopology: topology}
		if q != "" {
			v := resource.MustParse(q)
			c.Capacity = &v
		}
		return c
	}
	cases := []struct {
		name     string
		obj, old *storagev1.CSIStorageCapacity
		want     string
	}{
		{"valid", capacity("fast", zone, "10Gi"), nil, ""},
		{"no class", capacity("", nil, ""), nil,
			`storageClassName: Invalid value: "": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')` + "\n"},
		{"negative", capacity("fast", nil, "-1Gi"), nil, `capacity: Invalid value: "-1Gi": must be greater than or equal to 0` + "\n"},
		{"bad topology", capacity("fast", badValue, ""), nil,
			`nodeTopology.matchExpressions[0].values[0]: Invalid value: "-a-": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')` + "\n"},
		// One stored with an invalid value in an expression may keep it.
		{"bad topology kept", capacity("fast", badValue, "1Gi"), capacity("fast", badValue, ""), ""},
		{"update capacity", capacity("fast", zone, "20Gi"), capacity("fast", zone, "10Gi"), ""},
		{"update topology and class", capacity("slow", nil, ""), capacity("fast", zone, ""),
			"nodeTopology: Invalid value: null: field is immutable\n" + `storageClassName: Invalid value: "slow": field is immutable` + "\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var old runtime.Object
			if c.old != nil {
				old = c.old
			}
			if got := causes(csiStorageCapacityHooks.Validate(c.obj, old)); got != c.want {
				t.Errorf("got\n%swant\n%s", got, c.want)
			}
		})
	}
}
