package apps

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// errorsOf renders errors as kube-apiserver's Status causes do, one a
// line.
func errorsOf(errs field.ErrorList) string {
	out := ""
	for _, e := range errs {
		out += e.Error() + "\n"
	}
	return out
}

// TestControllerRevisionValidation: kube's ValidateControllerRevisionCreate
// and ValidateControllerRevisionUpdate, message for message.
func TestControllerRevisionValidation(t *testing.T) {
	rev := func(data string, revision int64) *appsv1.ControllerRevision {
		cr := &appsv1.ControllerRevision{Revision: revision}
		if data != "-" {
			cr.Data = runtime.RawExtension{Raw: []byte(data)}
		}
		return cr
	}
	cases := []struct {
		name     string
		obj, old *appsv1.ControllerRevision
		want     string
	}{
		{"valid", rev(`{"spec":{}}`, 1), nil, ""},
		{"no data", rev("-", 1), nil, "data: Required value: data is mandatory\n"},
		{"null data", rev("null", 1), nil, "data: Required value: data is mandatory\n"},
		{"array data", rev("[1]", 1), nil, "data: Required value: data must be a valid JSON object\n"},
		{"bad json", rev("{", 1), nil, "data: Invalid value: \"<value omitted>\": error parsing data: unexpected end of JSON input\n"},
		{"negative revision", rev(`{}`, -1), nil, "revision: Invalid value: -1: must be greater than or equal to 0\n"},
		{"update revision", rev(`{"a":1}`, 2), rev(`{"a":1}`, 1), ""},
		// (the data of an update is not parsed, only compared)
		{"update data", rev(`{"a":2}`, 1), rev(`{"a":1}`, 1),
			`data: Invalid value: {"a":2}: field is immutable` + "\n"},
		{"update negative", rev(`x`, -2), rev(`x`, 1), "revision: Invalid value: -2: must be greater than or equal to 0\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var old runtime.Object
			if c.old != nil {
				old = c.old
			}
			if got := errorsOf(controllerRevisionHooks.Validate(c.obj, old)); got != c.want {
				t.Errorf("got\n%swant\n%s", got, c.want)
			}
		})
	}
}
