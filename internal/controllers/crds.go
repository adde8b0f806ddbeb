package controllers

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/util/retry"
	"k8s.io/klog/v2"

	"kapi/internal/registry"
	"kapi/internal/registry/apiextensions"
	"kapi/internal/storage"
)

// CRDs serves custom resources. It follows the CustomResourceDefinitions
// and, for each, does what kube-apiserver's CRD controllers do (naming,
// establishing, non-structural schema, API approval, discovery,
// finalizer):
//
//   - it accepts the CRD's names unless another CRD of the group or a
//     built-in resource holds them, and writes the status conditions;
//   - once the names are accepted it publishes the rows of the served
//     versions in the catalogue (before it writes Established, so that a
//     client that sees Established is served), and publishes them again
//     when the CRD changes; a change of the spec gets a new storage (the
//     stored objects are decoded with the storage version's schema);
//   - when the CRD is deleted it refuses new custom resources, deletes the
//     existing ones, waits until they are gone, and then removes the
//     cleanup finalizer, so that the CRD goes and its rows with it.
//
// Every replica runs it: each serves what etcd holds. Their status
// writes are idempotent, and conflicts resolve on the next event. As
// kube-apiserver's apiextensions controllers, it writes the CRDs' status
// and finalizers through the front door (Client, the loopback client as
// system:apiserver); the custom resources of a CRD being deleted are
// deleted in storage, as kube's CRD finalizer deletes them.
type CRDs struct {
	// CRDs is the customresourcedefinitions store.
	CRDs *registry.Store
	// Client writes the CRDs.
	Client apiextensionsclient.Interface
	// Catalogue is where the rows are published.
	Catalogue *registry.Catalogue
	// Storage makes the storage of a custom resource below key, of the
	// stored kind gvk; decoded finishes each object read. stop ends it.
	Storage func(key string, gvk schema.GroupVersionKind, newObj func() runtime.Object, decoded func(runtime.Object) error) (st storage.Interface, stop func())
	// Resolve finds the endpoints of conversion webhooks' Services.
	Resolve apiextensions.ServiceResolver
	// Resync is how often CRDs being deleted are looked at again.
	Resync time.Duration

	mu         sync.Mutex
	retired    map[*served]func()                                   // stops of replaced storages, not yet run
	crds       map[string]*apiextensionsv1.CustomResourceDefinition // as last seen, by name
	served     map[string]*served                                   // by name
	cleaning   map[string]bool                                      // CRDs whose custom resources are being deleted
	structural map[string]structuralCheck                           // by name
	synced     chan struct{}
	once       sync.Once
}

// served is what a CRD serves now.
type served struct {
	// What the rows were made from: the CRD's spec (by its generation),
	// accepted names, and whether it is going.
	uid         types.UID
	generation  int64
	names       apiextensionsv1.CustomResourceDefinitionNames
	terminating bool

	serving *apiextensions.Serving
	storage storage.Interface
	stores  []*registry.Store
	stop    func()
}

// NewCRDs returns the controller; Run runs it.
func NewCRDs(crds *registry.Store, client apiextensionsclient.Interface, cat *registry.Catalogue, st func(string, schema.GroupVersionKind, func() runtime.Object, func(runtime.Object) error) (storage.Interface, func()), resolve apiextensions.ServiceResolver) *CRDs {
	return &CRDs{CRDs: crds, Client: client, Catalogue: cat, Storage: st, Resolve: resolve, Resync: time.Second,
		crds: map[string]*apiextensionsv1.CustomResourceDefinition{}, served: map[string]*served{}, retired: map[*served]func(){},
		cleaning: map[string]bool{}, structural: map[string]structuralCheck{}, synced: make(chan struct{})}
}

// Synced is closed once the CRDs that existed at start are served.
func (c *CRDs) Synced() <-chan struct{} { return c.synced }

// Run works until ctx ends, then stops what it serves.
func (c *CRDs) Run(ctx context.Context) {
	defer c.stopAll()
	for ctx.Err() == nil {
		if err := c.listAndWatch(ctx); err != nil && ctx.Err() == nil {
			klog.ErrorS(err, "CRD controller: listing again")
			sleep(ctx, c.Resync)
		}
	}
}

