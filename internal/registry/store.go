package registry

import (
	"errors"
	"fmt"
	"reflect"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"kapi/internal/storage"
)

// Store is the generic store: it serves one Resource from a
// storage.Interface, applying what every type shares (metadata rules,
// optimistic concurrency, status and spec separation, finalizers) and the
// row's hooks for the rest. Objects going in and out are of the served
// version; conversion to the stored version happens here.
type Store struct {
	R       *Resource
	Storage storage.Interface
}

// NewStore returns the store of r on s.
func NewStore(r *Resource, s storage.Interface) *Store {
	return &Store{R: r, Storage: s}
}

// GroupResource names the resource in errors.
func (st *Store) GroupResource() schema.GroupResource {
	return schema.GroupResource{Group: st.R.Group, Resource: st.R.Name}
}

// New returns an empty object of the served kind.
func (st *Store) New() runtime.Object {
	obj, err := Scheme.New(st.R.GVK())
	if err != nil {
		panic(fmt.Sprintf("catalogue row %s has no Go type: %v", st.R.GVR(), err))
	}
	return obj
}

// NewList returns an empty list of the served kind.
func (st *Store) NewList() runtime.Object {
	gvk := st.R.GVK()
	gvk.Kind += "List"
	obj, err := Scheme.New(gvk)
	if err != nil {
		panic(fmt.Sprintf("catalogue row %s has no list type: %v", st.R.GVR(), err))
	}
	obj.GetObjectKind().SetGroupVersionKind(gvk)
	return obj
}

func (st *Store) key(ns, name string) string {
	if st.R.Namespaced {
		return ns + "/" + name
	}
	return name
}

func (st *Store) prefix(ns string) string {
	if st.R.Namespaced && ns != "" {
		return ns + "/"
	}
	return ""
}

// toStorage converts a served object to the stored version.
func (st *Store) toStorage(obj runtime.Object) (runtime.Object, error) {
	if st.R.Convert == nil {
		return obj, nil
	}
	return st.R.Convert.ToStorage(obj)
}

// toServed converts a stored object to the served version and sets its
// apiVersion and kind.
func (st *Store) toServed(obj runtime.Object) (runtime.Object, error) {
	if obj == nil {
		return nil, nil
	}
	if c, ok := obj.(*storage.Cached); ok {
		// A shared object is served as it is when it is already of the
		// served version; otherwise a copy is converted.
		if st.R.Convert == nil && c.GetObjectKind().GroupVersionKind() == st.R.GVK() {
			return c, nil
		}
		obj = c.DeepCopyObject()
	}
	if st.R.Convert != nil {
		var err error
		if obj, err = st.R.Convert.FromStorage(obj); err != nil {
			return nil, err
		}
	}
	obj.GetObjectKind().SetGroupVersionKind(st.R.GVK())
	return obj, nil
}

// storageError turns a storage error into the Status error a client sees.
func (st *Store) storageError(err error, name string) error {
	if err == nil {
		return nil
	}
	if _, ok := err.(apierrors.APIStatus); ok {
		return err
	}
	gr := st.GroupResource()
	var se *storage.Error
	if !errors.As(err, &se) {
		return apierrors.NewInternalError(err)
	}
	switch se.Code {
	case storage.CodeNotFound:
		return apierrors.NewNotFound(gr, name)
	case storage.CodeAlreadyExists:
		return apierrors.NewAlreadyExists(gr, name)
	case storage.CodeConflict:
		return apierrors.NewConflict(gr, name, fmt.Errorf("%s", se.Msg))
	case storage.CodeGone:
		return apierrors.NewResourceExpired(se.Msg)
	case storage.CodeTooLarge:
		return apierrors.NewRequestEntityTooLargeError(se.Msg)
	case storage.CodeTooLargeResourceVersion:
		return apierrors.NewTimeoutError(se.Msg, 1)
	case storage.CodeInvalidContinue:
		return apierrors.NewBadRequest(se.Msg)
	}
	return apierrors.NewInternalError(err)
}

// hasStatus reports whether the resource's objects have a status that the
// status subresource owns.
func (st *Store) hasStatus() bool { return st.R.HasSubresource("status") }

// statusField returns the addressable Status field of a typed object.
func statusField(obj runtime.Object) (reflect.Value, bool) {
	v := reflect.ValueOf(obj)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return reflect.Value{}, false
	}
	f := v.Elem().FieldByName("Status")
	return f, f.IsValid() && f.CanSet()
}

// copyStatus sets dst's status to src's.
func copyStatus(dst, src runtime.Object) {
	d, ok1 := statusField(dst)
	s, ok2 := statusField(src)
	if ok1 && ok2 {
		d.Set(s)
	}
}

// resetStatus clears obj's status.
func resetStatus(obj runtime.Object) {
	if f, ok := statusField(obj); ok {
		f.Set(reflect.Zero(f.Type()))
	}
}
