package apiextensions

import (
	"context"
	"fmt"
	"slices"
	"sync"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/klog/v2"

	"kapi/internal/registry"
	"kapi/internal/storage"
)

// Serving is what one state of a CRD serves: the schema of each version,
// the conversion between versions, and the catalogue's rows of the
// served versions, on one storage. A CRD that changes is served by a new
// Serving.
type Serving struct {
	crd            *apiextensionsv1.CustomResourceDefinition
	names          names
	storageVersion string
	versions       map[string]*versionSchema // every version
	schemas        map[string]*crdSchema     // the served ones
	selectable     map[string][]interface{}  // OpenAPI's x-kubernetes-selectable-fields, by version
	conv           converter
	typeConverter  func() (managedfields.TypeConverter, error)
}

// Owner is the catalogue owner of a CRD's rows.
func Owner(crdName string) string { return "crd/" + crdName }

// NewServing prepares what crd serves; it keeps crd's metadata and
// spec, which the caller must not change.
func NewServing(crd *apiextensionsv1.CustomResourceDefinition, resolve ServiceResolver) (*Serving, error) {
	s := &Serving{crd: crd, versions: map[string]*versionSchema{}, schemas: map[string]*crdSchema{},
		selectable: map[string][]interface{}{}}
	an := crd.Status.AcceptedNames
	s.names = names{group: crd.Spec.Group, kind: an.Kind, listKind: an.ListKind, plural: an.Plural}
	if s.names.kind == "" {
		// Not accepted yet: the names asked for (nothing is served).
		n := crd.Spec.Names
		s.names = names{group: crd.Spec.Group, kind: n.Kind, listKind: n.ListKind, plural: n.Plural}
	}
	if s.names.listKind == "" {
		s.names.listKind = s.names.kind + "List"
	}
	for i := range crd.Spec.Versions {
		v := &crd.Spec.Versions[i]
		vs, err := newVersionSchema(crd, v)
		if err != nil {
			return nil, err
		}
		vs.kind.Kind = s.names.kind
		s.versions[v.Name] = vs
		if v.Storage {
			s.storageVersion = v.Name
		}
		if v.Served {
			s.schemas[v.Name] = &crdSchema{serving: s, version: v.Name, vs: vs, names: s.names}
		}
		for _, f := range v.SelectableFields {
			s.selectable[v.Name] = append(s.selectable[v.Name], map[string]interface{}{"fieldPath": f.JSONPath[1:]})
		}
	}
	if s.storageVersion == "" {
		return nil, fmt.Errorf("%s has no storage version", crd.Name)
	}
	// What the schemas were made into is kept, not the schemas: a copy
	// of the CRD without them (nor the metadata rows do not need: its
	// managed fields and annotations can be as large as its schema).
	kept := *crd
	kept.ObjectMeta = metav1.ObjectMeta{Name: crd.Name, UID: crd.UID, Generation: crd.Generation, ResourceVersion: crd.ResourceVersion}
	kept.Spec.Versions = make([]apiextensionsv1.CustomResourceDefinitionVersion, len(crd.Spec.Versions))
	for i, v := range crd.Spec.Versions {
		v.Schema = nil
		kept.Spec.Versions[i] = v
	}
	s.crd = &kept
	s.conv = noneConverter{group: crd.Spec.Group}
	if c := crd.Spec.Conversion; c != nil && c.Strategy == apiextensionsv1.WebhookConverter {
		wc, err := newWebhookConverter(crd, resolve)
		if err != nil {
			return nil, err
		}
		s.conv = wc
	}
	s.typeConverter = sync.OnceValues(s.buildTypeConverter)
	return s, nil
}

// Key is where the custom resources are stored, below the etcd prefix:
// "<group>/<plural>", as kube-apiserver lays them out.
func (s *Serving) Key() string { return s.crd.Spec.Group + "/" + s.names.plural }

// StorageGVK is the kind as stored (in the storage version).
func (s *Serving) StorageGVK() schema.GroupVersionKind {
	return schema.GroupVersionKind{Group: s.crd.Spec.Group, Version: s.storageVersion, Kind: s.names.kind}
}

// NewStored returns an empty object to decode a stored one into.
func (s *Serving) NewStored() runtime.Object { return &unstructured.Unstructured{} }

// FromStorage finishes an object read from etcd, as kube-apiserver's
// decoder: the defaults, pruning and metadata checks of the version it
// was stored in (the storage version, or an earlier one), dropping what
// is malformed rather than failing the read.
func (s *Serving) FromStorage(obj runtime.Object) error {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return fmt.Errorf("a stored %s is a %T", s.names.kind, obj)
	}
	vs := s.versions[u.GroupVersionKind().Version]
	if vs == nil || u.GroupVersionKind().Group != s.crd.Spec.Group {
		vs = s.versions[s.storageVersion]
	}
	_, err := vs.coerce(u.Object, true)
	return err
}

