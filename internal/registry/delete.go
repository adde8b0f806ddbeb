package registry

import (
	"context"
	"fmt"
	"slices"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/storage"
)

// Delete deletes ns/name, as kube-apiserver's generic store does:
//
//   - propagationPolicy (or the legacy orphanDependents) sets the
//     garbage collector's finalizers: Orphan adds "orphan", Foreground
//     adds "foregroundDeletion", Background neither; without one, the
//     object's own such finalizer, else the row's GarbageCollection,
//     decides (gcFinalizers); with no collector (NoCollector), they stay
//     as they are;
//   - an object with finalizers, or that its row retains, is marked with
//     a deletionTimestamp and a zero grace period and stays until they go;
//   - a row with a GracePeriod (pods) marks the object with a
//     deletionTimestamp that many seconds ahead and its
//     deletionGracePeriodSeconds; it stays until a later delete with a
//     grace period of 0 (kubelet's, or kubectl's --force);
//   - otherwise the object is removed at once.
//
// Admission (adm, nil for none) sees the stored object of each attempt,
// both phases, before anything is decided. deleted reports whether it is
// gone now.
func (st *Store) Delete(ctx context.Context, ns, name string, opts *metav1.DeleteOptions, adm Admission, dryRun bool) (out runtime.Object, deleted bool, err error) {
	if opts == nil {
		opts = &metav1.DeleteOptions{}
	}
	if errs := ValidateDeleteOptions(opts); len(errs) > 0 {
		return nil, false, apierrors.NewInvalid(metav1.SchemeGroupVersion.WithKind("DeleteOptions").GroupKind(), "", errs)
	}
	var action storage.Action
	sctx, cancel := storageContext(ctx)
	defer cancel()
	stored, err := st.Storage.Update(sctx, st.key(ns, name), false, func(current runtime.Object) (storage.Decision, error) {
		obj, err := st.toServed(current)
		if err != nil {
			return storage.Decision{}, err
		}
		if err := st.CheckPreconditions(name, obj, opts.Preconditions); err != nil {
			return storage.Decision{}, err
		}
		if _, err := mutate(ctx, adm, nil, obj, nil); err != nil {
			return storage.Decision{}, err
		}
		charges, err := validate(ctx, adm, nil, obj)
		if err != nil {
			return storage.Decision{}, err
		}
		stay := st.deletion(obj, opts)
		deleted = !stay
		switch {
		case dryRun:
			action = storage.NoWrite
			return storage.Decision{Action: storage.NoWrite, Object: obj}, nil
		case stay:
			action = storage.Write
			stored, err := st.toStorage(obj)
			return storage.WriteObject(stored), err
		}
		action = storage.Remove
		return storage.Decision{Action: storage.Remove, Charges: charges}, nil
	})
	if err != nil {
		return nil, false, st.callError(sctx, err, name, true)
	}
	if action == storage.NoWrite {
		return stored, deleted, nil
	}
	out, err = st.toServed(stored)
	if err != nil {
		return nil, false, err
	}
	if action == storage.Remove {
		st.release(ctx, nil, out)
	}
	return out, deleted, nil
}

// mustFinalize reports whether deleting obj must wait for finalizers.
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

// deletion applies a delete with opts to obj (a copy it may change) and
// reports whether obj stays, marked, rather than being removed. It is
// kube-apiserver's BeforeDelete and deletionFinalizersForGarbageCollection
// in one place: see Delete.
func (st *Store) deletion(obj runtime.Object, opts *metav1.DeleteOptions) (stay bool) {
	m := mustAccessor(obj)
	now := time.Now()
	if ts := m.GetDeletionTimestamp(); ts != nil {
		// Deletion has begun: finalizers no longer change, and only a
		// shorter grace period may be given, which moves the timestamp
		// earlier by the difference.
		gp := m.GetDeletionGracePeriodSeconds()
		if gp != nil && *gp > 0 {
			if opts.GracePeriodSeconds == nil || *opts.GracePeriodSeconds >= *gp {
				return true
			}
			period := *opts.GracePeriodSeconds
			moved := metav1.NewTime(ts.Add(time.Duration(period-*gp) * time.Second))
			m.SetDeletionTimestamp(&moved)
			m.SetDeletionGracePeriodSeconds(&period)
			if period > 0 {
				return true
			}
		}
		return st.mustFinalize(obj)
	}
	if fin, changed := gcFinalizers(m.GetFinalizers(), opts, st.R.GarbageCollection); changed && !st.NoCollector {
		m.SetFinalizers(fin)
	}
	var grace int64
	if st.R.GracePeriod != nil {
		grace = st.R.GracePeriod(obj, opts)
	}
	if grace <= 0 && !st.mustFinalize(obj) {
		return false
	}
	if grace < 0 {
		grace = 0
	}
	at := metav1.NewTime(now.Add(time.Duration(grace) * time.Second).Truncate(time.Second))
	m.SetDeletionTimestamp(&at)
	m.SetDeletionGracePeriodSeconds(&grace)
	if grace > 0 && m.GetGeneration() > 0 {
		// As kube-apiserver: a graceful deletion is a change of intent.
		m.SetGeneration(m.GetGeneration() + 1)
	}
	if h := st.R.Hooks; h != nil && h.PrepareForDelete != nil {
		h.PrepareForDelete(obj)
	}
	return true
}

