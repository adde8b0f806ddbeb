package endpoints

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	goruntime "runtime"
	"sync"
	"sync/atomic"

	"google.golang.org/protobuf/encoding/protowire"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"kapi/internal/registry"
	"kapi/internal/storage"
)

// Serialize once, for lists. A list is written item by item, as the
// CodecFactory's streaming encoders do, with the same bytes; but an item
// that is the watch cache's (a *storage.Cached) brings its encoding, made
// by the first list that needed it and kept with the object until it
// changes. The encoding of a list item differs from the object's own: a
// protobuf item is the bare message (no envelope), a JSON item has no
// apiVersion and kind.

// itemEncodingSuffix names an item encoding in a Cached object's cache.
const itemEncodingSuffix = "/list-item"

// listWriter writes lists of one format, or is nil for formats it does
// not know (YAML, pretty JSON): those go the usual way.
type listWriter interface {
	writeList(w io.Writer, l *registry.SharedList) error
}

func newListWriter(r *http.Request, out Output) listWriter {
	if out.As != "" || isTrue(r.URL.Query().Get("pretty")) {
		return nil
	}
	switch out.Info.MediaType {
	case runtime.ContentTypeJSON:
		return jsonList{enc: out.Info.Serializer}
	case runtime.ContentTypeProtobuf:
		return protobufList{}
	}
	return nil
}

// writeSharedList writes l as out asks, from the items' cached encodings
// when it can; it reports false, having written nothing, when the format
// is not one it knows.
func writeSharedList(w http.ResponseWriter, r *http.Request, out Output, l *registry.SharedList) bool {
	lw := newListWriter(r, out)
	if lw == nil {
		return false
	}
	d := &deferredWriter{w: w, r: r, code: http.StatusOK, contentType: out.Info.MediaType}
	finish(w, r, d, lw.writeList(d, l))
	return true
}

// keepEncodingsMax is the most items of a list that keeps, with its
// cached items, the encodings it makes. Lists of a namespace or of a
// selector, the ones that repeat, are smaller. A list of more is a relist
// of a whole resource (an informer starting), and keeping its encodings
// would grow kapi's memory by the size of the answer, for every object of
// the resource: the items of such a list are encoded for the answer only,
// unless they keep an encoding already.
var keepEncodingsMax = 4096

// keeps reports whether a list keeps the encodings it makes. A page
// counts with the items after it (its remainingItemCount), so that an
// informer's relist in pages of 500 is a list of the whole resource too.
func keeps(l *registry.SharedList, lm *metav1.ListMeta) bool {
	n := int64(len(l.Items))
	if lm.RemainingItemCount != nil {
		n += *lm.RemainingItemCount
	}
	return n <= int64(keepEncodingsMax)
}

// itemEncoder returns the encoding of one item of a list. When keep is
// true, a shared item's is kept with it (made now if need be), and an
// item not shared is encoded into bytes of its own, which the writer may
// hold to the end. Else the encoding is the one the item keeps already,
// or one made for this answer only, in a buffer of itemBuffers that the
// writer gives back once it has written it.
func itemEncoder(id runtime.Identifier, encode func(runtime.Object, io.Writer) error, keep bool) func(runtime.Object) (encodedItem, error) {
	return func(item runtime.Object) (encodedItem, error) {
		c, shared := item.(*storage.Cached)
		switch {
		case shared && keep:
			b, err := c.Encoded(id, encode)
			return encodedItem{b: b}, err
		case keep:
			var buf bytes.Buffer
			err := encode(storage.EncodingCopy(item), &buf)
			return encodedItem{b: buf.Bytes()}, err
		case shared:
			if b, ok := c.Kept(id); ok {
				return encodedItem{b: b}, nil
			}
			item = c.Object()
		}
		buf := itemBuffers.Get().(*bytes.Buffer)
		buf.Reset()
		err := encode(storage.EncodingCopy(item), buf)
		return encodedItem{b: buf.Bytes(), buf: buf}, err
	}
}

