package registry

import (
	"context"
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// errFinalizing sends a delete down the graceful path: the object has
// finalizers (or the type retains it), so it is marked, not removed.
var errFinalizing = errors.New("object has finalizers")

// Delete deletes ns/name. An object with finalizers gets a
// deletionTimestamp and stays until they are gone; deleted reports whether
// it is gone now.
func (st *Store) Delete(ctx context.Context, ns, name string, opts *metav1.DeleteOptions, dryRun bool) (out runtime.Object, deleted bool, err error) {
	key := st.key(ns, name)
	for attempt := 0; attempt < 10; attempt++ {
		var last runtime.Object
		stored, err := st.Storage.Delete(ctx, key, func(current runtime.Object) error {
			obj, err := st.toServed(current)
			if err != nil {
				return err
			}
			last = obj
			if err := checkPreconditions(st, name, obj, opts); err != nil {
				return err
			}
			if st.mustFinalize(obj) {
				return errFinalizing
			}
			if dryRun {
				return errDryRun{obj}
			}
			return nil
		})
		var dr errDryRun
		switch {
		case errors.As(err, &dr):
			return dr.obj, true, nil
		case errors.Is(err, errFinalizing):
			out, deleted, err := st.finalize(ctx, ns, name, last, opts, dryRun)
			if errors.Is(err, errRetryDelete) {
				continue
			}
			return out, deleted, err
		case err != nil:
			return nil, false, st.storageError(err, name)
		}
		out, err := st.toServed(stored)
		return out, true, err
	}
	return nil, false, apierrors.NewConflict(st.GroupResource(), name, fmt.Errorf("the object kept changing during its deletion"))
}

// errRetryDelete: the finalizers went away while marking; delete again.
var errRetryDelete = errors.New("retry delete")

// mustFinalize reports whether deleting obj must wait.
func (st *Store) mustFinalize(obj runtime.Object) bool {
	m := mustAccessor(obj)
	if len(m.GetFinalizers()) > 0 {
		return true
	}
	if h := st.R.Hooks; h != nil && h.Retain != nil && h.Retain(obj) {
		return true
	}
	return false
}

// finalize marks the object as being deleted: deletionTimestamp now and a
// zero grace period, unless it is marked already.
func (st *Store) finalize(ctx context.Context, ns, name string, seen runtime.Object, opts *metav1.DeleteOptions, dryRun bool) (runtime.Object, bool, error) {
	var result runtime.Object
	stored, err := st.Storage.Update(ctx, st.key(ns, name), false, func(current runtime.Object) (runtime.Object, error) {
		obj, err := st.toServed(current)
		if err != nil {
			return nil, err
		}
		if err := checkPreconditions(st, name, obj, opts); err != nil {
			return nil, err
		}
		if !st.mustFinalize(obj) {
			return nil, errRetryDelete
		}
		m := mustAccessor(obj)
		if m.GetDeletionTimestamp() == nil {
			now := metav1.NewTime(time.Now().Truncate(time.Second))
			zero := int64(0)
			m.SetDeletionTimestamp(&now)
			m.SetDeletionGracePeriodSeconds(&zero)
			if h := st.R.Hooks; h != nil && h.PrepareForDelete != nil {
				h.PrepareForDelete(obj)
			}
		}
		result = obj
		if dryRun {
			return nil, errDryRun{obj}
		}
		return st.toStorage(obj)
	})
	var dr errDryRun
	if errors.As(err, &dr) {
		return dr.obj, false, nil
	}
	if errors.Is(err, errRetryDelete) {
		return nil, false, err
	}
	if err != nil {
		return nil, false, st.storageError(err, name)
	}
	_ = result
	out, err := st.toServed(stored)
	return out, false, err
}

// checkPreconditions compares the delete's uid and resourceVersion
// preconditions with the stored object (409 Conflict when they differ).
func checkPreconditions(st *Store, name string, obj runtime.Object, opts *metav1.DeleteOptions) error {
	if opts == nil || opts.Preconditions == nil {
		return nil
	}
	m := mustAccessor(obj)
	p := opts.Preconditions
	if p.UID != nil && *p.UID != m.GetUID() {
		return apierrors.NewConflict(st.GroupResource(), name,
			fmt.Errorf("Precondition failed: UID in precondition: %v, UID in object meta: %v", *p.UID, m.GetUID()))
	}
	if p.ResourceVersion != nil && *p.ResourceVersion != m.GetResourceVersion() {
		return apierrors.NewConflict(st.GroupResource(), name,
			fmt.Errorf("Precondition failed: ResourceVersion in precondition: %v, ResourceVersion in object meta: %v", *p.ResourceVersion, m.GetResourceVersion()))
	}
	return nil
}