// listAndWatch reads the CRDs as the watch cache shares them: the
// controller never changes what it reads (Status works on a copy).
func (c *CRDs) listAndWatch(ctx context.Context) error {
	list, err := c.CRDs.ListShared(ctx, "", &metav1.ListOptions{})
	if err != nil {
		return err
	}
	var items []*apiextensionsv1.CustomResourceDefinition
	for _, it := range list.Items {
		items = append(items, storage.Unwrap(it).(*apiextensionsv1.CustomResourceDefinition))
	}
	seen := map[string]bool{}
	c.mu.Lock()
	for _, crd := range items {
		c.crds[crd.Name] = crd
		seen[crd.Name] = true
	}
	var gone []string
	for name := range c.crds {
		if !seen[name] {
			gone = append(gone, name)
		}
	}
	c.mu.Unlock()
	for _, name := range gone {
		c.remove(name)
	}
	for _, crd := range items {
		c.sync(ctx, crd)
	}
	c.once.Do(func() { close(c.synced) })

	rv, err := meta.NewAccessor().ResourceVersion(list.List)
	if err != nil {
		return err
	}
	w, err := c.CRDs.WatchShared(ctx, "", &metav1.ListOptions{ResourceVersion: rv, AllowWatchBookmarks: true})
	if err != nil {
		return err
	}
	defer w.Stop()
	tick := time.NewTicker(c.Resync)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			c.resync(ctx)
		case ev, ok := <-w.ResultChan():
			if !ok {
				return nil
			}
			switch ev.Type {
			case watch.Added, watch.Modified:
				crd := storage.Unwrap(ev.Object).(*apiextensionsv1.CustomResourceDefinition)
				c.mu.Lock()
				c.crds[crd.Name] = crd
				c.mu.Unlock()
				c.sync(ctx, crd)
			case watch.Deleted:
				crd := storage.Unwrap(ev.Object).(*apiextensionsv1.CustomResourceDefinition)
				c.mu.Lock()
				delete(c.crds, crd.Name)
				delete(c.structural, crd.Name)
				c.mu.Unlock()
				c.remove(crd.Name)
				c.resync(ctx) // names it held may now be free
			case watch.Error:
				return errors.New("the CRD watch ended")
			}
		}
	}
}

// resync looks again at every CRD whose status or cleanup is not done.
func (c *CRDs) resync(ctx context.Context) {
	c.mu.Lock()
	var todo []*apiextensionsv1.CustomResourceDefinition
	for _, crd := range c.crds {
		if crd.DeletionTimestamp != nil || !apiextensions.IsTrue(crd, apiextensionsv1.NamesAccepted) {
			todo = append(todo, crd)
		}
	}
	c.mu.Unlock()
	for _, crd := range todo {
		c.sync(ctx, crd)
	}
}

// sync brings what crd serves and its status where they should be.
func (c *CRDs) sync(ctx context.Context, crd *apiextensionsv1.CustomResourceDefinition) {
	want := apiextensions.Status(crd, apiextensions.TakenNames(crd.Spec.Group, crd.Name, c.others(), c.builtin()), c.nonStructural(crd))
	if apiextensions.Served(want) {
		if err := c.serve(want); err != nil {
			klog.ErrorS(err, "CRD controller: serving", "crd", crd.Name)
			return
		}
	} else {
		c.remove(crd.Name)
	}
	if !equality.Semantic.DeepEqual(want.Status, crd.Status) {
		if err := c.writeStatus(ctx, crd.Name, func(cur *apiextensionsv1.CustomResourceDefinition) {
			cur.Status = apiextensions.Status(cur, apiextensions.TakenNames(cur.Spec.Group, cur.Name, c.others(), c.builtin()), c.nonStructural(cur)).Status
		}); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			klog.ErrorS(err, "CRD controller: writing the status", "crd", crd.Name)
		}
	}
	if crd.DeletionTimestamp != nil && slices.Contains(crd.Finalizers, apiextensions.CleanupFinalizer) {
		c.startCleanup(ctx, crd.Name)
	}
}

// nonStructural is crd's NonStructuralSchema condition, computed once per
// generation of its spec (it converts and checks every schema).
func (c *CRDs) nonStructural(crd *apiextensionsv1.CustomResourceDefinition) *apiextensionsv1.CustomResourceDefinitionCondition {
	c.mu.Lock()
	e, ok := c.structural[crd.Name]
	c.mu.Unlock()
	if ok && e.uid == crd.UID && e.generation == crd.Generation {
		return e.cond
	}
	cond := apiextensions.NonStructural(crd)
	c.mu.Lock()
	c.structural[crd.Name] = structuralCheck{uid: crd.UID, generation: crd.Generation, cond: cond}
	c.mu.Unlock()
	return cond
}

// structuralCheck is a CRD's NonStructuralSchema condition, for the
// generation it was computed for.
type structuralCheck struct {
	uid        types.UID
	generation int64
	cond       *apiextensionsv1.CustomResourceDefinitionCondition
}