// encodedItem is an item's encoding, and the buffer it is in if it was
// made for the answer only.
type encodedItem struct {
	b   []byte
	buf *bytes.Buffer
}

// itemBuffers hold the encodings made for one answer, while it is written.
var itemBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// release gives the item's buffer back, unless it grew too large to keep.
func (e encodedItem) release() {
	if e.buf != nil && e.buf.Cap() <= 64<<10 {
		itemBuffers.Put(e.buf)
	}
}

// jsonList writes {"kind":...,"apiVersion":...,"metadata":{...},"items":[...]}
// as the json serializer's streaming collection encoder.
type jsonList struct{ enc runtime.Encoder }

func (j jsonList) writeList(w io.Writer, l *registry.SharedList) error {
	lm, err := listMeta(l.List)
	if err != nil {
		return err
	}
	head := []byte{'{'}
	apiVersion, kind := l.List.GetObjectKind().GroupVersionKind().ToAPIVersionAndKind()
	if kind != "" {
		head = append(append(append(head, `"kind":`...), jsonString(kind)...), ',')
	}
	if apiVersion != "" {
		head = append(append(append(head, `"apiVersion":`...), jsonString(apiVersion)...), ',')
	}
	m, err := json.Marshal(lm)
	if err != nil {
		return err
	}
	head = append(append(append(head, `"metadata":`...), m...), `,"items":[`...)
	if _, err := w.Write(head); err != nil {
		return err
	}
	id := runtime.Identifier(string(j.enc.Identifier()) + itemEncodingSuffix)
	encode := func(obj runtime.Object, w io.Writer) error {
		// Built-in list items carry no apiVersion and kind, as
		// kube-apiserver's.
		obj.GetObjectKind().SetGroupVersionKind(schema.GroupVersionKind{})
		return j.enc.Encode(obj, w)
	}
	if l.ItemKinds {
		id = runtime.Identifier(j.enc.Identifier())
		encode = j.enc.Encode
	}
	items := encodeItems(l.Items, itemEncoder(id, encode, keeps(l, lm)))
	defer items.stop()
	for i := range l.Items {
		b, err := items.item(i)
		if err != nil {
			return err
		}
		b = bytes.TrimSuffix(b, []byte{'\n'})
		if i > 0 {
			if _, err := w.Write([]byte{','}); err != nil {
				return err
			}
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	_, err = w.Write([]byte("]}\n"))
	return err
}

func jsonString(s string) []byte {
	b, _ := json.Marshal(s)
	return b
}

// protobufList writes the kube protobuf envelope (magic, then a
// runtime.Unknown) around a list message: ListMeta as field 1, each item
// as field 2, as the protobuf serializer's streaming collection encoder.
type protobufList struct{}

// The fields of every kube list message: ListMeta, then the items.
const listMetaField, listItemsField protowire.Number = 1, 2

// protobufMagic starts every kube protobuf message.
var protobufMagic = []byte{0x6b, 0x38, 0x73, 0x00}

// protoMessage is what generated kube types implement.
type protoMessage interface {
	Marshal() ([]byte, error)
	MarshalToSizedBuffer([]byte) (int, error)
	Size() int
}

const protobufItemEncoding = runtime.Identifier("protobuf" + itemEncodingSuffix)

func encodeProtoItem(obj runtime.Object, w io.Writer) error {
	m, ok := obj.(protoMessage)
	if !ok {
		return fmt.Errorf("%T cannot be encoded as protobuf", obj)
	}
	if buf, ok := w.(*bytes.Buffer); ok {
		// Marshalled in place: one buffer, of the message's size.
		n := m.Size()
		buf.Grow(n)
		b := buf.AvailableBuffer()[:n]
		if _, err := m.MarshalToSizedBuffer(b); err != nil {
			return err
		}
		buf.Write(b)
		return nil
	}
	b, err := m.Marshal()
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

func (protobufList) writeList(w io.Writer, l *registry.SharedList) error {
	lm, err := listMeta(l.List)
	if err != nil {
		return err
	}
	metaBytes, err := lm.Marshal()
	if err != nil {
		return err
	}
	// The envelope states the list's size first. A list that keeps its
	// items' encodings makes them all first; one that does not takes the
	// sizes of those not kept from the messages, and encodes each item as
	// it writes it.
	keep := keeps(l, lm)
	encode := itemEncoder(protobufItemEncoding, encodeProtoItem, keep)
	sizes := make([]int, len(l.Items))
	var kept [][]byte
	if keep {
		kept = make([][]byte, len(l.Items))
		items := encodeItems(l.Items, encode)
		defer items.stop()
		for i := range l.Items {
			if kept[i], err = items.item(i); err != nil {
				return err
			}
			sizes[i] = len(kept[i])
		}
	} else {
		for i, item := range l.Items {
			if sizes[i], err = protoItemSize(item); err != nil {
				return err
			}
		}
	}
	size := protowire.SizeTag(listMetaField) + protowire.SizeBytes(len(metaBytes))
	for _, n := range sizes {
		size += protowire.SizeTag(listItemsField) + protowire.SizeBytes(n)
	}
	if _, err := w.Write(protobufMagic); err != nil {
		return err
	}
	gvk := l.List.GetObjectKind().GroupVersionKind()
	unk := runtime.Unknown{TypeMeta: runtime.TypeMeta{APIVersion: gvk.GroupVersion().String(), Kind: gvk.Kind}}
	_, err = unk.MarshalToWriter(w, size, func(w io.Writer) (int, error) {
		n := 0
		field := func(num protowire.Number, b []byte) error {
			hdr := protowire.AppendVarint(protowire.AppendTag(nil, num, protowire.BytesType), uint64(len(b)))
			k, err := w.Write(hdr)
			n += k
			if err != nil {
				return err
			}
			k, err = w.Write(b)
			n += k
			return err
		}
		if err := field(listMetaField, metaBytes); err != nil {
			return n, err
		}
		var items *itemEncodings
		if !keep {
			items = encodeItems(l.Items, encode)
			defer items.stop()
		}
		for i := range l.Items {
			var b []byte
			if keep {
				b = kept[i]
			} else {
				var err error
				if b, err = items.item(i); err != nil {
					return n, err
				}
			}
			if len(b) != sizes[i] {
				return n, fmt.Errorf("list item %d: %d bytes, sized %d", i, len(b), sizes[i])
			}
			if err := field(listItemsField, b); err != nil {
				return n, err
			}
		}
		return n, nil
	})
	return err
}

// protoItemSize is the size of an item's protobuf message: its kept
// encoding's, or the message's own count.
func protoItemSize(item runtime.Object) (int, error) {
	if c, ok := item.(*storage.Cached); ok {
		if b, ok := c.Kept(protobufItemEncoding); ok {
			return len(b), nil
		}
		item = c.Object()
	}
	m, ok := item.(protoMessage)
	if !ok {
		return 0, fmt.Errorf("%T cannot be encoded as protobuf", item)
	}
	return m.Size(), nil
}

// encodeAheadMin is the fewest items a list encodes in more than one
// goroutine.
var encodeAheadMin = 64

// encodeChunk is the items a helper encodes at a time, and encodeWindow
// the chunks encoded at most before the writer takes them: a list made
// for its answer only is held a few chunks at a time, not whole.
const encodeChunk, encodeWindow = 32, 8

// itemEncodings gives a list's writer its items' encodings, in order.
// When there are other cores and the list is long, helpers (one per core:
// the writer mostly waits on them) encode the items ahead of the writer a
// chunk at a time, so that the first list of objects never encoded in
// its format, or a list encoded for its answer only, takes every core.
type itemEncodings struct {
	objs []runtime.Object
	one  func(runtime.Object) (encodedItem, error)
	last encodedItem // without helpers: the item the writer has

	// With helpers: chunk k's items are out[k*encodeChunk:], its error
	// errs[k], and ready[k] closes when they are made. Chunks are taken in
	// order (next), by a helper or by the writer. A helper takes a token
	// from room before it takes a chunk, and the writer gives one back when
	// it is done with a chunk a helper made (helped).
	out    []encodedItem
	errs   []error
	ready  []chan struct{}
	helped []bool
	next   atomic.Int64
	room   chan struct{}
	quit   chan struct{}
	wg     sync.WaitGroup
}

// encodeItems starts encoding objs with one; the caller takes them with
// item, in order, and calls stop at the end.
func encodeItems(objs []runtime.Object, one func(runtime.Object) (encodedItem, error)) *itemEncodings {
	e := &itemEncodings{objs: objs, one: one}
	helpers := goruntime.GOMAXPROCS(0)
	if helpers < 2 || len(objs) < encodeAheadMin {
		return e
	}
	chunks := (len(objs) + encodeChunk - 1) / encodeChunk
	e.out, e.errs, e.ready, e.helped = make([]encodedItem, len(objs)), make([]error, chunks), make([]chan struct{}, chunks), make([]bool, chunks)
	for k := range e.ready {
		e.ready[k] = make(chan struct{})
	}
	e.room, e.quit = make(chan struct{}, encodeWindow), make(chan struct{})
	for range encodeWindow {
		e.room <- struct{}{}
	}
	for range helpers {
		e.wg.Go(e.help)
	}
	return e
}

func (e *itemEncodings) help() {
	for {
		select {
		case <-e.room:
		case <-e.quit:
			return
		}
		k := int(e.next.Add(1) - 1)
		if k >= len(e.ready) {
			return
		}
		e.helped[k] = true
		e.encode(k)
	}
}

// encode makes chunk k.
func (e *itemEncodings) encode(k int) {
	for i := k * encodeChunk; i < min((k+1)*encodeChunk, len(e.objs)); i++ {
		if e.out[i], e.errs[k] = e.one(e.objs[i]); e.errs[k] != nil {
			break
		}
	}
	close(e.ready[k])
}

// item returns item i's encoding, to be read until the next call; i goes
// up by one from 0.
func (e *itemEncodings) item(i int) ([]byte, error) {
	if e.ready == nil {
		e.last.release()
		var err error
		e.last, err = e.one(e.objs[i])
		return e.last.b, err
	}
	k := i / encodeChunk
	if i%encodeChunk == 0 {
		if k > 0 {
			// The writer is done with the chunk before: drop it, and
			// let a helper start another.
			e.drop(k - 1)
			if e.helped[k-1] {
				e.room <- struct{}{}
			}
		}
		// A chunk no helper has started, the writer makes itself rather
		// than wait for one to be scheduled (the encodings a list finds
		// kept take no longer to look up than to hand over).
		if e.next.CompareAndSwap(int64(k), int64(k+1)) {
			e.encode(k)
		}
		<-e.ready[k]
	}
	if err := e.errs[k]; err != nil {
		return nil, err
	}
	return e.out[i].b, nil
}

// drop gives back chunk k's buffers.
func (e *itemEncodings) drop(k int) {
	chunk := e.out[k*encodeChunk : min((k+1)*encodeChunk, len(e.out))]
	for _, it := range chunk {
		it.release()
	}
	clear(chunk)
}

// stop stops the helpers, waits for them, and gives back the buffers.
func (e *itemEncodings) stop() {
	e.last.release()
	e.last = encodedItem{}
	if e.quit == nil {
		return
	}
	close(e.quit)
	e.wg.Wait()
	for k := range e.ready {
		e.drop(k)
	}
}

func listMeta(list runtime.Object) (*metav1.ListMeta, error) {
	la, err := meta.ListAccessor(list)
	if err != nil {
		return nil, err
	}
	return &metav1.ListMeta{ResourceVersion: la.GetResourceVersion(), Continue: la.GetContinue(),
		RemainingItemCount: la.GetRemainingItemCount(), SelfLink: la.GetSelfLink()}, nil
}
