package endpoints

import (
	"context"
	"net/http"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"kapi/internal/registry"
	"kapi/internal/request"
)

// deleteOptions reads DeleteOptions from the query and, if there is one,
// the body (kubectl sends them as a body).
func deleteOptions(r *http.Request) (*metav1.DeleteOptions, bool, error) {
	opts := &metav1.DeleteOptions{}
	if err := decodeOptions(r, opts); err != nil {
		return nil, false, err
	}
	body, err := readBody(r)
	if err != nil {
		return nil, false, err
	}
	if len(body) > 0 {
		info, err := inputSerializer(r, nil)
		if err != nil {
			return nil, false, err
		}
		gvk := metav1.SchemeGroupVersion.WithKind("DeleteOptions")
		if _, _, err := info.Serializer.Decode(body, &gvk, opts); err != nil {
			return nil, false, apierrors.NewBadRequest(err.Error())
		}
	}
	dry, err := dryRun(opts.DryRun)
	if err != nil {
		return nil, false, err
	}
	// As kube-apiserver: a negative grace period means one second.
	if opts.GracePeriodSeconds != nil && *opts.GracePeriodSeconds < 0 {
		one := int64(1)
		opts.GracePeriodSeconds = &one
	}
	return opts, dry, nil
}

// warnOrphaning gives the row's OrphanWarning to a delete that names no
// propagation policy of a kind whose default orphans the dependents, as
// kube's Job storage does before it deletes.
func warnOrphaning(r *http.Request, s *scope, opts *metav1.DeleteOptions) {
	row := s.store.R
	if row.OrphanWarning != "" && row.GarbageCollection == registry.GCOrphan &&
		opts.PropagationPolicy == nil && opts.OrphanDependents == nil { //nolint:staticcheck // the legacy option
		request.AddWarning(r.Context(), row.OrphanWarning)
	}
}

// delete serves DELETE of one object. The answer is the object when the
// resource returns deleted objects or when the object stays (finalizers),
// else a Status of success.
func (h *Resources) delete(w http.ResponseWriter, r *http.Request, s *scope) {
	opts, dry, err := deleteOptions(r)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	if unsafeDelete(opts) {
		h.deleteCorrupt(w, r, s, opts, dry)
		return
	}
	warnOrphaning(r, s, opts)
	obj, deleted, err := s.store.Delete(r.Context(), s.namespace(), s.info.Name, opts, h.admit(w, r, s, opts, dry), dry)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	if deleted && !s.store.R.ReturnDeletedObject {
		details := &metav1.StatusDetails{Name: s.info.Name, Group: s.store.R.Group, Kind: s.store.R.Name}
		if m, err := meta.Accessor(obj); err == nil {
			details.UID = m.GetUID()
		}
		WriteSuccess(w, r, s.out, details)
		return
	}
	respond(w, r, s, http.StatusOK, obj)
}

// deleteCollectionPageSize is the page a deletecollection lists at a time
// when the request sets no limit (kube's deleteCollectionPageSize).
const deleteCollectionPageSize = 10000

// deleteCollection serves DELETE of a collection as kube-apiserver's
// DeleteCollection: the objects the list options select are listed a
// page at a time (one page only when the request sets a limit) and
// deleted by DeleteCollectionWorkers workers, each with its own copy of
// the options; an object already gone is no error, any other error ends
// the request with it. The answer lists the objects as they were listed.
func (h *Resources) deleteCollection(w http.ResponseWriter, r *http.Request, s *scope) {
	var listOpts metav1.ListOptions
	if err := decodeOptions(r, &listOpts); err != nil {
		WriteError(w, r, err)
		return
	}
	opts, dry, err := deleteOptions(r)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	if err := refuseUnsafeCollection(opts); err != nil {
		WriteError(w, r, err)
		return
	}
	warnOrphaning(r, s, opts)
	base := h.admit(w, r, s, opts, dry)
	list := func(o *metav1.ListOptions) (runtime.Object, error) {
		return s.store.List(r.Context(), s.namespace(), o)
	}
	answer, err := deleteListed(r.Context(), list, &listOpts, h.DeleteCollectionWorkers, func(item runtime.Object) error {
		m, err := meta.Accessor(item)
		if err != nil {
			return err
		}
		adm := *base
		o := opts.DeepCopy()
		adm.Options, adm.Namespace, adm.Name = o, m.GetNamespace(), m.GetName()
		_, _, err = s.store.Delete(r.Context(), m.GetNamespace(), m.GetName(), o, &adm, dry)
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	})
	if err != nil {
		WriteError(w, r, err)
		return
	}
	obj, err := transform(r, s, answer, true)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	WriteObject(w, r, http.StatusOK, s.out, obj)
}

// deleteListed lists what opts select with list, a page at a time (the
// one page a limit asks for, else pages of deleteCollectionPageSize), and
// hands each item to del on workers workers while the next page is
// listed. It returns the first page's list holding every item listed,
// or the first error of the list or of a deletion; after an error it
// lists no further.
func deleteListed(ctx context.Context, list func(*metav1.ListOptions) (runtime.Object, error), opts *metav1.ListOptions, workers int, del func(runtime.Object) error) (runtime.Object, error) {
	workers = max(workers, 1)
	todo := make(chan runtime.Object, max(2*workers, 256))
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	failed := make(chan struct{})
	for range workers {
		wg.Go(func() {
			for item := range todo {
				if err := del(item); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
						close(failed)
					}
					mu.Unlock()
					return
				}
			}
		})
	}
	out, err := listPages(ctx, list, opts, todo, failed)
	close(todo)
	wg.Wait()
	if err != nil {
		return nil, err
	}
	if firstErr != nil {
		return nil, firstErr
	}
	return out, nil
}

// listPages lists into todo until the list ends or failed is closed.
func listPages(ctx context.Context, list func(*metav1.ListOptions) (runtime.Object, error), opts *metav1.ListOptions, todo chan<- runtime.Object, failed <-chan struct{}) (runtime.Object, error) {
	paged := opts.Limit > 0
	if !paged {
		opts.Limit = deleteCollectionPageSize
	}
	var first runtime.Object
	var items []runtime.Object
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		l, err := list(opts)
		if err != nil {
			return nil, err
		}
		page, err := meta.ExtractList(l)
		if err != nil {
			return nil, apierrors.NewInternalError(err)
		}
		for _, it := range page {
			select {
			case todo <- it:
			case <-failed:
				return nil, nil
			}
		}
		if paged {
			return l, nil
		}
		items = append(items, page...)
		if first == nil {
			first = l
		}
		m, err := meta.ListAccessor(l)
		if err != nil {
			return nil, apierrors.NewInternalError(err)
		}
		if m.GetContinue() == "" {
			if err := meta.SetList(first, items); err != nil {
				return nil, apierrors.NewInternalError(err)
			}
			return first, nil
		}
		opts.Continue, opts.ResourceVersion, opts.ResourceVersionMatch = m.GetContinue(), "", ""
	}
}
