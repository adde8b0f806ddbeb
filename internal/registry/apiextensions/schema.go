package apiextensions

import (
	"context"
	"fmt"
	"math"
	"strings"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel/model"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	structurallisttype "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/listtype"
	schemaobjectmeta "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/objectmeta"
	structuralpruning "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"k8s.io/apiserver/pkg/cel/common"
)

// versionSchema is what the schema of one version of a CRD is made into:
// the structural schema and its validators. The algorithms are
// k8s.io/apiextensions-apiserver's (structural schema, pruning,
// defaulting, embedded ObjectMeta, list types, the OpenAPI validator,
// CEL), the domain's standard ones, which kube-apiserver runs.
type versionSchema struct {
	kind       schema.GroupVersionKind
	namespaced bool
	structural *structuralschema.Structural
	validator  apiservervalidation.SchemaValidator
	// statusValidator validates the status alone (status writes).
	statusValidator apiservervalidation.SchemaValidator
	cel             *cel.Validator // nil: no x-kubernetes-validations
	scale           *apiextensionsv1.CustomResourceSubresourceScale
	// preserveUnknown is spec.preserveUnknownFields (v1 allows only false).
	preserveUnknown bool
}

// newVersionSchema builds the schema of version v of crd.
func newVersionSchema(crd *apiextensionsv1.CustomResourceDefinition, v *apiextensionsv1.CustomResourceDefinitionVersion) (*versionSchema, error) {
	vs := &versionSchema{
		kind:            schema.GroupVersionKind{Group: crd.Spec.Group, Version: v.Name, Kind: crd.Status.AcceptedNames.Kind},
		namespaced:      crd.Spec.Scope == apiextensionsv1.NamespaceScoped,
		preserveUnknown: crd.Spec.PreserveUnknownFields,
	}
	if vs.kind.Kind == "" {
		vs.kind.Kind = crd.Spec.Names.Kind
	}
	if v.Subresources != nil {
		vs.scale = v.Subresources.Scale
	}
	internal := &apiextensions.JSONSchemaProps{Type: "object", XPreserveUnknownFields: ptrTrue()}
	if v.Schema != nil && v.Schema.OpenAPIV3Schema != nil {
		internal = &apiextensions.JSONSchemaProps{}
		if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(v.Schema.OpenAPIV3Schema, internal, nil); err != nil {
			return nil, fmt.Errorf("the schema of %s: %w", v.Name, err)
		}
	}
	s, err := structuralschema.NewStructural(internal)
	if err != nil {
		return nil, fmt.Errorf("the schema of %s is not structural: %w", v.Name, err)
	}
	vs.structural = s
	if vs.validator, _, err = apiservervalidation.NewSchemaValidator(internal); err != nil {
		return nil, err
	}
	if status, ok := internal.Properties["status"]; ok {
		if vs.statusValidator, _, err = apiservervalidation.NewSchemaValidator(&status); err != nil {
			return nil, err
		}
	}
	if hasValidations(internal) {
		vs.cel = cel.NewValidator(s, true, celconfig.PerCallLimit)
	}
	return vs, nil
}

func ptrTrue() *bool { t := true; return &t }

// hasValidations reports an x-kubernetes-validations rule anywhere in s.
func hasValidations(s *apiextensions.JSONSchemaProps) bool {
	if s == nil {
		return false
	}
	if len(s.XValidations) > 0 {
		return true
	}
	for _, p := range s.Properties {
		if hasValidations(&p) {
			return true
		}
	}
	if s.Items != nil && (hasValidations(s.Items.Schema) || anyValidations(s.Items.JSONSchemas)) {
		return true
	}
	if s.AdditionalProperties != nil && hasValidations(s.AdditionalProperties.Schema) {
		return true
	}
	return anyValidations(s.AllOf) || anyValidations(s.AnyOf) || anyValidations(s.OneOf)
}

func anyValidations(ss []apiextensions.JSONSchemaProps) bool {
	for i := range ss {
		if hasValidations(&ss[i]) {
			return true
		}
	}
	return false
}

