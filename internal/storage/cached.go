package storage

import (
	"bytes"
	"fmt"
	"io"
	"reflect"
	"sync"
	"sync/atomic"
	"weak"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Cached is an object the watch cache holds and hands, as it is, to every
// reader that asked for shared objects (ReadOptions.Shared,
// WatchOptions.Shared): nobody may change it. It keeps its encodings, so
// that one revision of an object is encoded once per format, however many
// gets, lists and watchers send it.
//
// A Cached is a runtime.Object: DeepCopyObject gives a plain object to
// change, and it is a runtime.CacheableObject, so apimachinery's
// serializers encode it from (and into) its cache.
type Cached struct {
	obj runtime.Object

	mu     sync.Mutex
	enc    []*encoding // a handful at most: small slices beat maps
	frames []*frame
	// shared keeps the values the object shares with other cached
	// objects (share).
	shared []any
}

type encoding struct {
	id   runtime.Identifier
	once sync.Once
	raw  []byte
	err  error
	made atomic.Bool // raw and err are set
}

// NewCached wraps obj, which the caller gives up: it must not change
// afterwards. Parts of it equal to other cached objects' come to be
// theirs (share).
func NewCached(obj runtime.Object) *Cached { return &Cached{obj: obj, shared: share(obj)} }

// Object is the shared object: to be read, never changed.
func (c *Cached) Object() runtime.Object { return c.obj }

// DeepCopyObject is a plain copy of the object, the caller's to change.
func (c *Cached) DeepCopyObject() runtime.Object { return c.obj.DeepCopyObject() }

// GetObject is DeepCopyObject (runtime.CacheableObject).
func (c *Cached) GetObject() runtime.Object { return c.obj.DeepCopyObject() }

// GetObjectKind reads the object's kind; setting a different one panics
// (the object is shared: copy it first).
func (c *Cached) GetObjectKind() schema.ObjectKind { return readOnlyKind{c.obj.GetObjectKind()} }

// CacheEncode writes the encoding id, computed by encode on first use
// (runtime.CacheableObject).
func (c *Cached) CacheEncode(id runtime.Identifier, encode func(runtime.Object, io.Writer) error, w io.Writer) error {
	raw, err := c.Encoded(id, encode)
	if err != nil {
		return err
	}
	_, err = w.Write(raw)
	return err
}

// Encoded returns the encoding id of the object, computed by encode the
// first time it is asked for, on an EncodingCopy: encode may set the
// copy's own fields (its kind), never change what they point to. The
// bytes are shared: read them, never change them.
func (c *Cached) Encoded(id runtime.Identifier, encode func(runtime.Object, io.Writer) error) ([]byte, error) {
	c.mu.Lock()
	e := c.encoding(id)
	if e == nil {
		e = &encoding{id: id}
		c.enc = append(c.enc, e)
	}
	c.mu.Unlock()
	e.once.Do(func() {
		var buf bytes.Buffer
		e.err = encode(EncodingCopy(c.obj), &buf)
		e.raw = buf.Bytes()
		e.made.Store(true)
	})
	return e.raw, e.err
}

// Kept returns the encoding id if the object keeps it already (Encoded
// made it), without making it: false while none is kept, or while one is
// being made, or if making it failed.
func (c *Cached) Kept(id runtime.Identifier) ([]byte, bool) {
	c.mu.Lock()
	e := c.encoding(id)
	c.mu.Unlock()
	if e == nil || !e.made.Load() || e.err != nil {
		return nil, false
	}
	return e.raw, true
}

// encoding is the object's encoding id, made or being made, or nil; the
// lock is held.
func (c *Cached) encoding(id runtime.Identifier) *encoding {
	for _, e := range c.enc {
		if e.id == id {
			return e
		}
	}
	return nil
}

// EncodingCopy is a copy of obj for an encoder, which may set the copy's
// apiVersion and kind (the versioning codec does, and list items clear
// them) but changes nothing else: a shallow copy of a typed object, whose
// TypeMeta is then its own, and a deep copy of anything else (an
// unstructured object keeps its kind in its map). A deep copy of a Pod
// costs more than encoding it.
func EncodingCopy(obj runtime.Object) runtime.Object {
	v := reflect.ValueOf(obj)
	if _, ok := obj.(runtime.Unstructured); ok || v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return obj.DeepCopyObject()
	}
	c := reflect.New(v.Elem().Type())
	c.Elem().Set(v.Elem())
	return c.Interface().(runtime.Object)
}

// Frame returns the bytes id, written by write (which reads the object,
// never changes it) unless they were written moments ago: a watch
// event's whole frame, shared by the watchers that send the same event in
// the same encoding at about the same time. The object keeps only a weak
// reference to them, so that a cache of many objects does not keep a
// frame of each beside its encodings; after a garbage collection the
// next watcher writes them again. The bytes are shared: read them, never
// change them.
func (c *Cached) Frame(id runtime.Identifier, write func(io.Writer) error) ([]byte, error) {
	c.mu.Lock()
	var f *frame
	for _, x := range c.frames {
		if x.id == id {
			f = x
			break
		}
	}
	if f == nil {
		f = &frame{id: id}
		c.frames = append(c.frames, f)
	}
	c.mu.Unlock()
	f.mu.Lock()
	defer f.mu.Unlock()
	if b := f.bytes.Value(); b != nil {
		return b.b, nil
	}
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		return nil, err
	}
	b := &frameBytes{buf.Bytes()}
	f.bytes = weak.Make(b)
	return b.b, nil
}

// frame is a weakly kept watch frame of the object (Frame).
type frame struct {
	id    runtime.Identifier
	mu    sync.Mutex
	bytes weak.Pointer[frameBytes]
}

type frameBytes struct{ b []byte }

// Unwrap returns the object inside obj when it is a Cached (to be read
// only), else obj.
func Unwrap(obj runtime.Object) runtime.Object {
	if c, ok := obj.(*Cached); ok {
		return c.obj
	}
	return obj
}

type readOnlyKind struct{ kind schema.ObjectKind }

func (k readOnlyKind) GroupVersionKind() schema.GroupVersionKind { return k.kind.GroupVersionKind() }

func (k readOnlyKind) SetGroupVersionKind(gvk schema.GroupVersionKind) {
	if k.kind.GroupVersionKind() != gvk {
		panic(fmt.Sprintf("setting kind %v on a shared storage.Cached object: copy it first", gvk))
	}
}
