package storagegroup

import (
	"fmt"
	"strings"
	"testing"

	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// causes renders errors as kube-apiserver's Status causes do, one a line.
func causes(errs field.ErrorList) string {
	var b strings.Builder
	for _, e := range errs {
		b.WriteString(e.Error() + "\n")
	}
	return b.String()
}

// TestVolumeAttributesClassValidation: kube's
// ValidateVolumeAttributesClass and its update, message for message.
func TestVolumeAttributesClassValidation(t *testing.T) {
	vac := func(driver string, params map[string]string) *storagev1.VolumeAttributesClass {
		return &storagev1.VolumeAttributesClass{ObjectMeta: metav1.ObjectMeta{Name: "gold"}, DriverName: driver, Parameters: params}
	}
	iops := map[string]string{"iops": "5000"}
	many := map[string]string{}
	for i := range 513 {
		many[fmt.Sprint(i)] = ""
	}
	cases := []struct {
		name     string
		obj, old *storagev1.VolumeAttributesClass
		want     string
	}{
		{"valid", vac("CSI.Example.com", iops), nil, ""},
		{"empty", vac("", nil), nil,
			"driverName: Required value\nparameters: Required value: must contain at least one key/value pair\n"},
		{"bad driver", vac("Example_Driver!", iops), nil,
			`driverName: Invalid value: "example_driver!": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')` + "\n"},
		{"empty key", vac("csi.example.com", map[string]string{"": "x"}), nil,
			`parameters: Invalid value: "": field can not be empty.` + "\n"},
		// (kube reports too many parameters as too long)
		{"too many", vac("csi.example.com", many), nil, "parameters: Too long: may not be more than 512 bytes\n"},
		{"too big", vac("csi.example.com", map[string]string{"k": strings.Repeat("v", 256<<10)}), nil,
			"parameters: Too long: may not be more than 262144 bytes\n"},
		{"update metadata", vac("csi.example.com", iops), vac("csi.example.com", iops), ""},
		{"update driver and parameters", vac("other.example.com", nil), vac("csi.example.com", iops),
			"driverName: Forbidden: updates to driverName are forbidden.\nparameters: Forbidden: updates to parameters are forbidden.\n" +
				"parameters: Required value: must contain at least one key/value pair\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var old runtime.Object
			if c.old != nil {
				old = c.old
			}
			if got := causes(volumeAttributesClassHooks.Validate(c.obj, old)); got != c.want {
				t.Errorf("got\n%swant\n%s", got, c.want)
			}
		})
	}
}