// Stores are the catalogue's stores of the served versions, on st. While
// the CRD is being deleted (terminating) they refuse creates.
func (s *Serving) Stores(st storage.Interface, terminating bool) ([]*registry.Store, error) {
	crd := s.crd
	var out []*registry.Store
	for i := range crd.Spec.Versions {
		v := &crd.Spec.Versions[i]
		if !v.Served {
			continue
		}
		r, err := s.row(v, terminating)
		if err != nil {
			return nil, err
		}
		out = append(out, registry.NewStore(r, st))
	}
	return out, nil
}

// StorageStore is a store of the storage version on st, served or not,
// not to be published: what the custom resources of a CRD being deleted
// are deleted through when no version of it is served.
func (s *Serving) StorageStore(st storage.Interface) (*registry.Store, error) {
	for i := range s.crd.Spec.Versions {
		if v := &s.crd.Spec.Versions[i]; v.Name == s.storageVersion {
			r, err := s.row(v, true)
			if err != nil {
				return nil, err
			}
			return registry.NewStore(r, st), nil
		}
	}
	return nil, fmt.Errorf("%s has no storage version", s.crd.Name)
}

// row is the catalogue row of version v.
func (s *Serving) row(v *apiextensionsv1.CustomResourceDefinitionVersion, terminating bool) (*registry.Resource, error) {
	crd, vs := s.crd, s.versions[v.Name]
	an := crd.Status.AcceptedNames
	gvk := schema.GroupVersionKind{Group: crd.Spec.Group, Version: v.Name, Kind: s.names.kind}
	table, err := newTable(v.AdditionalPrinterColumns)
	if err != nil {
		return nil, err
	}
	fields, err := selectableFields(v.SelectableFields)
	if err != nil {
		return nil, err
	}
	if len(v.SelectableFields) > 0 {
		fields = s.inVersion(fields, v.Name)
	}
	t := &registry.Type{
		New: func() runtime.Object {
			u := &unstructured.Unstructured{Object: map[string]interface{}{}}
			u.SetGroupVersionKind(gvk)
			return u
		},
		NewList: func() runtime.Object {
			l := &unstructured.UnstructuredList{Object: map[string]interface{}{}}
			l.SetGroupVersionKind(gvk.GroupVersion().WithKind(s.names.listKind))
			return l
		},
		Serializers: serializers(),
		Schema:      s.schemas[v.Name],
		Convertor:   convertor{s},
		Decoded: func(obj runtime.Object) ([]string, error) {
			u, ok := obj.(*unstructured.Unstructured)
			if !ok {
				return nil, fmt.Errorf("a %s is a %T", gvk.Kind, obj)
			}
			return vs.coerce(u.Object, false)
		},
		KindInListItems: true,
	}
	r := &registry.Resource{
		Group: crd.Spec.Group, Version: v.Name, Name: an.Plural, Kind: an.Kind, Singular: an.Singular,
		Namespaced: crd.Spec.Scope == apiextensionsv1.NamespaceScoped, ShortNames: an.ShortNames,
		Categories: an.Categories, Type: t, KeyPrefix: s.Key(), Table: table, Generation: true, Fields: fields,
		Hooks: &registry.Hooks{
			Validate: func(obj, old runtime.Object) field.ErrorList {
				o, _ := old.(*unstructured.Unstructured)
				return vs.validate(obj.(*unstructured.Unstructured), o)
			},
			Warnings: finalizerWarnings,
		},
		AnyFinalizers: true,
		Terminating:   terminating,
		// What the rows are made of: the spec (its generation), the
		// accepted names, whether the CRD goes.
		Revision: fmt.Sprintf("%s/%d/%s/%s/%s/%v", crd.UID, crd.Generation, an.Plural, an.Kind, an.ListKind, terminating),
	}
	if v.Deprecated {
		r.Deprecation = fmt.Sprintf("%s/%s %s is deprecated", crd.Spec.Group, v.Name, an.Kind)
		if v.DeprecationWarning != nil {
			r.Deprecation = *v.DeprecationWarning
		}
	}
	if v.Subresources != nil && v.Subresources.Status != nil {
		t.Status = unstructuredStatus{}
		r.Subresources = append(r.Subresources, registry.ValidatedStatus(func(obj, old runtime.Object) field.ErrorList {
			return vs.validateStatus(obj.(*unstructured.Unstructured), old.(*unstructured.Unstructured))
		}))
	}
	if v.Subresources != nil && v.Subresources.Scale != nil {
		t.Scale = newPathScale(v.Subresources.Scale)
		r.Subresources = append(r.Subresources, registry.ScaleSubresource)
	}
	if v.Name != s.storageVersion {
		r.StorageVersion = s.storageVersion
	}
	// Every version converts, the storage version's too: objects stored
	// before the storage version changed keep the version they were
	// stored in until they are written again.
	r.Convert = &registry.Conversion{
		ToStorage:      func(obj runtime.Object) (runtime.Object, error) { return s.convertOne(obj, s.storageVersion, false) },
		FromStorage:    func(obj runtime.Object) (runtime.Object, error) { return s.convertOne(obj, v.Name, true) },
		FromStorageAll: func(objs []runtime.Object) ([]runtime.Object, error) { return s.convertAll(objs, v.Name, true) },
	}
	return r, nil
}

