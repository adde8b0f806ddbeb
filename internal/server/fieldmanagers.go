package server

import (
	"fmt"
	"sync"

	"k8s.io/apimachinery/pkg/util/managedfields"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"kapi/internal/registry"
	"kapi/internal/router/openapi"
)

// fieldManagers builds, on first use, the managed-fields machinery of
// k8s.io/apimachinery (structured-merge-diff, the domain's standard
// algorithm for server-side apply and managedFields) from the generated
// OpenAPI schemas, one FieldManager per resource and subresource. Built
// lazily: the type converter parses every schema, which start-up should
// not wait for.
type fieldManagers struct {
	once     sync.Once
	tc       managedfields.TypeConverter
	tcErr    error
	conv     *registry.Convertor
	mu       sync.Mutex
	managers map[string]*managedfields.FieldManager
}

func newFieldManagers(rows []*registry.Resource) *fieldManagers {
	return &fieldManagers{conv: registry.NewConvertor(rows), managers: map[string]*managedfields.FieldManager{}}
}

// For returns the FieldManager of r's subresource sub ("" or "status").
func (f *fieldManagers) For(r *registry.Resource, sub string) (*managedfields.FieldManager, error) {
	f.once.Do(func() {
		f.tc, f.tcErr = managedfields.NewTypeConverter(openapi.Schemas(), false)
	})
	if f.tcErr != nil {
		return nil, fmt.Errorf("building the managed-fields type converter: %w", f.tcErr)
	}
	key := r.GVR().String() + "/" + sub
	f.mu.Lock()
	defer f.mu.Unlock()
	if m := f.managers[key]; m != nil {
		return m, nil
	}
	gvk := r.GVK()
	m, err := managedfields.NewDefaultFieldManager(f.tc, f.conv, registry.Scheme, registry.Scheme,
		gvk, gvk.GroupVersion(), sub, resetFields(r, sub))
	if err != nil {
		return nil, err
	}
	f.managers[key] = m
	return m, nil
}

// resetFields are the fields a write cannot own because the store resets
// them: the status on the main resource, the spec on the status
// subresource (as kube-apiserver's strategies declare).
func resetFields(r *registry.Resource, sub string) map[fieldpath.APIVersion]fieldpath.Filter {
	if !r.HasSubresource("status") {
		return nil
	}
	v := fieldpath.APIVersion(r.GVK().GroupVersion().String())
	switch sub {
	case "":
		return map[fieldpath.APIVersion]fieldpath.Filter{v: fieldpath.NewExcludeSetFilter(fieldpath.NewSet(fieldpath.MakePathOrDie("status")))}
	case "status":
		return map[fieldpath.APIVersion]fieldpath.Filter{v: fieldpath.NewExcludeSetFilter(fieldpath.NewSet(fieldpath.MakePathOrDie("spec")))}
	}
	return nil
}
