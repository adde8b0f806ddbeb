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

// itemBytes is an item's encoding: from the cache when the item is shared,
// else computed.
func itemBytes(item runtime.Object, id runtime.Identifier, encode func(runtime.Object, io.Writer) error) ([]byte, error) {
	if c, ok := item.(*storage.Cached); ok {
		return c.Encoded(id, encode)
	}
	var buf bytes.Buffer
	err := encode(storage.EncodingCopy(item), &buf)
	return buf.Bytes(), err
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
	defer encodeAhead(l.Items, id, encode)()
	for i, item := range l.Items {
		b, err := itemBytes(item, id, encode)
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
}

const protobufItemEncoding = runtime.Identifier("protobuf" + itemEncodingSuffix)

func encodeProtoItem(obj runtime.Object, w io.Writer) error {
	m, ok := obj.(protoMessage)
	if !ok {
		return fmt.Errorf("%T cannot be encoded as protobuf", obj)
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
	// The envelope states the list's size first: every item is encoded
	// (or found) before anything is written.
	items := make([][]byte, len(l.Items))
	size := protowire.SizeTag(listMetaField) + protowire.SizeBytes(len(metaBytes))
	defer encodeAhead(l.Items, protobufItemEncoding, encodeProtoItem)()
	for i, item := range l.Items {
		if items[i], err = itemBytes(item, protobufItemEncoding, encodeProtoItem); err != nil {
			return err
		}
		size += protowire.SizeTag(listItemsField) + protowire.SizeBytes(len(items[i]))
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
		for _, b := range items {
			if err := field(listItemsField, b); err != nil {
				return n, err
			}
		}
		return n, nil
	})
	return err
}

// encodeAheadMin is the fewest items a list encodes in more than one
// goroutine.
var encodeAheadMin = 64

// encodeAhead encodes the cached items of a list in as many goroutines as
// there are other cores, so that the first list of objects never encoded
// in its format takes more than one core. The items are split in as many
// runs as goroutines (the writer's included): the writer encodes the first
// run as it writes it, each helper one of the others, and when the writer
// comes to them they are encoded or being encoded (the item's encoding is
// made once, by whoever asks first). Items encoded before cost a helper a
// look. The returned function stops the helpers and waits for them.
func encodeAhead(items []runtime.Object, id runtime.Identifier, encode func(runtime.Object, io.Writer) error) (stop func()) {
	helpers := goruntime.GOMAXPROCS(0) - 1
	if helpers < 1 || len(items) < encodeAheadMin {
		return func() {}
	}
	if _, ok := items[0].(*storage.Cached); !ok {
		return func() {} // not kept: encoded where written
	}
	var done atomic.Bool
	var wg sync.WaitGroup
	run := (len(items) + helpers) / (helpers + 1)
	for h := 1; h <= helpers; h++ {
		from, to := h*run, min((h+1)*run, len(items))
		if from >= to {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, item := range items[from:to] {
				if done.Load() {
					return
				}
				if c, ok := item.(*storage.Cached); ok {
					c.Encoded(id, encode)
				}
			}
		}()
	}
	return func() {
		done.Store(true)
		wg.Wait()
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
