package registry

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/google/uuid"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kapi/internal/request"
	"kapi/internal/storage"
)

// errResourceVersionSetOnCreate is kube's storage.ErrResourceVersionSetOnCreate,
// which it keeps a plain error on purpose (kubernetes/kubernetes#62836).
var errResourceVersionSetOnCreate = errors.New("resourceVersion should not be set on objects to be created")

// generateNameRetries is how often a create with generateName tries a new
// suffix when the name it drew is taken.
const generateNameRetries = 8

// staleChargeRetries is how often a create is admitted again when what it
// charged (a quota) changed meanwhile: many concurrent writers may take
// turns at one quota.
const staleChargeRetries = 64

// Create stores a new object in namespace ns (ignored for cluster-scoped
// resources), admitted by adm (nil: no admission). With dryRun it returns
// what would be stored.
func (st *Store) Create(ctx context.Context, ns string, obj runtime.Object, adm Admission, dryRun bool) (runtime.Object, error) {
	if st.R.Terminating {
		// kube-apiserver's answer for a custom resource whose CRD goes.
		err := apierrors.NewMethodNotSupported(st.GroupResource(), "create")
		err.ErrStatus.Message = "create not allowed while custom resource definition is terminating"
		return nil, err
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	if err := st.prepareCreate(ctx, ns, obj, m); err != nil {
		return nil, err
	}
	if obj, err = mutate(ctx, adm, obj, nil, func(o runtime.Object) error { return st.prepareCreate(ctx, ns, o, mustAccessor(o)) }); err != nil {
		return nil, err
	}
	m = mustAccessor(obj)
	st.systemFields(m)
	generated := m.GetName() == "" && m.GetGenerateName() != ""
	for try := 0; ; try++ {
		if generated {
			m.SetName(m.GetGenerateName() + randomSuffix())
		}
		if err := st.validateCreate(ctx, obj, m); err != nil {
			return nil, err
		}
		charges, err := validate(ctx, adm, obj, nil)
		if err != nil {
			return nil, err
		}
		undo, err := st.allocate(ctx, obj, nil, dryRun)
		if err != nil {
			return nil, err
		}
		if dryRun {
			return obj, nil
		}
		stored, err := st.toStorage(obj)
		if err != nil {
			undo()
			return nil, apierrors.NewInternalError(err)
		}
		sctx, cancel := storageContext(ctx)
		out, err := st.Storage.Create(sctx, st.key(m.GetNamespace(), m.GetName()), stored, charges...)
		cancel()
		if err != nil {
			undo()
		}
		if storage.HasCode(err, storage.CodeAlreadyExists) && generated && try < generateNameRetries ||
			storage.HasCode(err, storage.CodeStaleCharge) && try < staleChargeRetries {
			// Another name, or the usage charged again as it is now.
			continue
		}
		if err != nil {
			return nil, st.callError(sctx, err, m.GetName(), true)
		}
		return st.toServed(out)
	}
}

// prepareCreate clears what a client may not set on create and runs the
// row's defaults and preparation; systemFields, after admission, fills what
// the server owns.
func (st *Store) prepareCreate(ctx context.Context, ns string, obj runtime.Object, m metav1.Object) error {
	if st.R.Namespaced {
		switch m.GetNamespace() {
		case "":
			m.SetNamespace(ns)
		case ns:
		default:
			return apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request")
		}
	} else {
		m.SetNamespace("")
	}
	if rv := m.GetResourceVersion(); rv != "" && rv != "0" {
		// A plain error, as kube's storage.ErrResourceVersionSetOnCreate:
		// the client gets kube-apiserver's answer, 500 with no reason.
		return errResourceVersionSetOnCreate
	}
	m.SetResourceVersion("")
	if st.R.HasStatus() && !st.R.KeepStatusOnCreate {
		st.R.Type.Status.Reset(obj)
	}
	st.R.Hooks.PrepareCreate(obj)
	if h := st.R.Hooks; h != nil && h.PrepareForCreateBy != nil {
		h.PrepareForCreateBy(ctx, obj)
	}
	return nil
}

// systemFields sets what only the server sets on a new object: its uid,
// creation time and first generation, and no deletion. Admission does not
// see them, as in kube-apiserver.
func (st *Store) systemFields(m metav1.Object) {
	m.SetUID(types.UID(uuid.NewString()))
	m.SetCreationTimestamp(metav1.NewTime(time.Now().Truncate(time.Second)))
	m.SetDeletionTimestamp(nil)
	m.SetDeletionGracePeriodSeconds(nil)
	m.SetSelfLink("")
	m.SetGeneration(0)
	if st.R.Generation {
		m.SetGeneration(1)
	}
}

// validateCreate checks the metadata every object shares and then the
// type's own rules; a failure is 422 Invalid with field causes. A valid
// object's warnings go to the request.
func (st *Store) validateCreate(ctx context.Context, obj runtime.Object, m metav1.Object) error {
	errs := apimachineryvalidation.ValidateObjectMetaAccessor(m, st.R.Namespaced,
		apimachineryvalidation.ValidateNameFunc(st.R.nameRule()), field.NewPath("metadata"))
	errs = append(errs, st.R.finalizerErrors(m, field.NewPath("metadata"))...)
	if h := st.R.Hooks; h != nil && h.Validate != nil {
		errs = append(errs, h.Validate(obj, nil)...)
	}
	if h := st.R.Hooks; len(errs) == 0 && h != nil && h.Authorize != nil {
		errs = h.Authorize(ctx, obj, nil)
	}
	if len(errs) > 0 {
		return apierrors.NewInvalid(st.R.GVK().GroupKind(), m.GetName(), errs)
	}
	st.warn(ctx, obj, nil)
	return nil
}

// warn adds the row's warnings about obj (and old, on an update) to the
// request's answer.
func (st *Store) warn(ctx context.Context, obj, old runtime.Object) {
	if h := st.R.Hooks; h != nil && h.Warnings != nil {
		for _, w := range h.Warnings(obj, old) {
			request.AddWarning(ctx, w)
		}
	}
}

// randomSuffix is kube-apiserver's generateName suffix: five characters
// from an alphabet without vowels and look-alikes.
func randomSuffix() string {
	const alphabet = "bcdfghjklmnpqrstvwxz2456789"
	b := make([]byte, 5)
	for i := range b {
		b[i] = alphabet[rand.IntN(len(alphabet))]
	}
	return string(b)
}

// allocate runs the row's Allocate hook; undo is never nil.
func (st *Store) allocate(ctx context.Context, obj, old runtime.Object, dryRun bool) (undo func(), err error) {
	undo = func() {}
	if h := st.R.Hooks; h != nil && h.Allocate != nil {
		u, err := h.Allocate(ctx, obj, old, dryRun)
		if err != nil {
			return undo, err
		}
		if u != nil {
			undo = u
		}
	}
	return undo, nil
}

// release runs the row's Release hook after a write: what old held and
// obj (nil after a delete) does not.
func (st *Store) release(ctx context.Context, obj, old runtime.Object) {
	if h := st.R.Hooks; h != nil && h.Release != nil && old != nil {
		h.Release(context.WithoutCancel(ctx), obj, old)
	}
}
