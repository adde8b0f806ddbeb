package registry

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/request"
	"kapi/internal/storage"
)

// UpdatedObject computes the object a write wants from the stored one: the
// request body for PUT, the patched object for PATCH. old is nil when the
// object does not exist; it is the caller's to change.
type UpdatedObject func(ctx context.Context, old runtime.Object) (runtime.Object, error)

// Update writes the object named ns/name, or its subresource sub (nil
// for the object itself), admitted by adm (nil: no admission): mutating
// admission sees what newObj made, validating admission the final object
// (views of both for a subresource with a view of its own, as a Scale).
// Each attempt is admitted again: a conflict means another object.
// created reports a create-on-update. The answer
// is what the subresource shows of the result (a Scale), or the object.
func (st *Store) Update(ctx context.Context, ns, name string, sub *Subresource, newObj UpdatedObject, adm Admission, dryRun bool) (out runtime.Object, created bool, err error) {
	key := st.key(ns, name)
	allowCreate := st.R.AllowCreateOnUpdate && sub == nil
	var result, previous runtime.Object
	var action storage.Action
	// undo gives back what the last attempt reserved (Hooks.Allocate):
	// an attempt that loses a conflict gives it back before the next.
	undo := func() {}
	sctx, cancel := storageContext(ctx)
	defer cancel()
	stored, err := st.Storage.Update(sctx, key, allowCreate, func(current runtime.Object) (storage.Decision, error) {
		undo()
		undo = func() {}
		d, err := st.decide(ctx, ns, name, sub, current, newObj, adm, dryRun, &undo)
		created, result, action = current == nil, d.Object, d.Action
		if current != nil {
			previous = d.previous
		}
		return d.Decision, err
	})
	if err != nil {
		undo()
		return nil, false, st.callError(sctx, err, name, true)
	}
	switch action {
	case storage.NoWrite:
		out, err := st.view(sub, result)
		return out, created, err
	case storage.Remove:
		if deleted, err := st.toServed(stored); err == nil {
			st.release(ctx, nil, deleted)
		}
		return result, false, nil
	}
	out, err = st.toServed(stored)
	if err != nil {
		return nil, false, err
	}
	if sub == nil {
		st.release(ctx, out, previous)
	}
	out, err = st.view(sub, out)
	return out, created, err
}

// decision is a storage decision with the object it was taken on.
type decision struct {
	storage.Decision
	previous runtime.Object
}

// decide is one attempt of an update on the stored object current (nil
// when it does not exist): the object to write, nothing for a dry run,
// or a removal for an object whose deletion has nothing left to wait for.
func (st *Store) decide(ctx context.Context, ns, name string, sub *Subresource, current runtime.Object, newObj UpdatedObject, adm Admission, dryRun bool, undo *func()) (decision, error) {
	var d decision
	if current == nil {
		obj, charges, err := st.createOnUpdate(ctx, ns, name, newObj, adm)
		if err != nil {
			return d, err
		}
		d.Object, d.Charges = obj, charges
		if *undo, err = st.allocate(ctx, obj, nil, dryRun); err != nil {
			return d, err
		}
	} else {
		old, err := st.toServed(current)
		if err != nil {
			return d, err
		}
		d.previous = old
		obj, charges, err := st.updated(ctx, ns, name, sub, old, newObj, adm)
		if err != nil {
			return d, err
		}
		d.Object, d.Charges = obj, charges
		if st.shouldDelete(obj) {
			d.Action = storage.Remove
			if dryRun {
				d.Action = storage.NoWrite
			}
			return d, nil
		}
		if sub == nil {
			if *undo, err = st.allocate(ctx, obj, old, dryRun); err != nil {
				return d, err
			}
		}
	}
	if dryRun {
		d.Action = storage.NoWrite
		return d, nil
	}
	stored, err := st.toStorage(d.Object)
	if err != nil {
		return d, err
	}
	return decision{Decision: storage.Decision{Action: storage.Write, Object: stored, Charges: d.Charges}, previous: d.previous}, nil
}

// view is what a write of sub answers with: the subresource's view of
// the object (a Scale), or the object.
func (st *Store) view(sub *Subresource, obj runtime.Object) (runtime.Object, error) {
	if sub == nil {
		return obj, nil
	}
	v, err := sub.ViewOf(st.R, obj)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	return v, nil
}

