package apps

import (
	"encoding/json"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/registry"
)

// controllerRevisionHooks validate a ControllerRevision as kube's
// ValidateControllerRevisionCreate and ValidateControllerRevisionUpdate:
// a revision is never negative; a new one's data is a JSON object, and
// the data never changes (its bytes as sent, as kube compares them). Its
// strategy resets nothing.
var controllerRevisionHooks = &registry.Hooks{
	Validate: validateControllerRevision,
}

func validateControllerRevision(obj, old runtime.Object) field.ErrorList {
	cr := obj.(*appsv1.ControllerRevision)
	data := field.NewPath("data")
	errs := apimachineryvalidation.ValidateNonnegativeField(cr.Revision, field.NewPath("revision"))
	if old != nil {
		return append(errs, apimachineryvalidation.ValidateImmutableField(cr.Data, old.(*appsv1.ControllerRevision).Data, data)...)
	}
	var v any
	switch err := json.Unmarshal(cr.Data.Raw, &v); {
	case cr.Data.Raw == nil:
		errs = append(errs, field.Required(data, "data is mandatory"))
	case err != nil:
		errs = append(errs, field.Invalid(data, "<value omitted>", fmt.Sprintf("error parsing data: %v", err.Error())))
	case v == nil:
		errs = append(errs, field.Required(data, "data is mandatory"))
	default:
		if _, isObject := v.(map[string]any); !isObject {
			errs = append(errs, field.Required(data, "data must be a valid JSON object"))
		}
	}
	return errs
}