// others are the CRDs as last seen.
func (c *CRDs) others() []*apiextensionsv1.CustomResourceDefinition {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*apiextensionsv1.CustomResourceDefinition, 0, len(c.crds))
	for _, crd := range c.crds {
		out = append(out, crd)
	}
	return out
}

// builtin are the built-in rows, whose names no CRD may take.
func (c *CRDs) builtin() []*registry.Resource {
	var out []*registry.Resource
	for _, st := range c.Catalogue.Snapshot().Owner(registry.BuiltinOwner) {
		out = append(out, st.R)
	}
	return out
}

// serve publishes the rows of crd (with the status it is about to have),
// on the storage it has unless its spec changed.
func (c *CRDs) serve(crd *apiextensionsv1.CustomResourceDefinition) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	cur := c.served[crd.Name]
	terminating := crd.DeletionTimestamp != nil || apiextensions.IsTrue(crd, apiextensionsv1.Terminating)
	same := cur != nil && cur.uid == crd.UID && cur.generation == crd.Generation
	if same && cur.terminating == terminating && equality.Semantic.DeepEqual(cur.names, crd.Status.AcceptedNames) {
		return nil
	}
	sv, err := apiextensions.NewServing(crd, c.Resolve)
	if err != nil {
		return err
	}
	next := &served{uid: crd.UID, generation: crd.Generation, names: crd.Status.AcceptedNames, terminating: terminating, serving: sv}
	if same && cur.serving.Key() == sv.Key() {
		next.storage, next.stop = cur.storage, cur.stop
	} else {
		next.storage, next.stop = c.Storage(sv.Key(), sv.StorageGVK(), sv.NewStored, sv.FromStorage)
	}
	// fail stops a storage made for next, which nothing serves.
	fail := func(err error) error {
		if cur == nil || next.storage != cur.storage {
			next.stop()
		}
		return err
	}
	stores, err := sv.Stores(next.storage, terminating)
	if err != nil {
		return fail(err)
	}
	if err := c.Catalogue.Set(apiextensions.Owner(crd.Name), stores); err != nil {
		return fail(err)
	}
	next.stores = stores
	c.served[crd.Name] = next
	if cur != nil && cur.storage != next.storage {
		c.stopLater(cur)
	}
	return nil
}

// remove stops serving a CRD.
func (c *CRDs) remove(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cur := c.served[name]
	if cur == nil {
		return
	}
	delete(c.served, name)
	if err := c.Catalogue.Set(apiextensions.Owner(name), nil); err != nil {
		klog.ErrorS(err, "CRD controller: removing the rows", "crd", name)
	}
	cur.stop()
}

// stopLater stops the storage of s, replaced by another, once the
// requests that hold it are done (or when the controller stops). Called
// with mu held.
func (c *CRDs) stopLater(s *served) {
	stop := sync.OnceFunc(s.stop)
	c.retired[s] = stop
	time.AfterFunc(10*time.Second, func() {
		c.mu.Lock()
		delete(c.retired, s)
		c.mu.Unlock()
		stop()
	})
}

func (c *CRDs) stopAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for name, s := range c.served {
		c.Catalogue.Set(apiextensions.Owner(name), nil)
		s.stop()
	}
	for _, stop := range c.retired {
		stop()
	}
	c.served, c.retired = map[string]*served{}, map[*served]func(){}
}

// writeStatus changes the stored CRD's status with change.
func (c *CRDs) writeStatus(ctx context.Context, name string, change func(*apiextensionsv1.CustomResourceDefinition)) error {
	return c.update(ctx, name, true, change)
}

// update changes the CRD name (its status subresource when status) with
// change: read, changed and written again until no other writer came in
// between; an unchanged CRD is not written.
func (c *CRDs) update(ctx context.Context, name string, status bool, change func(*apiextensionsv1.CustomResourceDefinition)) error {
	crds := c.Client.ApiextensionsV1().CustomResourceDefinitions()
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := crds.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		next := cur.DeepCopy()
		change(next)
		if equality.Semantic.DeepEqual(next, cur) {
			return nil
		}
		if status {
			_, err = crds.UpdateStatus(ctx, next, metav1.UpdateOptions{})
		} else {
			_, err = crds.Update(ctx, next, metav1.UpdateOptions{})
		}
		return err
	})
}