// createOnUpdate handles a PUT of a missing object for resources that
// allow it.
func (st *Store) createOnUpdate(ctx context.Context, ns, name string, newObj UpdatedObject, adm Admission) (runtime.Object, []storage.Charge, error) {
	obj, err := newObj(ctx, nil)
	if err != nil {
		return nil, nil, err
	}
	prepare := func(o runtime.Object) error {
		m := mustAccessor(o)
		if err := checkNameMatches(m, name); err != nil {
			return err
		}
		m.SetResourceVersion("")
		return st.prepareCreate(ctx, ns, o, m)
	}
	if err := prepare(obj); err != nil {
		return nil, nil, err
	}
	if obj, err = mutate(ctx, adm, obj, nil, prepare); err != nil {
		return nil, nil, err
	}
	st.systemFields(mustAccessor(obj))
	if err := st.validateCreate(ctx, obj, mustAccessor(obj)); err != nil {
		return nil, nil, err
	}
	charges, err := validate(ctx, adm, obj, nil)
	if err != nil {
		return nil, nil, err
	}
	return obj, charges, nil
}

// updated computes and validates the new object from the stored one. A
// write of a subresource starts from its view of the stored object (a
// Scale), and its Write makes the object to store of the result.
func (st *Store) updated(ctx context.Context, ns, name string, sub *Subresource, old runtime.Object, newObj UpdatedObject, adm Admission) (runtime.Object, []storage.Charge, error) {
	view := old.DeepCopyObject()
	if sub != nil {
		if sub.Write == nil {
			return nil, nil, apierrors.NewMethodNotSupported(st.GroupResource(), "update")
		}
		var err error
		if view, err = sub.ViewOf(st.R, view); err != nil {
			return nil, nil, apierrors.NewInternalError(err)
		}
	}
	// What admission compares with: the stored object, which nothing
	// changes, or a view of its own made of it (newObj may change view).
	oldView := old
	if adm != nil && sub != nil && sub.View != nil {
		var err error
		if oldView, err = sub.ViewOf(st.R, old); err != nil {
			return nil, nil, apierrors.NewInternalError(err)
		}
	}
	obj, err := newObj(ctx, view)
	if err != nil {
		return nil, nil, err
	}
	// Mutating admission sees the object with the kind's defaults, as
	// kube's sees what it decoded, and a patch it makes is defaulted
	// again. (A subresource's write is prepared once it is made whole,
	// below.)
	var prepare func(runtime.Object) error
	if sub == nil {
		prepare = func(o runtime.Object) error { st.R.Hooks.PrepareUpdate(o, old); return nil }
		prepare(obj)
	}
	if obj, err = mutate(ctx, adm, obj, oldView, prepare); err != nil {
		return nil, nil, err
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, nil, apierrors.NewBadRequest(err.Error())
	}
	oldMeta := mustAccessor(old)
	if err := checkNameMatches(m, name); err != nil {
		return nil, nil, err
	}
	if st.R.Namespaced {
		if m.GetNamespace() == "" {
			m.SetNamespace(ns)
		} else if m.GetNamespace() != ns {
			return nil, nil, apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request")
		}
	} else {
		m.SetNamespace("")
	}
	if rv := m.GetResourceVersion(); rv != "" && rv != oldMeta.GetResourceVersion() {
		return nil, nil, apierrors.NewConflict(st.GroupResource(), name,
			fmt.Errorf("the object has been modified; please apply your changes to the latest version and try again"))
	}
	switch {
	case sub != nil:
		if obj, err = sub.Write(st.R, obj, old); err != nil {
			return nil, nil, err
		}
		m = mustAccessor(obj)
	case st.R.HasStatus():
		st.R.Type.Status.Keep(obj, old)
	}
	m.SetResourceVersion(oldMeta.GetResourceVersion())
	keepSystemFields(m, oldMeta)
	// The kind's defaults come before the generation is counted: kube
	// defaults what it decodes, so that a write leaving out a defaulted
	// field changes nothing (no new generation, no write).
	if sub != nil && sub.PrepareForUpdate != nil {
		st.R.Hooks.defaults(obj)
		sub.PrepareForUpdate(obj, old)
	} else {
		st.R.Hooks.PrepareUpdate(obj, old)
	}
	if st.R.Generation {
		m.SetGeneration(oldMeta.GetGeneration())
		if (sub == nil || sub.ChangesSpec) && specChanged(obj, old, st.R.HasStatus()) {
			m.SetGeneration(oldMeta.GetGeneration() + 1)
		}
	}
	fld := field.NewPath("metadata")
	errs := apimachineryvalidation.ValidateObjectMetaAccessor(m, st.R.Namespaced,
		apimachineryvalidation.ValidateNameFunc(st.R.nameRule()), fld)
	errs = append(errs, apimachineryvalidation.ValidateObjectMetaAccessorUpdate(m, oldMeta, fld)...)
	errs = append(errs, st.R.finalizerErrors(m, fld)...)
	if sub != nil && sub.Validate != nil {
		errs = append(errs, sub.Validate(obj, old)...)
	} else if h := st.R.Hooks; h != nil && h.Validate != nil {
		errs = append(errs, h.Validate(obj, old)...)
	}
	if len(errs) == 0 && sub != nil && sub.Authorize != nil {
		errs = sub.Authorize(ctx, obj, old)
	} else if h := st.R.Hooks; len(errs) == 0 && sub == nil && h != nil && h.Authorize != nil {
		errs = h.Authorize(ctx, obj, old)
	}
	if len(errs) > 0 {
		return nil, nil, apierrors.NewInvalid(st.R.GVK().GroupKind(), name, errs)
	}
	switch {
	case sub == nil || (sub.ChangesSpec && !sub.NoWarnings):
		st.warn(ctx, obj, old)
	case sub.Warnings != nil:
		for _, w := range sub.Warnings(obj, old) {
			request.AddWarning(ctx, w)
		}
	}
	if adm != nil {
		final := obj
		if sub != nil && sub.View != nil {
			if final, err = sub.ViewOf(st.R, obj); err != nil {
				return nil, nil, apierrors.NewInternalError(err)
			}
		}
		charges, err := validate(ctx, adm, final, oldView)
		if err != nil {
			return nil, nil, err
		}
		return obj, charges, nil
	}
	return obj, nil, nil
}

