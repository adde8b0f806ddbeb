package storagemigration

import (
	"fmt"
	"strings"

	storagemigrationv1 "k8s.io/api/storagemigration/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/resourceversion"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/registry"
)

// migrationHooks validate a StorageVersionMigration as kube's
// ValidateStorageVersionMigration and its update: the resource is set and
// a DNS-1035 label, its group (if any) a DNS subdomain; the spec never
// changes. The store resets the status on create and keeps it on update,
// as kube's strategy does.
var migrationHooks = &registry.Hooks{
	Validate: func(obj, old runtime.Object) field.ErrorList {
		m := obj.(*storagemigrationv1.StorageVersionMigration)
		errs := validateMigrationSpec(&m.Spec)
		if o, ok := old.(*storagemigrationv1.StorageVersionMigration); ok {
			errs = append(errs, apimachineryvalidation.ValidateImmutableField(m.Spec, o.Spec, field.NewPath("spec"))...)
		}
		return errs
	},
}

// migrationStatus is the status subresource as kube's status strategy:
// only the status is written (the metadata's labels, annotations,
// finalizers and owners are kept, as metav1.ResetObjectMetaForStatus
// does), and validated by ValidateStorageVersionMigrationStatusUpdate
// alone.
var migrationStatus = registry.ValidatedStatus(validateMigrationStatus, registry.StatusMetadataResets...)

func validateMigrationSpec(spec *storagemigrationv1.StorageVersionMigrationSpec) field.ErrorList {
	var errs field.ErrorList
	res := field.NewPath("spec", "resource")
	if r := spec.Resource.Resource; r == "" {
		errs = append(errs, field.Required(res.Child("resource"), "resource is required to be set"))
	} else if msgs := validation.IsDNS1035Label(r); len(msgs) > 0 {
		// (as an APIService's)
		errs = append(errs, field.Invalid(res.Child("resource"), r, strings.Join(msgs, ",")))
	}
	if g := spec.Resource.Group; g != "" {
		if msgs := validation.IsDNS1123Subdomain(g); len(msgs) > 0 {
			errs = append(errs, field.Invalid(res.Child("group"), g, strings.Join(msgs, ",")))
		}
	}
	return errs
}

// validateMigrationStatus is kube's
// ValidateStorageVersionMigrationStatusUpdate: the resource version, once
// set, is a well-formed one and never changes; the conditions are valid,
// Succeeded and Failed not both true, and neither goes back from true.
func validateMigrationStatus(obj, old runtime.Object) field.ErrorList {
	m, o := obj.(*storagemigrationv1.StorageVersionMigration), old.(*storagemigrationv1.StorageVersionMigration)
	status := field.NewPath("status")
	var errs field.ErrorList
	if rv := m.Status.ResourceVersion; rv != "" {
		// (kube compares the version with itself, to see that it parses)
		cmp, err := resourceversion.CompareResourceVersion(rv, rv)
		if err != nil || cmp != 0 {
			if err == nil {
				err = fmt.Errorf("unable to compare resource versions, %s is not equal to %s", rv, rv)
			}
			errs = append(errs, field.Invalid(status.Child("resourceVersion"), rv, err.Error()))
		}
	}
	conditions := status.Child("conditions")
	errs = append(errs, metav1validation.ValidateConditions(m.Status.Conditions, conditions)...)
	if o.Status.ResourceVersion != "" && o.Status.ResourceVersion != m.Status.ResourceVersion {
		errs = append(errs, field.Invalid(status.Child("resourceVersion"), m.Status.ResourceVersion, "field is immutable"))
	}
	succeeded, failed := migrationIs(m, storagemigrationv1.MigrationSucceeded), migrationIs(m, storagemigrationv1.MigrationFailed)
	if succeeded && failed {
		errs = append(errs, field.Invalid(conditions, m.Status.Conditions, "Both success and failed conditions cannot be true at the same time"))
	}
	if migrationIs(o, storagemigrationv1.MigrationSucceeded) && !succeeded {
		errs = append(errs, field.Invalid(conditions, m.Status.Conditions, "Success condition cannot be set to false once it is true"))
	}
	if migrationIs(o, storagemigrationv1.MigrationFailed) && !failed {
		errs = append(errs, field.Invalid(conditions, m.Status.Conditions, "Failed condition cannot be set to false once it is true"))
	}
	return errs
}

// migrationIs tells whether a migration has the condition t, true.
func migrationIs(m *storagemigrationv1.StorageVersionMigration, t storagemigrationv1.MigrationConditionType) bool {
	c := meta.FindStatusCondition(m.Status.Conditions, string(t))
	return c != nil && c.Status == metav1.ConditionTrue
}
