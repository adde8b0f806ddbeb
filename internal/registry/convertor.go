package registry

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Convertor is Scheme's ObjectConvertor that also knows the rows' own
// conversions: a kind served in one group-version and stored in another
// (autoscaling/v1 and v2 HorizontalPodAutoscalers, core/v1 and
// events.k8s.io/v1 Events). The managed-fields machinery needs it: it
// converts an object to the version each managedFields entry was written
// in, and drops an entry whose version it cannot reach.
type Convertor struct {
	pairs map[convKey]func(runtime.Object) (runtime.Object, error)
}

type convKey struct {
	from schema.GroupVersionKind
	to   schema.GroupVersion
}

// NewConvertor learns the conversions of rows: each served kind to its
// storage kind and back, and between two served kinds through the one
// they are stored as.
func NewConvertor(rows []*Resource) *Convertor {
	c := &Convertor{pairs: map[convKey]func(runtime.Object) (runtime.Object, error){}}
	stored := map[schema.GroupVersionKind][]*Resource{}
	for _, r := range rows {
		if r.Convert == nil {
			continue
		}
		s := r.StorageGVK()
		c.pairs[convKey{r.GVK(), s.GroupVersion()}] = r.Convert.ToStorage
		c.pairs[convKey{s, r.GVK().GroupVersion()}] = r.Convert.FromStorage
		stored[s] = append(stored[s], r)
	}
	for _, rs := range stored {
		for _, a := range rs {
			for _, b := range rs {
				if a == b {
					continue
				}
				to, from := a.Convert.ToStorage, b.Convert.FromStorage
				c.pairs[convKey{a.GVK(), b.GVK().GroupVersion()}] = func(obj runtime.Object) (runtime.Object, error) {
					s, err := to(obj)
					if err != nil {
						return nil, err
					}
					return from(s)
				}
			}
		}
	}
	return c
}

// ConvertToVersion converts in to target with the rows' conversions where
// one applies, and with Scheme otherwise. in is not changed.
func (c *Convertor) ConvertToVersion(in runtime.Object, target runtime.GroupVersioner) (runtime.Object, error) {
	gv, ok := target.(schema.GroupVersion)
	if !ok {
		return Scheme.ConvertToVersion(in, target)
	}
	from := in.GetObjectKind().GroupVersionKind()
	if _, unstructured := in.(runtime.Unstructured); !unstructured {
		kinds, _, err := Scheme.ObjectKinds(in)
		if err != nil {
			return nil, err
		}
		from = kinds[0]
	}
	fn := c.pairs[convKey{from, gv}]
	if fn == nil {
		return Scheme.ConvertToVersion(in, target)
	}
	// A typed copy in in's own version: the conversions take typed
	// objects, and some share in's maps and slices.
	typed, err := Scheme.ConvertToVersion(in, from.GroupVersion())
	if err != nil {
		return nil, err
	}
	out, err := fn(typed)
	if err != nil {
		return nil, fmt.Errorf("converting %s to %s: %w", from, gv, err)
	}
	out.GetObjectKind().SetGroupVersionKind(gv.WithKind(from.Kind))
	return out, nil
}

// Convert is Scheme's.
func (c *Convertor) Convert(in, out, context interface{}) error {
	return Scheme.Convert(in, out, context)
}

// ConvertFieldLabel is Scheme's.
func (c *Convertor) ConvertFieldLabel(gvk schema.GroupVersionKind, label, value string) (string, string, error) {
	return Scheme.ConvertFieldLabel(gvk, label, value)
}