// gcFinalizers are the finalizers after a delete with opts, as kube's
// deletionFinalizersForGarbageCollection sets them: the garbage
// collector's "orphan" or "foregroundDeletion" as the options ask, else as
// the object's own finalizers say, else as the kind's default policy
// says; a kind that does not support the collector keeps neither.
// changed reports a difference.
func gcFinalizers(current []string, opts *metav1.DeleteOptions, policy GCPolicy) (out []string, changed bool) {
	orphan, foreground := false, false
	switch {
	case policy == GCUnsupported:
	case opts.OrphanDependents != nil: //nolint:staticcheck // the legacy option, still honoured
		orphan = *opts.OrphanDependents //nolint:staticcheck
	case opts.PropagationPolicy != nil && *opts.PropagationPolicy != "":
		orphan = *opts.PropagationPolicy == metav1.DeletePropagationOrphan
		foreground = *opts.PropagationPolicy == metav1.DeletePropagationForeground
	case slices.Contains(current, metav1.FinalizerOrphanDependents):
		orphan = true
	case slices.Contains(current, metav1.FinalizerDeleteDependents):
		foreground = true
	default:
		orphan = policy == GCOrphan
	}
	for _, f := range current {
		if f != metav1.FinalizerOrphanDependents && f != metav1.FinalizerDeleteDependents {
			out = append(out, f)
		}
	}
	if orphan {
		out = append(out, metav1.FinalizerOrphanDependents)
	}
	if foreground {
		out = append(out, metav1.FinalizerDeleteDependents)
	}
	return out, !sameSet(out, current)
}

func sameSet(a, b []string) bool {
	in := map[string]bool{}
	for _, s := range a {
		in[s] = true
	}
	for _, s := range b {
		if !in[s] {
			return false
		}
	}
	inB := map[string]bool{}
	for _, s := range b {
		inB[s] = true
	}
	for _, s := range a {
		if !inB[s] {
			return false
		}
	}
	return true
}

// DeleteCorrupt removes ns/name if it is corrupt (it does not decrypt or
// decode), without reading it: kube's unsafe deletion, asked for by
// DeleteOptions' ignoreStoreReadErrorWithClusterBreakingPotential. It
// skips preconditions, finalizers, admission and the garbage collector's
// policies, which all need the object; an object that reads is a 409,
// and dryRun only checks.
func (st *Store) DeleteCorrupt(ctx context.Context, ns, name string, dryRun bool) error {
	sctx, cancel := storageContext(ctx)
	defer cancel()
	return st.callError(sctx, st.Storage.DeleteCorrupt(sctx, st.key(ns, name), dryRun), name, true)
}

// ValidateDeleteOptions rejects options kube-apiserver rejects (its
// ValidateDeleteOptions).
func ValidateDeleteOptions(opts *metav1.DeleteOptions) field.ErrorList {
	var errs field.ErrorList
	if opts.OrphanDependents != nil && opts.PropagationPolicy != nil { //nolint:staticcheck
		errs = append(errs, field.Invalid(field.NewPath("propagationPolicy"), opts.PropagationPolicy, "orphanDependents and deletionPropagation cannot be both set"))
	}
	if p := opts.PropagationPolicy; p != nil && *p != metav1.DeletePropagationForeground &&
		*p != metav1.DeletePropagationBackground && *p != metav1.DeletePropagationOrphan {
		errs = append(errs, field.NotSupported(field.NewPath("propagationPolicy"), *p,
			[]string{string(metav1.DeletePropagationForeground), string(metav1.DeletePropagationBackground), string(metav1.DeletePropagationOrphan), "nil"}))
	}
	if opts.IgnoreStoreReadErrorWithClusterBreakingPotential == nil || !*opts.IgnoreStoreReadErrorWithClusterBreakingPotential {
		return errs
	}
	// An unsafe deletion reads nothing these options could apply to.
	p := field.NewPath("ignoreStoreReadErrorWithClusterBreakingPotential")
	for _, o := range []struct {
		name string
		set  bool
	}{{"propagationPolicy", opts.PropagationPolicy != nil}, {"orphanDependents", opts.OrphanDependents != nil}, //nolint:staticcheck // the legacy option
		{"gracePeriodSeconds", opts.GracePeriodSeconds != nil}, {"preconditions", opts.Preconditions != nil}} {
		if o.set {
			errs = append(errs, field.Invalid(p, true, "cannot be set together with ."+o.name))
		}
	}
	return errs
}

// CheckPreconditions is the 409 of a write conditioned on obj's uid or
// resourceVersion (a delete's preconditions, a Binding's own) when obj
// has others; nil p: none.
func (st *Store) CheckPreconditions(name string, obj runtime.Object, p *metav1.Preconditions) error {
	if p == nil {
		return nil
	}
	m := mustAccessor(obj)
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
