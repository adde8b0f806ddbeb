package server

import (
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"kapi/internal/registry"
)

// fieldManagers hands out the managed-fields machinery of k8s.io/apimachinery
// (structured-merge-diff, the domain's standard algorithm for server-side
// apply and managedFields), one FieldManager per row and subresource,
// made on first use from the row's Type: its type converter (the
// generated schemas for built-in kinds, the CRD's schema for a custom
// resource) and its conversions. A row that leaves the catalogue takes
// its managers with it.
type fieldManagers struct {
	cat *registry.Catalogue

	mu       sync.Mutex
	gen      uint64 // the snapshot the managers were last pruned for
	managers map[managerKey]*managedfields.FieldManager
}

type managerKey struct {
	r   *registry.Resource
	sub string
}

func newFieldManagers(cat *registry.Catalogue) *fieldManagers {
	return &fieldManagers{cat: cat, managers: map[managerKey]*managedfields.FieldManager{}}
}

// For returns the FieldManager of r, or of its subresource sub.
func (f *fieldManagers) For(r *registry.Resource, sub *registry.Subresource) (*managedfields.FieldManager, error) {
	key := managerKey{r: r}
	if sub != nil {
		key.sub = sub.Name
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.prune()
	if m := f.managers[key]; m != nil {
		return m, nil
	}
	tc, err := r.Type.Schema.TypeConverter()
	if err != nil {
		return nil, err
	}
	gvk := r.GVK()
	m, err := managedfields.NewDefaultFieldManager(tc, r.Type.Convertor, noDefaults{}, creater{r},
		gvk, gvk.GroupVersion(), key.sub, resetFields(r, sub))
	if err != nil {
		return nil, err
	}
	f.managers[key] = m
	return m, nil
}

// prune drops the managers of rows the catalogue no longer has.
func (f *fieldManagers) prune() {
	snap := f.cat.Snapshot()
	if snap.Gen == f.gen {
		return
	}
	f.gen = snap.Gen
	for k := range f.managers {
		if st := snap.Store(k.r.GVR()); st == nil || st.R != k.r {
			delete(f.managers, k)
		}
	}
}

// resetFields are the fields a write cannot own because the store resets
// them: the status on the main resource; on the status subresource what
// its Write resets (the spec, more for some kinds), as kube-apiserver's
// strategies declare.
func resetFields(r *registry.Resource, sub *registry.Subresource) map[fieldpath.APIVersion]fieldpath.Filter {
	if !r.HasStatus() || (sub != nil && sub.Name != "status") {
		return nil
	}
	var paths []string
	if sub == nil {
		paths = []string{"status"}
	} else {
		paths = append(append(paths, r.Type.Status.WriteResets()...), sub.Resets...)
	}
	set := fieldpath.NewSet()
	for _, p := range paths {
		var parts []interface{}
		for _, part := range strings.Split(p, ".") {
			parts = append(parts, part)
		}
		set.Insert(fieldpath.MakePathOrDie(parts...))
	}
	v := fieldpath.APIVersion(r.GVK().GroupVersion().String())
	return map[fieldpath.APIVersion]fieldpath.Filter{v: fieldpath.NewExcludeSetFilter(set)}
}

// noDefaults is the managed-fields defaulter: kapi's defaulting is the
// rows' hooks, which run on the write itself.
type noDefaults struct{}

func (noDefaults) Default(runtime.Object) {}

// creater makes empty objects of the row's kind from its Type, and of
// other kinds from the Scheme.
type creater struct{ r *registry.Resource }

func (c creater) New(gvk schema.GroupVersionKind) (runtime.Object, error) {
	if gvk == c.r.GVK() {
		return c.r.Type.New(), nil
	}
	return registry.Scheme.New(gvk)
}