func checkNameMatches(m metav1.Object, name string) error {
	if m.GetName() != name {
		return apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", m.GetName(), name))
	}
	return nil
}

// keepSystemFields restores what only the server sets: a client cannot
// change the creation time or undo a deletion, and an empty uid means
// "the same object".
func keepSystemFields(m, old metav1.Object) {
	if m.GetUID() == "" {
		m.SetUID(old.GetUID())
	}
	m.SetCreationTimestamp(old.GetCreationTimestamp())
	if old.GetDeletionTimestamp() != nil {
		m.SetDeletionTimestamp(old.GetDeletionTimestamp())
		m.SetDeletionGracePeriodSeconds(old.GetDeletionGracePeriodSeconds())
	} else {
		m.SetDeletionTimestamp(nil)
		m.SetDeletionGracePeriodSeconds(nil)
	}
	m.SetSelfLink("")
}

// specChanged reports a change outside metadata, and outside the status
// when a status subresource owns it (kube-apiserver counts a change of a
// custom resource's status as a change of intent when it has none). (The
// contents of an unstructured object are its own map: it is read, never
// changed.)
func specChanged(obj, old runtime.Object, ownStatus bool) bool {
	a, err1 := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	b, err2 := runtime.DefaultUnstructuredConverter.ToUnstructured(old)
	if err1 != nil || err2 != nil {
		return true
	}
	outside := func(k string) bool {
		return k != "metadata" && (k != "status" || !ownStatus) && k != "apiVersion" && k != "kind"
	}
	for k, v := range a {
		if outside(k) && !equality.Semantic.DeepEqual(v, b[k]) {
			return true
		}
	}
	for k, v := range b {
		if _, ok := a[k]; !ok && outside(k) && v != nil {
			return true
		}
	}
	return false
}

// shouldDelete reports an object that is being deleted and has nothing
// left to wait for.
func (st *Store) shouldDelete(obj runtime.Object) bool {
	m := mustAccessor(obj)
	if m.GetDeletionTimestamp() == nil || len(m.GetFinalizers()) > 0 {
		return false
	}
	// A graceful deletion still running (a pod's grace period) ends with
	// a delete of its own, not with the next write.
	if gp := m.GetDeletionGracePeriodSeconds(); gp != nil && *gp > 0 {
		return false
	}
	if h := st.R.Hooks; h != nil && h.Retain != nil && h.Retain(obj) {
		return false
	}
	return true
}

func mustAccessor(obj runtime.Object) metav1.Object {
	m, err := meta.Accessor(obj)
	if err != nil {
		panic(err)
	}
	return m
}
