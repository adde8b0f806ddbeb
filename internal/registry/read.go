package registry

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apimachinery/pkg/watch"

	"kapi/internal/features"
	"kapi/internal/storage"
)

// Get reads ns/name, at the newest revision unless opts.ResourceVersion
// says otherwise ("0": any; N: not older than N).
func (st *Store) Get(ctx context.Context, ns, name string, opts *metav1.GetOptions) (runtime.Object, error) {
	return st.get(ctx, ns, name, opts, false)
}

// GetShared is Get for a reader that changes nothing (a handler writing the
// answer): the object may be the watch cache's own, a *storage.Cached,
// encoded once for every reader.
func (st *Store) GetShared(ctx context.Context, ns, name string, opts *metav1.GetOptions) (runtime.Object, error) {
	return st.get(ctx, ns, name, opts, true)
}

func (st *Store) get(ctx context.Context, ns, name string, opts *metav1.GetOptions, shared bool) (runtime.Object, error) {
	ro := storage.ReadOptions{Shared: shared}
	if opts != nil && opts.ResourceVersion != "" {
		rv, err := parseRV(opts.ResourceVersion)
		if err != nil {
			return nil, err
		}
		ro.ResourceVersion = rv
		ro.AnyVersion = opts.ResourceVersion == "0"
	}
	sctx, cancel := storageContext(ctx)
	defer cancel()
	obj, err := st.Storage.Get(sctx, st.key(ns, name), ro)
	if err != nil {
		return nil, st.callError(sctx, err, name, false)
	}
	return st.toServed(obj)
}

// List reads the objects in ns (all namespaces when ns is "") that match
// the options' selectors, one page at a time when opts.Limit is set.
func (st *Store) List(ctx context.Context, ns string, opts *metav1.ListOptions) (runtime.Object, error) {
	l, err := st.list(ctx, ns, opts, false)
	if err != nil {
		return nil, err
	}
	return l.Typed()
}

// SharedList is a list whose items may be the watch cache's own objects
// (*storage.Cached), shared by every reader and not to be changed: List
// is the typed list with its metadata and no items, Items the items.
type SharedList struct {
	List  runtime.Object
	Items []runtime.Object
	// ItemKinds: items are answered with their apiVersion and kind
	// (custom resources), not without (built-in kinds), as
	// kube-apiserver answers them.
	ItemKinds bool
}

// Typed returns the typed list with copies of the items, to change at
// will (Table rows, metadata only, ...).
func (l *SharedList) Typed() (runtime.Object, error) {
	items := make([]runtime.Object, len(l.Items))
	for i, it := range l.Items {
		if c, ok := it.(*storage.Cached); ok {
			it = c.DeepCopyObject()
		}
		items[i] = it
	}
	if err := meta.SetList(l.List, items); err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	return l.List, nil
}

// ListShared is List for a reader that changes nothing (a handler writing
// the answer): the items may be the watch cache's own, encoded once for
// every reader.
func (st *Store) ListShared(ctx context.Context, ns string, opts *metav1.ListOptions) (*SharedList, error) {
	return st.list(ctx, ns, opts, true)
}

func (st *Store) list(ctx context.Context, ns string, opts *metav1.ListOptions, shared bool) (*SharedList, error) {
	lo, err := st.listOptions(ctx, opts, false)
	if err != nil {
		return nil, err
	}
	lo.Shared = shared
	return st.listWith(ctx, ns, lo)
}

// listWith reads the list lo asks for: the items served (converted from
// the stored version where they differ), the metadata of the page.
func (st *Store) listWith(ctx context.Context, ns string, lo storage.ListOptions) (*SharedList, error) {
	sctx, cancel := storageContext(ctx)
	defer cancel()
	res, err := st.Storage.List(sctx, st.prefix(ns), lo)
	if err != nil {
		return nil, st.callError(sctx, err, "", false)
	}
	items := slices.Clone(res.Items)
	if err := st.toServedAll(items); err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	list := st.NewList()
	la, err := meta.ListAccessor(list)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	la.SetResourceVersion(strconv.FormatInt(res.ResourceVersion, 10))
	la.SetContinue(res.Continue)
	la.SetRemainingItemCount(res.RemainingItemCount)
	return &SharedList{List: list, Items: items, ItemKinds: st.R.Type.KindInListItems}, nil
}