// coerce is what kube-apiserver does to a custom resource it decodes,
// from a request or from etcd: the defaults of the schema, then the
// fields the schema does not know pruned, non-nullable nulls dropped, and
// the (embedded) ObjectMeta and TypeMeta checked and normalized. It
// returns the paths of the pruned fields. From etcd (fromStorage)
// malformed metadata is dropped rather than refused.
func (vs *versionSchema) coerce(u map[string]interface{}, fromStorage bool) ([]string, error) {
	structuraldefaulting.Default(u, vs.structural)
	apiVersion, foundAPIVersion, _ := unstructured.NestedString(u, "apiVersion")
	kind, foundKind, _ := unstructured.NestedString(u, "kind")
	objectMeta, foundMeta, unknown, err := schemaobjectmeta.GetObjectMetaWithOptions(u, schemaobjectmeta.ObjectMetaOptions{
		DropMalformedFields: fromStorage, ReturnUnknownFieldPaths: !fromStorage})
	if err != nil {
		return nil, err
	}
	if !vs.preserveUnknown {
		opts := structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: !fromStorage}
		unknown = append(unknown, structuralpruning.PruneWithOptions(u, vs.structural, true, opts)...)
		structuraldefaulting.PruneNonNullableNullsWithoutDefaults(u, vs.structural)
	}
	ferr, paths := schemaobjectmeta.CoerceWithOptions(nil, u, vs.structural, false, schemaobjectmeta.CoerceOptions{
		DropInvalidFields: fromStorage, ReturnUnknownFieldPaths: !fromStorage})
	if ferr != nil {
		return nil, ferr
	}
	unknown = append(unknown, paths...)
	if fromStorage && foundMeta && objectMeta.Generation == 0 {
		objectMeta.Generation = 1 // as kube-apiserver repairs very old custom resources
	}
	if foundKind {
		u["kind"] = kind
	}
	if foundAPIVersion {
		u["apiVersion"] = apiVersion
	}
	if foundMeta {
		if err := schemaobjectmeta.SetObjectMeta(u, objectMeta); err != nil {
			return nil, err
		}
	}
	return unknown, nil
}

// validate checks a custom resource as kube-apiserver's strategy does, on
// create (old nil) or update: apiVersion and kind, the schema, the scale
// paths, embedded resources' metadata, list types, then the CEL rules
// (with oldSelf on update), unless an earlier error already makes them
// moot. On update, validation ratchets, as kube-apiserver's does: a value
// that did not change passes even when the schema (since changed) refuses
// it. (The store has validated the object's own metadata.)
func (vs *versionSchema) validate(u, old *unstructured.Unstructured) field.ErrorList {
	if errs := vs.validateTypeMeta(u); len(errs) > 0 {
		return errs
	}
	ctx := context.Background()
	var errs field.ErrorList
	var oldContent map[string]interface{}
	var celOpts []cel.Option
	if old == nil {
		errs = append(errs, apiservervalidation.ValidateCustomResource(nil, u.UnstructuredContent(), vs.validator)...)
	} else {
		oldContent = old.UnstructuredContent()
		correlated := common.NewCorrelatedObject(u.Object, old.Object, &model.Structural{Structural: vs.structural})
		celOpts = append(celOpts, cel.WithRatcheting(correlated))
		errs = append(errs, apiservervalidation.ValidateCustomResourceUpdate(nil, u.UnstructuredContent(), oldContent, vs.validator,
			apiservervalidation.WithRatcheting(correlated))...)
	}
	errs = append(errs, vs.validateScale(u, true)...)
	errs = append(errs, schemaobjectmeta.Validate(ctx, nil, u.Object, vs.structural, false)...)
	errs = append(errs, vs.validateLists(u, old)...)
	return append(errs, vs.validateCEL(ctx, u, old, errs, celOpts...)...)
}

// validateStatus checks a write through the status subresource: its
// metadata, the status against the status schema, the scale's status
// paths, list types and the CEL rules.
func (vs *versionSchema) validateStatus(u, old *unstructured.Unstructured) field.ErrorList {
	if errs := vs.validateTypeMeta(u); len(errs) > 0 {
		return errs
	}
	ctx := context.Background()
	var errs field.ErrorList
	correlated := common.NewCorrelatedObject(u.Object, old.Object, &model.Structural{Structural: vs.structural})
	if status, ok := u.Object["status"]; ok && vs.statusValidator != nil {
		errs = append(errs, apiservervalidation.ValidateCustomResourceUpdate(field.NewPath("status"), status, old.Object["status"], vs.statusValidator,
			apiservervalidation.WithRatcheting(correlated.Key("status")))...)
	}
	errs = append(errs, vs.validateScale(u, false)...)
	errs = append(errs, vs.validateLists(u, old)...)
	return append(errs, vs.validateCEL(ctx, u, old, errs, cel.WithRatcheting(correlated))...)
}

