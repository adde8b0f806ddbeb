package apiextensions

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	openapiv2 "k8s.io/apiextensions-apiserver/pkg/controller/openapi/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/kube-openapi/pkg/common"
	"k8s.io/kube-openapi/pkg/validation/spec"

	"kapi/internal/registry/schemas"
)

// The OpenAPI side of a custom resource, as kube-apiserver publishes it:
// the version's schema, with apiVersion, kind and metadata (a reference to
// ObjectMeta) added at the root and in every embedded resource, tagged
// with its group-version-kind (and selectable fields); the list kind
// beside it. OpenAPI v2 gets the schema made v2-compatible
// (ToStructuralOpenAPIV2), and nothing but its type when it preserves
// unknown fields, which kubectl's v2 validation would otherwise refuse.

const (
	objectMetaName = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
	listMetaName   = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta"
	typeMetaName   = "io.k8s.apimachinery.pkg.apis.meta.v1.TypeMeta"
	extGVK         = "x-kubernetes-group-version-kind"
	extSelectable  = "x-kubernetes-selectable-fields"
)

// modelName is kube-apiserver's name of a custom kind's definition: the
// group reversed, "com.example.stable.v1.CronTab".
func modelName(group, version, kind string) string {
	parts := strings.Split(group, ".")
	slices.Reverse(parts)
	return strings.Join(parts, ".") + "." + version + "." + kind
}

// crdSchema is the registry.Schema of one version of a CRD. Its
// definitions are made when asked (a document built, a type converter
// made), not kept.
type crdSchema struct {
	serving *Serving
	version string
	vs      *versionSchema
	names   names
}

// names are a custom resource's names as served (its accepted names).
type names struct {
	group, kind, listKind, plural string
}

func (c *crdSchema) Model(gvk schema.GroupVersionKind) (string, error) {
	if gvk.Group != c.names.group || gvk.Version != c.version || (gvk.Kind != c.names.kind && gvk.Kind != c.names.listKind) {
		return "", fmt.Errorf("openapi: %v is not a kind of %s/%s", gvk, c.names.group, c.version)
	}
	return modelName(gvk.Group, gvk.Version, gvk.Kind), nil
}

// Definitions are the kind's and its list's, for OpenAPI v2 or v3 (told
// apart by the references the builder asks for).
func (c *crdSchema) Definitions(ref common.ReferenceCallback) map[string]common.OpenAPIDefinition {
	return c.definitions(ref, strings.HasPrefix(refString(ref, objectMetaName), "#/definitions/"))
}

func (c *crdSchema) definitions(ref common.ReferenceCallback, v2 bool) map[string]common.OpenAPIDefinition {
	name := modelName(c.names.group, c.version, c.names.kind)
	listName := modelName(c.names.group, c.version, c.names.listKind)
	return map[string]common.OpenAPIDefinition{
		name:     {Schema: *c.objectSchema(ref, v2), Dependencies: []string{objectMetaName}},
		listName: {Schema: *c.listSchema(ref, name, v2), Dependencies: []string{name, listMetaName}},
	}
}

func (c *crdSchema) objectSchema(ref common.ReferenceCallback, v2 bool) *spec.Schema {
	ss := c.vs.structural
	var s *spec.Schema
	if v2 && (ss.XPreserveUnknownFields || c.vs.preserveUnknown) {
		s = &spec.Schema{SchemaProps: spec.SchemaProps{Type: []string{"object"}}}
	} else {
		if v2 {
			ss = openapiv2.ToStructuralOpenAPIV2(ss)
		}
		s = ss.ToKubeOpenAPI()
		s.SetProperty("metadata", *spec.RefSchema(refString(ref, objectMetaName)).WithDescription(metadataDoc))
		addTypeMeta(s)
		addEmbedded(s, ref, v2)
	}
	s.AddExtension(extGVK, []interface{}{map[string]interface{}{"group": c.names.group, "version": c.version, "kind": c.names.kind}})
	if f := c.serving.selectable[c.version]; f != nil {
		s.AddExtension(extSelectable, f)
	}
	return s
}

