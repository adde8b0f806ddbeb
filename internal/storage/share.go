package storage

import (
	"runtime"
	"slices"
	"strconv"
	"sync"
	"unique"
	"unsafe"
	"weak"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kruntime "k8s.io/apimachinery/pkg/runtime"
)

// share makes parts of obj, a typed object the watch cache is about to
// hold, the very values other cached objects hold where they are equal:
// the managed fields of one writer, the labels and owner of one
// ReplicaSet's Pods, the containers' resources, environment and probes of
// one template, the service account token's volume, the tolerations. A
// cluster's objects repeat these; decoded apart, each Pod held a copy
// (the managed fields a sixth of a cached Pod's memory, the resources'
// maps another sixth).
//
// Nothing may change a shared value: no cached object is ever changed, and
// DeepCopy copies every one of them. The returned keepers are kept with
// the object (Cached.shared); while one is reachable, later objects with an
// equal value get the same one.
func share(obj kruntime.Object) []any {
	m, ok := obj.(interface{ GetObjectMeta() metav1.Object })
	if !ok {
		return nil
	}
	om, ok := m.GetObjectMeta().(*metav1.ObjectMeta)
	if !ok { // an Unstructured's metadata is read as a copy
		return nil
	}
	var s sharer
	for i := range om.ManagedFields {
		f := om.ManagedFields[i].FieldsV1
		if f == nil || len(f.Raw) == 0 {
			continue
		}
		// The bytes are a unique.Handle's canonical string seen as bytes.
		h := unique.Make(unsafe.String(&f.Raw[0], len(f.Raw)))
		v := h.Value()
		f.Raw = unsafe.Slice(unsafe.StringData(v), len(v))
		s.keep = append(s.keep, h)
	}
	if len(om.Labels) > 0 {
		om.Labels = shareValue(&s, &labelMaps, stringMapKey(&s.key, om.Labels), om.Labels)
	}
	if len(om.OwnerReferences) > 0 {
		om.OwnerReferences = shareSlice(&s, &ownerRefs, om.OwnerReferences)
	}
	if pod, ok := obj.(*corev1.Pod); ok {
		for _, cs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
			for i := range cs {
				s.container(&cs[i])
			}
		}
		for i := range pod.Spec.Volumes {
			// The service account's token volume (kube-api-access-*).
			sharePointer(&s, &projections, &pod.Spec.Volumes[i].Projected)
		}
		if len(pod.Spec.Tolerations) > 0 {
			pod.Spec.Tolerations = shareSlice(&s, &tolerations, pod.Spec.Tolerations)
		}
	}
	return s.keep
}

// shareSlice shares items as a whole, keyed by their encodings.
func shareSlice[T any, P interface {
	*T
	marshaler
}](s *sharer, t *shareTable[[]T], items []T) []T {
	key, ok := s.key[:0], true
	for i := 0; ok && i < len(items); i++ {
		key, ok = appendMarshal(key, P(&items[i]))
	}
	if !ok {
		return items
	}
	s.key = key
	// Clipped: an append to a shared slice (none is allowed) copies it
	// rather than writing past its end into what others hold.
	return shareValue(s, t, key, slices.Clip(items))
}

// sharePointer shares *p, when set, keyed by its encoding.
func sharePointer[T any, P interface {
	*T
	marshaler
}](s *sharer, t *shareTable[P], p *P) {
	if *p == nil {
		return
	}
	if key, ok := appendMarshal(s.key[:0], *p); ok {
		s.key = key
		*p = shareValue(s, t, key, *p)
	}
}

type sharer struct {
	keep []any
	key  []byte // scratch
}

func (s *sharer) container(c *corev1.Container) {
	if len(c.Resources.Limits) > 0 {
		c.Resources.Limits = shareValue(s, &resourceLists, resourceListKey(&s.key, c.Resources.Limits), c.Resources.Limits)
	}
	if len(c.Resources.Requests) > 0 {
		c.Resources.Requests = shareValue(s, &resourceLists, resourceListKey(&s.key, c.Resources.Requests), c.Resources.Requests)
	}
	if len(c.Env) > 0 {
		c.Env = shareSlice(s, &envs, c.Env)
	}
	for _, p := range []**corev1.Probe{&c.LivenessProbe, &c.ReadinessProbe, &c.StartupProbe} {
		sharePointer(s, &probes, p)
	}
}

var (
	labelMaps     = shareTable[map[string]string]{}
	resourceLists = shareTable[corev1.ResourceList]{}
	envs          = shareTable[[]corev1.EnvVar]{}
	probes        = shareTable[*corev1.Probe]{}
	projections   = shareTable[*corev1.ProjectedVolumeSource]{}
	tolerations   = shareTable[[]corev1.Toleration]{}
	ownerRefs     = shareTable[[]metav1.OwnerReference]{}
)

// shareTable maps the keys of values to the one value of each that cached
// objects hold, for as long as one of them keeps its holder.
type shareTable[T any] struct {
	mu sync.Mutex
	m  map[string]weak.Pointer[holder[T]]
}

type holder[T any] struct{ v T }

// shareValue returns the table's value for key, making v it when there is
// none, and keeps its holder in s.
func shareValue[T any](s *sharer, t *shareTable[T], key []byte, v T) T {
	t.mu.Lock()
	defer t.mu.Unlock()
	if w, ok := t.m[string(key)]; ok {
		if h := w.Value(); h != nil {
			s.keep = append(s.keep, h)
			return h.v
		}
	}
	if t.m == nil {
		t.m = map[string]weak.Pointer[holder[T]]{}
	}
	h := &holder[T]{v}
	k := string(key)
	t.m[k] = weak.Make(h)
	runtime.AddCleanup(h, t.forget, k)
	s.keep = append(s.keep, h)
	return v
}

// forget drops key once its holder is gone, unless another took its place.
func (t *shareTable[T]) forget(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if w, ok := t.m[key]; ok && w.Value() == nil {
		delete(t.m, key)
	}
}

// mapKey is m's pairs in key order, each quoted, the value as str gives it.
func mapKey[K ~string, V any](buf *[]byte, m map[K]V, str func(V) string) []byte {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b := (*buf)[:0]
	for _, k := range keys {
		b = strconv.AppendQuote(b, string(k))
		b = strconv.AppendQuote(b, str(m[k]))
	}
	*buf = b
	return b
}

func stringMapKey(buf *[]byte, m map[string]string) []byte {
	return mapKey(buf, m, func(v string) string { return v })
}

func resourceListKey(buf *[]byte, m corev1.ResourceList) []byte {
	return mapKey(buf, m, func(q resource.Quantity) string { return q.String() })
}

type marshaler interface {
	Size() int
	MarshalToSizedBuffer([]byte) (int, error)
}

// appendMarshal appends m's protobuf encoding, after its length.
func appendMarshal(b []byte, m marshaler) ([]byte, bool) {
	n := m.Size()
	b = strconv.AppendInt(b, int64(n), 10)
	b = append(b, ':')
	start := len(b)
	b = slices.Grow(b, n)[:start+n]
	if _, err := m.MarshalToSizedBuffer(b[start:]); err != nil {
		return nil, false
	}
	return b, true
}