// Watch streams the changes in ns that match the options' selectors.
func (st *Store) Watch(ctx context.Context, ns string, opts *metav1.ListOptions) (watch.Interface, error) {
	return st.watch(ctx, ns, opts, false)
}

// WatchShared is Watch for a reader that changes nothing (a handler
// writing the events): the events' objects may be the watch cache's own,
// encoded once for every watcher.
func (st *Store) WatchShared(ctx context.Context, ns string, opts *metav1.ListOptions) (watch.Interface, error) {
	return st.watch(ctx, ns, opts, true)
}

func (st *Store) watch(ctx context.Context, ns string, opts *metav1.ListOptions, shared bool) (watch.Interface, error) {
	lo, err := st.listOptions(ctx, opts, true)
	if err != nil {
		return nil, err
	}
	// The objects are made what the client is served in the watch's own
	// goroutine, with no goroutine between it and the handler.
	wo := storage.WatchOptions{ResourceVersion: lo.ResourceVersion, Predicate: lo.Predicate, Bookmarks: opts.AllowWatchBookmarks, Shared: shared,
		Transform: st.toServed}
	switch {
	case opts.SendInitialEvents != nil:
		// The WatchList protocol: the state (not older than
		// resourceVersion), a bookmark ending it, then changes.
		wo.SendInitialEvents = *opts.SendInitialEvents
		wo.InitialEventsEnd = *opts.SendInitialEvents
	case opts.ResourceVersion == "" || opts.ResourceVersion == "0":
		// Legacy: "get state and start at most recent".
		wo.SendInitialEvents = true
	}
	w, err := st.Storage.Watch(ctx, st.prefix(ns), wo)
	if err != nil {
		return nil, st.storageError(err, "")
	}
	return w, nil
}

// listOptions validates the list options as kube-apiserver does and turns
// them into storage options.
func (st *Store) listOptions(ctx context.Context, opts *metav1.ListOptions, isWatch bool) (storage.ListOptions, error) {
	var lo storage.ListOptions
	if opts == nil {
		opts = &metav1.ListOptions{}
	}
	watchList := features.Enabled(features.FromContext(ctx), features.WatchList)
	if errs := validateListOptions(opts, isWatch, watchList); len(errs) > 0 {
		return lo, apierrors.NewInvalid(metav1.SchemeGroupVersion.WithKind("ListOptions").GroupKind(), "", errs)
	}
	if opts.ResourceVersion != "" {
		rv, err := parseRV(opts.ResourceVersion)
		if err != nil {
			return lo, err
		}
		lo.ResourceVersion = rv
		lo.AnyVersion = opts.ResourceVersion == "0"
		// An exact read: asked for, or the legacy meaning of a resourceVersion
		// with a limit and no match.
		lo.Exact = rv > 0 && (opts.ResourceVersionMatch == metav1.ResourceVersionMatchExact ||
			(opts.ResourceVersionMatch == "" && opts.Limit > 0 && !isWatch))
	}
	lo.Limit = opts.Limit
	lo.Continue = opts.Continue
	pred, err := st.predicate(opts.LabelSelector, opts.FieldSelector)
	if err != nil {
		return lo, err
	}
	lo.Predicate = pred
	return lo, nil
}

