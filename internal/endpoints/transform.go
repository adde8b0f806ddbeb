package endpoints

import (
	"net/http"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"kapi/internal/registry"
	"kapi/internal/storage"
)

// transform turns a response object into what the client asked for with
// the "as" parameter of its Accept header: a Table, or only the metadata.
// isList says whether obj is a list.
func transform(r *http.Request, s *scope, obj runtime.Object, isList bool) (runtime.Object, error) {
	if s.out.As == "" {
		return obj, nil
	}
	// What follows only reads a shared object.
	obj = storage.Unwrap(obj)
	switch s.out.As {
	case "Table":
		return toTable(r, s.tableResource(), obj, isList, s.out.Version)
	case "PartialObjectMetadata":
		if isList {
			return nil, NotAcceptable()
		}
		return partialMetadata(obj, s.out.Version)
	case "PartialObjectMetadataList":
		if !isList {
			return nil, NotAcceptable()
		}
		return partialMetadataList(obj, s.out.Version)
	}
	return nil, NotAcceptable()
}

func partialMetadata(obj runtime.Object, version string) (*metav1.PartialObjectMetadata, error) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	p := &metav1.PartialObjectMetadata{}
	p.ObjectMeta = *metaOf(m)
	p.APIVersion, p.Kind = "meta.k8s.io/"+version, "PartialObjectMetadata"
	return p, nil
}

func partialMetadataList(list runtime.Object, version string) (*metav1.PartialObjectMetadataList, error) {
	items, err := meta.ExtractList(list)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	out := &metav1.PartialObjectMetadataList{Items: make([]metav1.PartialObjectMetadata, 0, len(items))}
	out.APIVersion, out.Kind = "meta.k8s.io/"+version, "PartialObjectMetadataList"
	if la, err := meta.ListAccessor(list); err == nil {
		out.ResourceVersion, out.Continue, out.RemainingItemCount = la.GetResourceVersion(), la.GetContinue(), la.GetRemainingItemCount()
	}
	for _, it := range items {
		p, err := partialMetadata(it, version)
		if err != nil {
			return nil, err
		}
		p.TypeMeta = metav1.TypeMeta{}
		out.Items = append(out.Items, *p)
	}
	return out, nil
}

// metaOf copies an object's ObjectMeta.
func metaOf(m metav1.Object) *metav1.ObjectMeta {
	if om, ok := m.(*metav1.ObjectMeta); ok {
		return om.DeepCopy()
	}
	return &metav1.ObjectMeta{
		Name: m.GetName(), GenerateName: m.GetGenerateName(), Namespace: m.GetNamespace(),
		UID: m.GetUID(), ResourceVersion: m.GetResourceVersion(), Generation: m.GetGeneration(),
		CreationTimestamp: m.GetCreationTimestamp(), DeletionTimestamp: m.GetDeletionTimestamp(),
		DeletionGracePeriodSeconds: m.GetDeletionGracePeriodSeconds(), Labels: m.GetLabels(),
		Annotations: m.GetAnnotations(), OwnerReferences: m.GetOwnerReferences(),
		Finalizers: m.GetFinalizers(), ManagedFields: m.GetManagedFields(),
	}
}

// toTable prints obj (one object or a list) as the rows kubectl shows, a
// meta.k8s.io Table of version (v1, v1beta1), as the client asked.
// includeObject (None, Metadata, Object) says what each row carries; the
// default is Metadata, of the same version.
func toTable(r *http.Request, res *registry.Resource, obj runtime.Object, isList bool, version string) (*metav1.Table, error) {
	var opts metav1.TableOptions
	if err := decodeOptions(r, &opts); err != nil {
		return nil, err
	}
	table := &metav1.Table{ColumnDefinitions: res.TableColumns()}
	table.APIVersion, table.Kind = "meta.k8s.io/"+version, "Table"
	if opts.NoHeaders {
		table.ColumnDefinitions = nil
	}
	items := []runtime.Object{obj}
	if isList {
		var err error
		if items, err = meta.ExtractList(obj); err != nil {
			return nil, apierrors.NewInternalError(err)
		}
		if la, err := meta.ListAccessor(obj); err == nil {
			table.ResourceVersion, table.Continue, table.RemainingItemCount = la.GetResourceVersion(), la.GetContinue(), la.GetRemainingItemCount()
		}
	} else if m, err := meta.Accessor(obj); err == nil {
		table.ResourceVersion = m.GetResourceVersion()
	}
	now := time.Now()
	table.Rows = make([]metav1.TableRow, 0, len(items))
	for _, it := range items {
		row := metav1.TableRow{Cells: res.TableRow(it, now)}
		switch {
		case opts.IncludeObject == metav1.IncludeNone:
		case opts.IncludeObject == metav1.IncludeObject && !initialEventsEnd(it):
			if it.GetObjectKind().GroupVersionKind() != res.GVK() {
				it = it.DeepCopyObject()
				it.GetObjectKind().SetGroupVersionKind(res.GVK())
			}
			row.Object.Object = it
		default:
			p, err := partialMetadata(it, version)
			if err != nil {
				return nil, err
			}
			row.Object.Object = p
		}
		table.Rows = append(table.Rows, row)
	}
	return table, nil
}

// initialEventsEnd reports the bookmark that ends a watch list's initial
// events, whose Table row carries its metadata only, as kube's.
func initialEventsEnd(obj runtime.Object) bool {
	m, err := meta.Accessor(obj)
	return err == nil && m.GetAnnotations()[metav1.InitialEventsAnnotationKey] == "true"
}