// inVersion is fields of the custom resources as version to has them:
// one stored in another version is converted first (by the CRD's
// webhook, if it has one), as kube-apiserver's storage of each version
// converts what it reads, so that a field selector selects by the
// selectable fields of the version it asks for. One that cannot be
// converted has none of them, and is not selected.
func (s *Serving) inVersion(fields func(runtime.Object) map[string]string, to string) func(runtime.Object) map[string]string {
	gv := s.crd.Spec.Group + "/" + to
	return func(obj runtime.Object) map[string]string {
		if obj.GetObjectKind().GroupVersionKind().GroupVersion().String() == gv {
			return fields(obj)
		}
		if c, ok := obj.(*storage.Cached); ok {
			obj = c.DeepCopyObject()
		}
		converted, err := s.convertOne(obj, to, true)
		if err != nil {
			klog.ErrorS(err, "Selecting a custom resource by its fields", "version", gv)
			return nil
		}
		return fields(converted)
	}
}

// convertAll converts custom resources to version to: those not in it
// yet in one call of the converter (one ConversionReview for a list).
// Ones read from storage (read) then get to's defaults and pruning, as
// kube-apiserver decodes them.
func (s *Serving) convertAll(objs []runtime.Object, to string, read bool) ([]runtime.Object, error) {
	out := slices.Clone(objs)
	var at []int
	var send []*unstructured.Unstructured
	for i, obj := range objs {
		u, ok := obj.(*unstructured.Unstructured)
		if !ok {
			return nil, fmt.Errorf("a %s is a %T", s.names.kind, obj)
		}
		if u.GetAPIVersion() != s.crd.Spec.Group+"/"+to {
			at, send = append(at, i), append(send, u)
		}
	}
	if len(send) == 0 {
		return out, nil
	}
	converted, err := s.conv.convert(context.Background(), send, to)
	if err != nil {
		return nil, err
	}
	for j, i := range at {
		if read {
			if _, err := s.versions[to].coerce(converted[j].Object, true); err != nil {
				return nil, err
			}
		}
		out[i] = converted[j]
	}
	return out, nil
}

// convertOne is convertAll of one object.
func (s *Serving) convertOne(obj runtime.Object, to string, read bool) (runtime.Object, error) {
	out, err := s.convertAll([]runtime.Object{obj}, to, read)
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// serializers are JSON and YAML: custom resources are not encoded as
// protobuf.
var serializers = sync.OnceValue(func() []runtime.SerializerInfo {
	var out []runtime.SerializerInfo
	for _, info := range registry.Codecs.SupportedMediaTypes() {
		if info.MediaType == runtime.ContentTypeJSON || info.MediaType == runtime.ContentTypeYAML {
			out = append(out, info)
		}
	}
	return out
})

// convertor converts custom resources between the CRD's versions for the
// managed-fields machinery.
type convertor struct{ s *Serving }

func (c convertor) Convert(in, out, context interface{}) error {
	return fmt.Errorf("custom resources are converted with ConvertToVersion")
}

func (c convertor) ConvertToVersion(in runtime.Object, target runtime.GroupVersioner) (runtime.Object, error) {
	u, ok := in.(*unstructured.Unstructured)
	if !ok {
		return nil, fmt.Errorf("a %s is a %T", c.s.names.kind, in)
	}
	gvk, ok := target.KindForGroupVersionKinds([]schema.GroupVersionKind{u.GroupVersionKind()})
	if !ok {
		return nil, fmt.Errorf("%v cannot be converted to %v", u.GroupVersionKind(), target)
	}
	if gvk == u.GroupVersionKind() {
		return u.DeepCopy(), nil
	}
	out, err := c.s.conv.convert(context.Background(), []*unstructured.Unstructured{u}, gvk.Version)
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

func (c convertor) ConvertFieldLabel(_ schema.GroupVersionKind, label, value string) (string, string, error) {
	return label, value, nil
}