// validateListOptions is kube's ValidateListOptions; watchList is the
// WatchList gate.
func validateListOptions(opts *metav1.ListOptions, isWatch, watchList bool) field.ErrorList {
	var errs field.ErrorList
	if opts.Continue != "" && opts.ResourceVersion != "" && opts.ResourceVersion != "0" {
		errs = append(errs, field.Forbidden(field.NewPath("resourceVersion"), "specifying resource version is not allowed when using continue"))
	}
	if opts.Continue != "" && opts.ResourceVersionMatch != "" {
		errs = append(errs, field.Forbidden(field.NewPath("resourceVersionMatch"), "resourceVersionMatch is forbidden when continue is provided"))
	}
	switch opts.ResourceVersionMatch {
	case "":
	case metav1.ResourceVersionMatchExact, metav1.ResourceVersionMatchNotOlderThan:
		if isWatch && !(opts.SendInitialEvents != nil && opts.ResourceVersionMatch == metav1.ResourceVersionMatchNotOlderThan) {
			errs = append(errs, field.Forbidden(field.NewPath("resourceVersionMatch"), "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided"))
		}
		if opts.ResourceVersion == "" && !(isWatch && opts.SendInitialEvents != nil) {
			errs = append(errs, field.Forbidden(field.NewPath("resourceVersionMatch"), "resourceVersionMatch is forbidden unless resourceVersion is provided"))
		}
		if opts.ResourceVersionMatch == metav1.ResourceVersionMatchExact && opts.ResourceVersion == "0" {
			errs = append(errs, field.Forbidden(field.NewPath("resourceVersionMatch"), "resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\""))
		}
	default:
		errs = append(errs, field.NotSupported(field.NewPath("resourceVersionMatch"), opts.ResourceVersionMatch,
			[]string{string(metav1.ResourceVersionMatchExact), string(metav1.ResourceVersionMatchNotOlderThan), ""}))
	}
	if opts.SendInitialEvents != nil {
		if !isWatch {
			errs = append(errs, field.Forbidden(field.NewPath("sendInitialEvents"), "sendInitialEvents is forbidden for list"))
		}
		if opts.ResourceVersionMatch != metav1.ResourceVersionMatchNotOlderThan {
			errs = append(errs, field.Forbidden(field.NewPath("resourceVersionMatch"), "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"))
		}
		if isWatch && !watchList {
			errs = append(errs, field.Forbidden(field.NewPath("sendInitialEvents"), "sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled"))
		}
		if !opts.AllowWatchBookmarks {
			errs = append(errs, field.Forbidden(field.NewPath("allowWatchBookmarks"), "sendInitialEvents requires setting allowWatchBookmarks to true"))
		}
	}
	if opts.Limit < 0 {
		errs = append(errs, field.Invalid(field.NewPath("limit"), opts.Limit, "must be greater than or equal to 0"))
	}
	return errs
}

func parseRV(s string) (int64, error) {
	rv, err := strconv.ParseInt(s, 10, 64)
	if err != nil || rv < 0 {
		return 0, apierrors.NewBadRequest(fmt.Sprintf("invalid resource version: %q", s))
	}
	return rv, nil
}

// predicate parses the selectors; a field selector may only name the
// resource's selectable fields.
func (st *Store) predicate(labelSel, fieldSel string) (storage.Predicate, error) {
	var p storage.Predicate
	if labelSel != "" {
		sel, err := labels.Parse(labelSel)
		if err != nil {
			// kube's answer is the parser's words as they are (which
			// start "unable to parse requirement: " when a requirement
			// is what failed).
			return p, apierrors.NewBadRequest(err.Error())
		}
		p.Label = sel
	}
	if fieldSel != "" {
		sel, err := fields.ParseSelector(fieldSel)
		if err != nil {
			return p, apierrors.NewBadRequest(err.Error())
		}
		supported := st.fieldSet(st.New())
		sel, err = sel.Transform(func(label, value string) (string, string, error) {
			if to, ok := st.R.FieldAliases[label]; ok {
				label = to
			}
			switch _, ok := supported[label]; {
			case ok:
				return label, value, nil
			case st.R.Fields != nil:
				return "", "", fmt.Errorf("field label not supported: %s", label)
			case label == "metadata.namespace":
				return label, value, nil
			}
			return "", "", fmt.Errorf("%q is not a known field selector: only %q, %q", label, "metadata.name", "metadata.namespace")
		})
		if err != nil {
			return p, apierrors.NewBadRequest(err.Error())
		}
		p.Field = sel
	}
	p.Attrs = func(obj runtime.Object) (labels.Set, fields.Set, error) {
		m, err := meta.Accessor(obj)
		if err != nil {
			return nil, nil, err
		}
		return labels.Set(m.GetLabels()), st.fieldSet(obj), nil
	}
	return p, nil
}

// fieldSet is the selectable fields of obj: metadata.name, and
// metadata.namespace for namespaced resources, plus the row's own.
func (st *Store) fieldSet(obj runtime.Object) fields.Set {
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil
	}
	set := fields.Set{"metadata.name": m.GetName()}
	if st.R.Namespaced {
		set["metadata.namespace"] = m.GetNamespace()
	}
	if st.R.Fields != nil {
		for k, v := range st.R.Fields(obj) {
			set[k] = v
		}
	}
	return set
}