// startCleanup deletes the custom resources of a CRD being deleted, in
// the background, once per CRD at a time.
func (c *CRDs) startCleanup(ctx context.Context, name string) {
	c.mu.Lock()
	if c.cleaning[name] {
		c.mu.Unlock()
		return
	}
	c.cleaning[name] = true
	c.mu.Unlock()
	go func() {
		defer func() {
			c.mu.Lock()
			delete(c.cleaning, name)
			c.mu.Unlock()
		}()
		if err := c.cleanup(ctx, name); err != nil && ctx.Err() == nil {
			klog.ErrorS(err, "CRD controller: deleting the custom resources", "crd", name)
		}
	}()
}

// cleanup is kube-apiserver's CRD finalizer: Terminating with
// InstanceDeletionInProgress, every custom resource deleted (their own
// finalizers honoured), then, none left, InstanceDeletionCompleted and
// the cleanup finalizer removed.
func (c *CRDs) cleanup(ctx context.Context, name string) error {
	err := c.writeStatus(ctx, name, func(crd *apiextensionsv1.CustomResourceDefinition) {
		apiextensions.SetCondition(crd, apiextensionsv1.CustomResourceDefinitionCondition{Type: apiextensionsv1.Terminating,
			Status: apiextensionsv1.ConditionTrue, Reason: "InstanceDeletionInProgress", Message: "CustomResource deletion is in progress"})
	})
	if err != nil {
		return unlessGone(err)
	}
	st, done, err := c.storageStore(name)
	if err != nil {
		return err
	}
	defer done()
	// Delete what is there; then, none left, list once more: a create
	// that passed before the rows refused them may have landed since.
	for pass := 0; pass < 2; pass++ {
		_, remaining, err := deleteAll(ctx, st, "")
		if err != nil {
			return err
		}
		if remaining > 0 {
			return nil // their finalizers first; the resync comes back
		}
	}
	if err := c.writeStatus(ctx, name, func(crd *apiextensionsv1.CustomResourceDefinition) {
		apiextensions.SetCondition(crd, apiextensionsv1.CustomResourceDefinitionCondition{Type: apiextensionsv1.Terminating,
			Status: apiextensionsv1.ConditionTrue, Reason: "InstanceDeletionCompleted", Message: "removed all instances"})
	}); err != nil {
		return unlessGone(err)
	}
	return unlessGone(c.update(ctx, name, false, func(crd *apiextensionsv1.CustomResourceDefinition) {
		crd.Finalizers = slices.DeleteFunc(crd.Finalizers, func(f string) bool { return f == apiextensions.CleanupFinalizer })
	}))
}

// unlessGone is err, unless it says the CRD is gone (another replica
// finished): nothing to do then.
func unlessGone(err error) error {
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// storageStore is a store of the storage version of the CRD name: on the
// storage it is served from, or, when none of its versions is served, on
// a storage made for the cleanup (done stops it).
func (c *CRDs) storageStore(name string) (st *registry.Store, done func(), err error) {
	c.mu.Lock()
	cur, crd := c.served[name], c.crds[name]
	c.mu.Unlock()
	if cur != nil {
		st, err := cur.serving.StorageStore(cur.storage)
		return st, func() {}, err
	}
	if crd == nil {
		return nil, nil, apierrors.NewNotFound(c.CRDs.GroupResource(), name)
	}
	sv, err := apiextensions.NewServing(crd.DeepCopy(), c.Resolve)
	if err != nil {
		return nil, nil, err
	}
	storage, stop := c.Storage(sv.Key(), sv.StorageGVK(), sv.NewStored, sv.FromStorage)
	st, err = sv.StorageStore(storage)
	if err != nil {
		stop()
		return nil, nil, err
	}
	return st, stop, nil
}

// deleteAll deletes every object of st in namespace ns (every namespace
// for "") that is not being deleted already. It reports how many it
// listed, and how many of those remain (being deleted, waiting for their
// finalizers).
func deleteAll(ctx context.Context, st *registry.Store, ns string) (listed, remaining int, err error) {
	list, err := st.List(ctx, ns, &metav1.ListOptions{})
	if err != nil {
		return 0, 0, err
	}
	items, err := meta.ExtractList(list)
	if err != nil {
		return 0, 0, err
	}
	for _, it := range items {
		m, err := meta.Accessor(it)
		if err != nil {
			continue
		}
		listed++
		if m.GetDeletionTimestamp() != nil {
			remaining++ // waiting for its own finalizers
			continue
		}
		_, deleted, err := st.Delete(ctx, m.GetNamespace(), m.GetName(), &metav1.DeleteOptions{}, nil, false)
		if err != nil && !apierrors.IsNotFound(err) {
			return 0, 0, err
		}
		if !deleted && err == nil {
			remaining++
		}
	}
	return listed, remaining, nil
}
