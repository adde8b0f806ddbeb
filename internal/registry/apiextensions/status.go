package apiextensions

import (
	"fmt"
	"reflect"

	"k8s.io/apiextensions-apiserver/pkg/apihelpers"
	apiextensionsinternal "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/registry"
)

// The status kube-apiserver's CRD controllers write (naming,
// establishing, non-structural schema, API approval), computed in one
// place.

// Taken are the names and kinds of one group that are already served:
// the accepted names of its other CRDs, and its built-in resources.
type Taken struct {
	Resources, Kinds sets.Set[string]
}

// TakenNames collects what crds (other than name) and the built-in rows
// hold in group.
func TakenNames(group, name string, crds []*apiextensionsv1.CustomResourceDefinition, builtin []*registry.Resource) Taken {
	t := Taken{Resources: sets.New[string](), Kinds: sets.New[string]()}
	for _, c := range crds {
		if c.Spec.Group != group || c.Name == name {
			continue
		}
		an := c.Status.AcceptedNames
		t.Resources.Insert(an.Plural, an.Singular)
		t.Resources.Insert(an.ShortNames...)
		t.Kinds.Insert(an.Kind, an.ListKind)
	}
	for _, r := range builtin {
		if r.Group != group {
			continue
		}
		t.Resources.Insert(r.Name, r.SingularName())
		t.Resources.Insert(r.ShortNames...)
		t.Kinds.Insert(r.Kind, r.Kind+"List")
	}
	t.Resources.Delete("")
	t.Kinds.Delete("")
	return t
}

// Status computes the status kube-apiserver's controllers would give crd
// (names accepted or in conflict with taken, Established, the schema's
// structural violations, the API approval of *.k8s.io groups), on a copy
// of its metadata and status that shares crd's spec (a large schema is
// not copied); neither is to be changed. nonStructural is the
// NonStructuralSchema condition of crd's spec (NonStructural), which
// depends on the spec alone, so a caller keeps it per generation.
func Status(crd *apiextensionsv1.CustomResourceDefinition, taken Taken, nonStructural *apiextensionsv1.CustomResourceDefinitionCondition) *apiextensionsv1.CustomResourceDefinition {
	out := &apiextensionsv1.CustomResourceDefinition{TypeMeta: crd.TypeMeta, ObjectMeta: *crd.ObjectMeta.DeepCopy(),
		Spec: crd.Spec, Status: *crd.Status.DeepCopy()}
	names, accepted := acceptNames(crd, taken)
	out.Status.AcceptedNames = names
	SetCondition(out, accepted)
	if accepted.Status == apiextensionsv1.ConditionTrue {
		// kapi establishes as it accepts: it serves the names before it
		// says so.
		if !IsTrue(out, apiextensionsv1.Established) {
			SetCondition(out, apiextensionsv1.CustomResourceDefinitionCondition{Type: apiextensionsv1.Established,
				Status: apiextensionsv1.ConditionTrue, Reason: "InitialNamesAccepted", Message: "the initial names have been accepted"})
		}
	} else if Condition(out, apiextensionsv1.Established) == nil {
		SetCondition(out, apiextensionsv1.CustomResourceDefinitionCondition{Type: apiextensionsv1.Established,
			Status: apiextensionsv1.ConditionFalse, Reason: "NotAccepted", Message: "not all names are accepted"})
	}
	setOrRemove(out, apiextensionsv1.NonStructuralSchema, nonStructural)
	setOrRemove(out, apiextensionsv1.KubernetesAPIApprovalPolicyConformant, approval(crd))
	return out
}

func setOrRemove(crd *apiextensionsv1.CustomResourceDefinition, t apiextensionsv1.CustomResourceDefinitionConditionType, c *apiextensionsv1.CustomResourceDefinitionCondition) {
	if c == nil {
		apihelpers.RemoveCRDCondition(crd, t)
		return
	}
	SetCondition(crd, *c)
}

// acceptNames is kube-apiserver's naming controller: each requested name
// that is the accepted one or free is accepted; the last conflict found
// is the condition's reason.
func acceptNames(crd *apiextensionsv1.CustomResourceDefinition, taken Taken) (apiextensionsv1.CustomResourceDefinitionNames, apiextensionsv1.CustomResourceDefinitionCondition) {
	cond := apiextensionsv1.CustomResourceDefinitionCondition{Type: apiextensionsv1.NamesAccepted, Status: apiextensionsv1.ConditionUnknown}
	conflict := func(reason string, err error) {
		cond.Status, cond.Reason, cond.Message = apiextensionsv1.ConditionFalse, reason, err.Error()
	}
	requested, accepted := crd.Spec.Names, crd.Status.AcceptedNames
	out := accepted
	if err := freeOrOurs(requested.Plural, accepted.Plural, taken.Resources); err != nil {
		conflict("PluralConflict", err)
	} else {
		out.Plural = requested.Plural
	}
	if err := freeOrOurs(requested.Singular, accepted.Singular, taken.Resources); err != nil {
		conflict("SingularConflict", err)
	} else {
		out.Singular = requested.Singular
	}
	if !reflect.DeepEqual(requested.ShortNames, accepted.ShortNames) {
		ours := sets.New(accepted.ShortNames...)
		var errs []error
		for _, s := range requested.ShortNames {
			if !ours.Has(s) {
				if err := freeOrOurs(s, "", taken.Resources); err != nil {
					errs = append(errs, err)
				}
			}
		}
		if len(errs) > 0 {
			conflict("ShortNamesConflict", aggregate(errs))
		} else {
			out.ShortNames = requested.ShortNames
		}
	}
	if err := freeOrOurs(requested.Kind, accepted.Kind, taken.Kinds); err != nil {
		conflict("KindConflict", err)
	} else {
		out.Kind = requested.Kind
	}
	if err := freeOrOurs(requested.ListKind, accepted.ListKind, taken.Kinds); err != nil {
		conflict("ListKindConflict", err)
	} else {
		out.ListKind = requested.ListKind
	}
	out.Categories = requested.Categories
	if cond.Status == apiextensionsv1.ConditionUnknown {
		cond.Status, cond.Reason, cond.Message = apiextensionsv1.ConditionTrue, "NoConflicts", "no conflicts found"
	}
	return out, cond
}

