package registry

import (
	"errors"
	"fmt"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
	// NoCollector: no garbage collector runs, so a delete leaves the
	// object's finalizers as they are, setting neither "orphan" nor
	// "foregroundDeletion" (kube's store without EnableGarbageCollection).
	// The catalogue sets it when it publishes the store.
	NoCollector bool
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
func (st *Store) New() runtime.Object { return st.R.Type.New() }

// NewList returns an empty list of the served kind.
func (st *Store) NewList() runtime.Object { return st.R.Type.NewList() }

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
// apiVersion and kind. An object already of the served version is served
// as it is (a custom resource stored in the version served); a shared one
// then stays shared.
func (st *Store) toServed(obj runtime.Object) (runtime.Object, error) {
	if obj == nil {
		return nil, nil
	}
	served := obj.GetObjectKind().GroupVersionKind() == st.R.GVK()
	if c, ok := obj.(*storage.Cached); ok {
		if served {
			return c, nil
		}
		obj = c.DeepCopyObject()
	}
	if st.R.Convert != nil && !served {
		var err error
		if obj, err = st.R.Convert.FromStorage(obj); err != nil {
			return nil, err
		}
	}
	obj.GetObjectKind().SetGroupVersionKind(st.R.GVK())
	return obj, nil
}

// toServedAll is toServed of each of objs, in place; when the row
// converts lists at once, the objects to convert go in one call.
func (st *Store) toServedAll(objs []runtime.Object) error {
	batch := st.R.Convert != nil && st.R.Convert.FromStorageAll != nil
	var at []int
	var convert []runtime.Object
	for i, o := range objs {
		if batch && o != nil && o.GetObjectKind().GroupVersionKind() != st.R.GVK() {
			if c, ok := o.(*storage.Cached); ok {
				o = c.DeepCopyObject()
			}
			at, convert = append(at, i), append(convert, o)
			continue
		}
		var err error
		if objs[i], err = st.toServed(o); err != nil {
			return err
		}
	}
	if len(convert) == 0 {
		return nil
	}
	out, err := st.R.Convert.FromStorageAll(convert)
	if err != nil {
		return err
	}
	if len(out) != len(convert) {
		return fmt.Errorf("%d objects converted into %d", len(convert), len(out))
	}
	for j, i := range at {
		out[j].GetObjectKind().SetGroupVersionKind(st.R.GVK())
		objs[i] = out[j]
	}
	return nil
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
	if c := storage.AsCorruptList(err); c != nil {
		return corruptListError(gr, c)
	}
	var se *storage.Error
	if !errors.As(err, &se) {
		return apierrors.NewInternalError(err)
	}
	switch se.Code {
	case storage.CodeCorrupt:
		return apierrors.NewInternalError(errors.New(se.Msg))
	case storage.CodeNotCorrupt:
		return apierrors.NewConflict(gr, name, errors.New(se.Msg))
	case storage.CodeNotFound:
		return apierrors.NewNotFound(gr, name)
	case storage.CodeAlreadyExists:
		return apierrors.NewAlreadyExists(gr, name)
	case storage.CodeConflict:
		return apierrors.NewConflict(gr, name, fmt.Errorf("%s", se.Msg))
	case storage.CodeGone:
		e := apierrors.NewResourceExpired(se.Msg)
		e.ErrStatus.ListMeta.Continue = se.Continue
		return e
	case storage.CodeTooLarge:
		return apierrors.NewRequestEntityTooLargeError(se.Msg)
	case storage.CodeTooLargeResourceVersion:
		return apierrors.NewTimeoutError(se.Msg, 1)
	case storage.CodeInvalidContinue:
		return apierrors.NewBadRequest(se.Msg)
	case storage.CodeTimeout:
		// As kube's own request timeouts: 504, and when to try again.
		return apierrors.NewTimeoutError(se.Msg, 2)
	case storage.CodeWriteUnknown:
		return apierrors.NewTimeoutError(se.Msg+" (the write may have been applied)", 0)
	case storage.CodeUnavailable:
		e := apierrors.NewServiceUnavailable(se.Msg)
		e.ErrStatus.Details = &metav1.StatusDetails{RetryAfterSeconds: 1}
		return e
	}
	return apierrors.NewInternalError(err)
}

// corruptListError is kube-apiserver's answer to a list that met corrupt
// objects: a 500 StoreReadError naming each object's key in a cause, so
// that they can be found and deleted (DeleteCorrupt).
func corruptListError(gr schema.GroupResource, c *storage.CorruptList) error {
	causes := make([]metav1.StatusCause, 0, len(c.Objects)+1)
	for _, e := range c.Objects {
		causes = append(causes, metav1.StatusCause{Type: metav1.CauseTypeUnexpectedServerResponse, Field: e.Key, Message: e.Msg})
	}
	if c.Truncated {
		causes = append(causes, metav1.StatusCause{Type: metav1.CauseTypeTooMany, Message: "too many errors, the list is truncated"})
	}
	msg := fmt.Sprintf("failed to read one or more %s from the storage: %s", gr.String(), c.Objects[0].Msg)
	if len(c.Objects) > 1 {
		msg = fmt.Sprintf("%s (and %d more)", msg, len(c.Objects)-1)
	}
	return &apierrors.StatusError{ErrStatus: metav1.Status{Status: metav1.StatusFailure, Code: http.StatusInternalServerError,
		Reason: metav1.StatusReasonStoreReadError, Message: msg,
		Details: &metav1.StatusDetails{Group: gr.Group, Kind: gr.Resource, Name: "list", Causes: causes}}}
}

// Charge is the write of obj (an object of this store, as read, at its
// resourceVersion) in the transaction of another store's write: what
// admission charges to it (a ResourceQuota's usage).
func (st *Store) Charge(obj runtime.Object) (storage.Charge, error) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return storage.Charge{}, err
	}
	stored, err := st.toStorage(obj)
	if err != nil {
		return storage.Charge{}, err
	}
	return st.Storage.Charge(st.key(m.GetNamespace(), m.GetName()), stored)
}
