package storagemigration

import (
	"strings"
	"testing"

	storagemigrationv1 "k8s.io/api/storagemigration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/registry"
	"kapi/internal/registry/schemas"
)

// causes renders errors as kube-apiserver's Status causes do, one a line.
func causes(errs field.ErrorList) string {
	var b strings.Builder
	for _, e := range errs {
		b.WriteString(e.Error() + "\n")
	}
	return b.String()
}

func migration(group, resource string) *storagemigrationv1.StorageVersionMigration {
	return &storagemigrationv1.StorageVersionMigration{ObjectMeta: metav1.ObjectMeta{Name: "m1"},
		Spec: storagemigrationv1.StorageVersionMigrationSpec{Resource: metav1.GroupResource{Group: group, Resource: resource}}}
}

// TestMigrationValidation: kube's ValidateStorageVersionMigration and its
// update, message for message.
func TestMigrationValidation(t *testing.T) {
	cases := []struct {
		name     string
		obj, old *storagemigrationv1.StorageVersionMigration
		want     string
	}{
		{"valid", migration("apps", "deployments"), nil, ""},
		{"core", migration("", "secrets"), nil, ""},
		{"no resource", migration("apps", ""), nil, "spec.resource.resource: Required value: resource is required to be set\n"},
		{"bad names", migration("Apps", "my.resource"), nil,
			`spec.resource.resource: Invalid value: "my.resource": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')` + "\n" +
				`spec.resource.group: Invalid value: "Apps": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')` + "\n"},
		{"update same", migration("apps", "deployments"), migration("apps", "deployments"), ""},
		{"update spec", migration("apps", "statefulsets"), migration("apps", "deployments"),
			`spec: Invalid value: {"resource":{"group":"apps","resource":"statefulsets"}}: field is immutable` + "\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var old runtime.Object
			if c.old != nil {
				old = c.old
			}
			if got := causes(migrationHooks.Validate(c.obj, old)); got != c.want {
				t.Errorf("got\n%swant\n%s", got, c.want)
			}
		})
	}
}

// TestMigrationStatusValidation: kube's
// ValidateStorageVersionMigrationStatusUpdate, message for message, on
// the status subresource.
func TestMigrationStatusValidation(t *testing.T) {
	now := metav1.Now()
	with := func(rv string, conds ...metav1.Condition) *storagemigrationv1.StorageVersionMigration {
		m := migration("apps", "deployments")
		m.Status.ResourceVersion = rv
		for i := range conds {
			conds[i].LastTransitionTime, conds[i].Reason = now, "Done"
		}
		m.Status.Conditions = conds
		return m
	}
	cond := func(t storagemigrationv1.MigrationConditionType, s metav1.ConditionStatus) metav1.Condition {
		return metav1.Condition{Type: string(t), Status: s}
	}
	succeeded, failed := storagemigrationv1.MigrationSucceeded, storagemigrationv1.MigrationFailed
	cases := []struct {
		name     string
		obj, old *storagemigrationv1.StorageVersionMigration
		want     string
	}{
		{"set version", with("42"), with(""), ""},
		{"running", with("42", cond(storagemigrationv1.MigrationRunning, metav1.ConditionTrue)), with("42"), ""},
		{"bad version", with("042"), with(""), `status.resourceVersion: Invalid value: "042": resource version is not well formed: 042` + "\n"},
		{"version changed", with("43"), with("42"), `status.resourceVersion: Invalid value: "43": field is immutable` + "\n"},
		{"version cleared", with(""), with("42"), `status.resourceVersion: Invalid value: "": field is immutable` + "\n"},
		{"bad condition", with("42", metav1.Condition{Type: "Succeeded", Status: "Maybe"}), with("42"),
			`status.conditions[0].status: Unsupported value: "Maybe": supported values: "False", "True", "Unknown"` + "\n"},
		{"both", with("42", cond(succeeded, metav1.ConditionTrue), cond(failed, metav1.ConditionTrue)), with("42"),
			`status.conditions: Invalid value: [{"type":"Succeeded","status":"True","lastTransitionTime":"` + now.UTC().Format("2006-01-02T15:04:05Z") +
				`","reason":"Done","message":""},{"type":"Failed","status":"True","lastTransitionTime":"` + now.UTC().Format("2006-01-02T15:04:05Z") +
				`","reason":"Done","message":""}]: Both success and failed conditions cannot be true at the same time` + "\n"},
		{"success undone", with("42", cond(succeeded, metav1.ConditionFalse)), with("42", cond(succeeded, metav1.ConditionTrue)),
			"status.conditions: Invalid value: " + `[{"type":"Succeeded","status":"False","lastTransitionTime":"` + now.UTC().Format("2006-01-02T15:04:05Z") +
				`","reason":"Done","message":""}]: Success condition cannot be set to false once it is true` + "\n"},
		{"failure undone", with("42"), with("42", cond(failed, metav1.ConditionTrue)),
			"status.conditions: Invalid value: null: Failed condition cannot be set to false once it is true\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := causes(migrationStatus.Validate(c.obj, c.old)); got != c.want {
				t.Errorf("got\n%swant\n%s", got, c.want)
			}
		})
	}
}

// TestMigrationStatusWrite: a status write keeps the spec and the
// metadata kube's status strategy resets (labels, annotations,
// finalizers, owners), and writes the status.
func TestMigrationStatusWrite(t *testing.T) {
	rows := Resources()
	r := rows[0]
	typ, err := registry.GoType(r.GVK(), schemas.Builtin, registry.NewConvertor(rows))
	if err != nil {
		t.Fatal(err)
	}
	r.Type = typ
	old := migration("apps", "deployments")
	old.Labels = map[string]string{"a": "b"}
	in := migration("apps", "statefulsets")
	in.Labels, in.Annotations, in.Finalizers = map[string]string{"a": "c"}, map[string]string{"x": "y"}, []string{"example.com/f"}
	in.Status.ResourceVersion = "42"
	out, err := r.Sub("status").Write(r, in, old)
	if err != nil {
		t.Fatal(err)
	}
	m := out.(*storagemigrationv1.StorageVersionMigration)
	if m.Spec.Resource.Resource != "deployments" || m.Labels["a"] != "b" || m.Annotations != nil || m.Finalizers != nil || m.Status.ResourceVersion != "42" {
		t.Errorf("status write gave %+v %+v %+v", m.ObjectMeta, m.Spec, m.Status)
	}
}