func (c *crdSchema) listSchema(ref common.ReferenceCallback, item string, v2 bool) *spec.Schema {
	s := new(spec.Schema).Typed("object", "").
		WithDescription(fmt.Sprintf("%s is a list of %s", c.names.listKind, c.names.kind)).
		WithRequired("items").
		SetProperty("items", *spec.ArrayProperty(spec.RefSchema(refString(ref, item))).
			WithDescription(fmt.Sprintf("List of %s. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md", c.names.plural))).
		SetProperty("metadata", *spec.RefSchema(refString(ref, listMetaName)).WithDescription(listMetadataDoc))
	addTypeMeta(s)
	s.AddExtension(extGVK, []interface{}{map[string]interface{}{"group": c.names.group, "version": c.version, "kind": c.names.listKind}})
	return s
}

var (
	metadataDoc     = metav1.PartialObjectMetadata{}.SwaggerDoc()["metadata"]
	listMetadataDoc = metav1.PartialObjectMetadataList{}.SwaggerDoc()["metadata"]
)

// typeMeta are the apiVersion and kind properties of TypeMeta's
// generated schema.
var typeMeta = sync.OnceValue(func() map[string]spec.Schema {
	return schemas.V3Definitions()[typeMetaName].Schema.Properties
})

func addTypeMeta(s *spec.Schema) {
	s.SetProperty("apiVersion", typeMeta()["apiVersion"])
	s.SetProperty("kind", typeMeta()["kind"])
}

// addEmbedded gives every x-kubernetes-embedded-resource in s its
// apiVersion, kind and metadata, required apiVersion and kind.
func addEmbedded(s *spec.Schema, ref common.ReferenceCallback, v2 bool) {
	if s == nil {
		return
	}
	for k := range s.Properties {
		p := s.Properties[k]
		addEmbedded(&p, ref, v2)
		s.Properties[k] = p
	}
	if s.Items != nil {
		addEmbedded(s.Items.Schema, ref, v2)
	}
	if s.AdditionalProperties != nil {
		addEmbedded(s.AdditionalProperties.Schema, ref, v2)
	}
	if keep, ok := s.Extensions.GetBool("x-kubernetes-preserve-unknown-fields"); ok && keep && v2 {
		return
	}
	if embedded, ok := s.Extensions.GetBool("x-kubernetes-embedded-resource"); !ok || !embedded {
		return
	}
	s.SetProperty("apiVersion", *withDescription(typeMeta()["apiVersion"], "apiVersion defines the versioned schema of this representation of an object. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources"))
	s.SetProperty("kind", *withDescription(typeMeta()["kind"], "kind is a string value representing the type of this object. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds"))
	s.SetProperty("metadata", *spec.RefSchema(refString(ref, objectMetaName)).WithDescription(metadataDoc))
	for _, r := range []string{"kind", "apiVersion"} {
		if !slices.Contains(s.Required, r) {
			s.Required = append(s.Required, r)
		}
	}
}

func withDescription(s spec.Schema, d string) *spec.Schema { return s.WithDescription(d) }

// TypeConverter types the custom resources of every version of the CRD
// for managed fields; made once per CRD, on first use.
func (c *crdSchema) TypeConverter() (managedfields.TypeConverter, error) {
	return c.serving.typeConverter()
}

// metaModels are the built-in definitions a custom kind refers to
// (ObjectMeta, ListMeta and what they refer to), as OpenAPI v3
// components: what a CRD's type converter needs beside its own schemas.
var metaModels = sync.OnceValue(func() map[string]*spec.Schema {
	defs := schemas.V3Definitions()
	out := map[string]*spec.Schema{}
	var add func(name string)
	add = func(name string) {
		if _, ok := out[name]; ok {
			return
		}
		d := defs[name]
		out[name] = &d.Schema
		for _, dep := range d.Dependencies {
			add(dep)
		}
	}
	add(objectMetaName)
	add(listMetaName)
	return out
})

// buildTypeConverter makes the managed-fields type converter of every
// served version's kind and list.
func (s *Serving) buildTypeConverter() (managedfields.TypeConverter, error) {
	models := map[string]*spec.Schema{}
	for name, m := range metaModels() {
		models[name] = m
	}
	for _, c := range s.schemas {
		for name, def := range c.Definitions(schemas.V3Ref) {
			d := def.Schema
			models[name] = &d
		}
	}
	tc, err := managedfields.NewTypeConverter(models, s.crd.Spec.PreserveUnknownFields)
	if err != nil {
		return nil, fmt.Errorf("the managed-fields type converter of %s: %w", s.crd.Name, err)
	}
	return tc, nil
}

func refString(ref common.ReferenceCallback, name string) string {
	r := ref(name)
	return r.String()
}