func freeOrOurs(requested, accepted string, taken sets.Set[string]) error {
	if requested == accepted || !taken.Has(requested) {
		return nil
	}
	return fmt.Errorf("%q is already in use", requested)
}

// aggregate words several errors as apimachinery's aggregate does.
func aggregate(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	msg := "["
	for i, e := range errs {
		if i > 0 {
			msg += ", "
		}
		msg += e.Error()
	}
	return fmt.Errorf("%s]", msg)
}

// NonStructural is the NonStructuralSchema condition: the structural
// violations of the versions' schemas, or nil when there are none.
func NonStructural(crd *apiextensionsv1.CustomResourceDefinition) *apiextensionsv1.CustomResourceDefinitionCondition {
	cond := &apiextensionsv1.CustomResourceDefinitionCondition{Type: apiextensionsv1.NonStructuralSchema, Status: apiextensionsv1.ConditionTrue}
	var errs field.ErrorList
	if crd.Spec.PreserveUnknownFields {
		errs = append(errs, field.Invalid(field.NewPath("spec", "preserveUnknownFields"), true, "must be false"))
	}
	for i, v := range crd.Spec.Versions {
		if v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
			continue
		}
		internal := &apiextensionsinternal.CustomResourceValidation{}
		if err := apiextensionsv1.Convert_v1_CustomResourceValidation_To_apiextensions_CustomResourceValidation(v.Schema, internal, nil); err != nil {
			continue
		}
		s, err := structuralschema.NewStructural(internal.OpenAPIV3Schema)
		if err != nil {
			cond.Reason = "StructuralError"
			cond.Message = fmt.Sprintf("failed to check validation schema for version %s: %v", v.Name, err)
			return cond
		}
		errs = append(errs, structuralschema.ValidateStructural(field.NewPath("spec", "versions").Index(i).Child("schema", "openAPIV3Schema"), s)...)
	}
	if len(errs) == 0 {
		return nil
	}
	cond.Reason, cond.Message = "Violations", errs.ToAggregate().Error()
	return cond
}

// approval is the KubernetesAPIApprovalPolicyConformant condition of a
// CRD in a protected group (*.k8s.io, *.kubernetes.io), from its
// api-approved.kubernetes.io annotation; nil for other groups.
func approval(crd *apiextensionsv1.CustomResourceDefinition) *apiextensionsv1.CustomResourceDefinitionCondition {
	if !apihelpers.IsProtectedCommunityGroup(crd.Spec.Group) {
		return nil
	}
	c := &apiextensionsv1.CustomResourceDefinitionCondition{Type: apiextensionsv1.KubernetesAPIApprovalPolicyConformant}
	state, reason := apihelpers.GetAPIApprovalState(crd.Annotations)
	c.Message = reason
	switch state {
	case apihelpers.APIApprovalInvalid:
		c.Status, c.Reason = apiextensionsv1.ConditionFalse, "InvalidAnnotation"
	case apihelpers.APIApprovalMissing:
		c.Status, c.Reason = apiextensionsv1.ConditionFalse, "MissingAnnotation"
	case apihelpers.APIApproved:
		c.Status, c.Reason = apiextensionsv1.ConditionTrue, "ApprovedAnnotation"
	case apihelpers.APIApprovalBypassed:
		c.Status, c.Reason = apiextensionsv1.ConditionFalse, "UnapprovedAnnotation"
	default:
		c.Status, c.Reason = apiextensionsv1.ConditionUnknown, "UnknownAnnotation"
	}
	return c
}

// Served reports whether crd's custom resources are served: its names
// accepted (or it established before) and some version served.
func Served(crd *apiextensionsv1.CustomResourceDefinition) bool {
	if !IsTrue(crd, apiextensionsv1.NamesAccepted) && !IsTrue(crd, apiextensionsv1.Established) {
		return false
	}
	for _, v := range crd.Spec.Versions {
		if v.Served {
			return true
		}
	}
	return false
}