// validateLists checks the sets and maps of x-kubernetes-list-type; on an
// update (old not nil) only when old passed, as kube-apiserver does.
func (vs *versionSchema) validateLists(u, old *unstructured.Unstructured) field.ErrorList {
	errs := structurallisttype.ValidateListSetsAndMaps(nil, vs.structural, u.Object)
	if len(errs) > 0 && old != nil && len(structurallisttype.ValidateListSetsAndMaps(nil, vs.structural, old.Object)) > 0 {
		return nil
	}
	return errs
}

func (vs *versionSchema) validateCEL(ctx context.Context, u, old *unstructured.Unstructured, errs field.ErrorList, opts ...cel.Option) field.ErrorList {
	if vs.cel == nil {
		return nil
	}
	for _, e := range errs {
		// As kube-apiserver: a type error blocks CEL, whose rules
		// assume the schema's types.
		if e.Type == field.ErrorTypeNotSupported || e.Type == field.ErrorTypeRequired || e.Type == field.ErrorTypeTooLong ||
			e.Type == field.ErrorTypeTooMany || e.Type == field.ErrorTypeTypeInvalid {
			return field.ErrorList{field.Invalid(nil, nil, "some validation rules were not checked because the object was invalid; correct the existing errors to complete validation")}
		}
	}
	var oldObj interface{}
	if old != nil {
		oldObj = old.Object
	}
	out, _ := vs.cel.Validate(ctx, nil, vs.structural, u.Object, oldObj, celconfig.RuntimeCELCostBudget, opts...)
	return out
}

// validateTypeMeta checks apiVersion and kind against the version served.
func (vs *versionSchema) validateTypeMeta(u *unstructured.Unstructured) field.ErrorList {
	var errs field.ErrorList
	if u.GetKind() != vs.kind.Kind {
		errs = append(errs, field.Invalid(field.NewPath("kind"), u.GetKind(), fmt.Sprintf("must be %v", vs.kind.Kind)))
	}
	if want := vs.kind.Group + "/" + vs.kind.Version; u.GetAPIVersion() != want {
		errs = append(errs, field.Invalid(field.NewPath("apiVersion"), u.GetAPIVersion(), fmt.Sprintf("must be %v", want)))
	}
	return errs
}

// validateScale checks the replicas at the scale paths (the spec's too
// when spec) and the selector, as kube-apiserver's validator.
func (vs *versionSchema) validateScale(u *unstructured.Unstructured, spec bool) field.ErrorList {
	s := vs.scale
	if s == nil {
		return nil
	}
	var errs field.ErrorList
	replicas := func(p string) {
		n, _, err := unstructured.NestedInt64(u.Object, splitPath(p)...)
		switch {
		case err != nil:
			errs = append(errs, field.Invalid(field.NewPath(p), n, err.Error()))
		case n < 0:
			errs = append(errs, field.Invalid(field.NewPath(p), n, "should be a non-negative integer"))
		case n > math.MaxInt32:
			errs = append(errs, field.Invalid(field.NewPath(p), n, fmt.Sprintf("should be less than or equal to %v", math.MaxInt32)))
		}
	}
	if spec {
		replicas(s.SpecReplicasPath)
	}
	replicas(s.StatusReplicasPath)
	if s.LabelSelectorPath != nil {
		sel, _, err := unstructured.NestedString(u.Object, splitPath(*s.LabelSelectorPath)...)
		if err != nil {
			errs = append(errs, field.Invalid(field.NewPath(*s.LabelSelectorPath), sel, err.Error()))
		}
	}
	return errs
}

// splitPath turns ".spec.replicas" into spec, replicas.
func splitPath(p string) []string {
	return strings.Split(strings.TrimPrefix(p, "."), ".")
}
