package registry

import (
	"fmt"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/kube-openapi/pkg/common"
)

// Type is how the objects of a row are made, encoded and taken apart:
// what the store and the handlers would otherwise ask of the global
// Scheme or find by reflection. Built-in rows get theirs from their Go
// type (GoType); the rows of a custom resource from its CRD, over
// unstructured.Unstructured (registry/apiextensions). Handlers never ask
// which of the two they hold.
type Type struct {
	// New and NewList return an empty object and list of the row's kind,
	// apiVersion and kind set; NewList is nil for a kind that is never
	// listed.
	New, NewList func() runtime.Object
	// Serializers are the media types an object of the row is read and
	// answered in: JSON, YAML and protobuf for Go types; JSON and YAML for
	// custom resources, which kube-apiserver does not encode as protobuf.
	// Tables and metadata-only answers come in every media type.
	Serializers []runtime.SerializerInfo
	// Status resets and copies the status of an object; nil for a kind
	// without one.
	Status StatusFields
	// Scale reads and sets the replicas of a scalable kind; nil otherwise.
	Scale ScaleFields
	// Schema is the kind's OpenAPI side: its definitions and the type
	// converter of managed fields.
	Schema Schema
	// Convertor converts objects of the kind between the versions it is
	// served in (managed fields are recorded per version).
	Convertor runtime.ObjectConvertor
	// Decoded finishes an object decoded from a request, before anything
	// else sees it: a custom resource gets its schema's defaults and
	// loses the fields the schema does not know, which Decoded names
	// (for fieldValidation). nil for built-in kinds, whose decoders
	// report unknown fields themselves.
	Decoded func(obj runtime.Object) (unknown []string, err error)
	// StrategicMerge: the kind takes strategic merge patches, whose
	// merge keys its Go type carries; custom resources do not (415).
	StrategicMerge bool
	// KindInListItems keeps apiVersion and kind on the items of a list,
	// as kube-apiserver does for custom resources (built-in lists drop
	// them).
	KindInListItems bool
}

// StatusFields is how a kind keeps its status apart from the rest.
type StatusFields interface {
	// Reset clears obj's status (a create, which may not set it).
	Reset(obj runtime.Object)
	// Keep sets obj's status to old's: a write of the object itself
	// leaves the status to the status subresource.
	Keep(obj, old runtime.Object)
	// Write is what a write to the status subresource stores, given the
	// object it sent and the stored one: the sent status with the stored
	// spec. obj is the caller's to change; old is not.
	Write(obj, old runtime.Object) runtime.Object
	// WriteResets are the top-level fields a status write resets, as
	// managed-fields paths ("spec"; "metadata" too for custom resources).
	WriteResets() []string
}

// ScaleFields reads and sets what the scale subresource shows of an
// object.
type ScaleFields interface {
	// Scale is obj's Scale: identity, spec and status replicas, selector.
	Scale(obj runtime.Object) (*autoscalingv1.Scale, error)
	// SetReplicas sets obj's desired replicas.
	SetReplicas(obj runtime.Object, replicas int32) error
}

// Schema is the OpenAPI side of a kind.
type Schema interface {
	// Model names the OpenAPI definition of gvk (a kind of the row or its
	// list): "io.k8s.api.apps.v1.Deployment", "com.example.v1.Widget".
	Model(gvk schema.GroupVersionKind) (string, error)
	// Definitions are the definitions of the row's own kinds that the
	// built-in ones (which every document has) lack, referring to others
	// through ref; nil for built-in kinds.
	Definitions(ref common.ReferenceCallback) map[string]common.OpenAPIDefinition
	// TypeConverter types the objects for managed fields and
	// server-side apply.
	TypeConverter() (managedfields.TypeConverter, error)
}

// GoType is the Type of a built-in kind, from its Go type in Scheme; schema
// gives it its OpenAPI side and convertor its conversions.
func GoType(gvk schema.GroupVersionKind, sch Schema, convertor runtime.ObjectConvertor) (*Type, error) {
	obj, err := Scheme.New(gvk)
	if err != nil {
		return nil, fmt.Errorf("%v has no Go type: %w", gvk, err)
	}
	listGVK := gvk.GroupVersion().WithKind(gvk.Kind + "List")
	t := &Type{
		New: func() runtime.Object {
			o, _ := Scheme.New(gvk)
			o.GetObjectKind().SetGroupVersionKind(gvk)
			return o
		},
		NewList: func() runtime.Object {
			o, _ := Scheme.New(listGVK)
			o.GetObjectKind().SetGroupVersionKind(listGVK)
			return o
		},
		Serializers:    Codecs.SupportedMediaTypes(),
		Schema:         sch,
		Convertor:      convertor,
		StrategicMerge: true,
	}
	if !Scheme.Recognizes(listGVK) {
		t.NewList = nil // a kind that is never listed (Binding)
	}
	if s, ok := newStructStatus(obj); ok {
		t.Status = s
	}
	if s, ok := newStructScale(obj); ok {
		t.Scale = s
	}
	return t, nil
}
