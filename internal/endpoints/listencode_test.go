package endpoints

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"kapi/internal/registry"
	"kapi/internal/storage"
)

// sharedConfigMaps is a list of n ConfigMaps, every other one shared from
// a cache (as a *storage.Cached), with list metadata.
func sharedConfigMaps(n int, cached []*storage.Cached) *registry.SharedList {
	list := &corev1.ConfigMapList{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMapList"},
		ListMeta: metav1.ListMeta{ResourceVersion: "77", Continue: "abc+/=", RemainingItemCount: new(int64(3))}}
	l := &registry.SharedList{List: list}
	for i := 0; i < n; i++ {
		cm := benchConfigMap()
		cm.Name = fmt.Sprintf("cm-%d", i)
		cm.UID = types.UID(fmt.Sprintf("uid-%d", i))
		cm.Data["html"] = "<a & b>" // encoding/json escapes these
		if i%2 == 0 && cached != nil {
			c := cached[i/2]
			if c == nil {
				c = storage.NewCached(cm)
				cached[i/2] = c
			}
			l.Items = append(l.Items, c)
			continue
		}
		l.Items = append(l.Items, cm)
	}
	return l
}

// standardList encodes l as the CodecFactory's serializer does: the
// typed list, items without apiVersion and kind.
func standardList(t *testing.T, info runtime.SerializerInfo, l *registry.SharedList) []byte {
	typed, err := (&registry.SharedList{List: l.List.DeepCopyObject(), Items: l.Items}).Typed()
	if err != nil {
		t.Fatal(err)
	}
	meta.EachListItem(typed, func(o runtime.Object) error {
		o.GetObjectKind().SetGroupVersionKind(schema.GroupVersionKind{})
		return nil
	})
	var buf bytes.Buffer
	if err := info.Serializer.Encode(typed, &buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestSharedListEncoding: a list written from cached item encodings is
// byte for byte what the serializers write, in JSON and protobuf, on the
// first write (filling the caches) and on later ones (reading them), and
// the shared objects keep their apiVersion and kind.
func TestSharedListEncoding(t *testing.T) {
	for _, mt := range []string{"json", "vnd.kubernetes.protobuf"} {
		info, ok := SerializerFor("application", mt)
		if !ok {
			t.Fatal(mt)
		}
		for _, n := range []int{0, 1, 7, 2*encodeAheadMin + 5} {
			cached := make([]*storage.Cached, (n+1)/2)
			for round := 0; round < 2; round++ {
				l := sharedConfigMaps(n, cached)
				want := standardList(t, info, l)
				r := httptest.NewRequest(http.MethodGet, "/api/v1/configmaps", nil)
				w := httptest.NewRecorder()
				if !writeSharedList(w, r, Output{Info: info}, l) {
					t.Fatalf("%s: not written", mt)
				}
				if w.Code != http.StatusOK || w.Header().Get("Content-Type") != info.MediaType {
					t.Fatalf("%s: %d %q", mt, w.Code, w.Header().Get("Content-Type"))
				}
				if got := w.Body.Bytes(); !bytes.Equal(got, want) {
					t.Fatalf("%s, %d items, round %d:\n got %q\nwant %q", mt, n, round, got, want)
				}
			}
			for _, c := range cached {
				if c.GetObjectKind().GroupVersionKind().Kind != "ConfigMap" {
					t.Fatalf("a shared object lost its kind")
				}
			}
		}
	}
}

// TestSharedListOtherFormats: YAML, pretty JSON and Table are not written
// from the cache; the caller writes them the usual way.
func TestSharedListOtherFormats(t *testing.T) {
	yaml, _ := SerializerFor("application", "yaml")
	json, _ := SerializerFor("application", "json")
	for name, c := range map[string]struct {
		out    Output
		target string
	}{
		"yaml":   {Output{Info: yaml}, "/api/v1/configmaps"},
		"pretty": {Output{Info: json}, "/api/v1/configmaps?pretty=true"},
		"table":  {Output{Info: json, As: "Table"}, "/api/v1/configmaps"},
	} {
		w := httptest.NewRecorder()
		if writeSharedList(w, httptest.NewRequest(http.MethodGet, c.target, nil), c.out, sharedConfigMaps(2, nil)) {
			t.Fatalf("%s: written from the cache", name)
		}
		if w.Body.Len() != 0 {
			t.Fatalf("%s: wrote %q", name, w.Body.String())
		}
	}
}

// TestSharedListEncodedForTheAnswer: a list of more than keepEncodingsMax
// items is written byte for byte as a kept one, uses the encodings its
// items keep, and keeps none of those it makes.
func TestSharedListEncodedForTheAnswer(t *testing.T) {
	for _, mt := range []string{"json", "vnd.kubernetes.protobuf"} {
		info, _ := SerializerFor("application", mt)
		id := runtime.Identifier(string(info.Serializer.Identifier()) + itemEncodingSuffix)
		if mt != "json" {
			id = protobufItemEncoding
		}
		for _, n := range []int{7, 2*encodeAheadMin + 5} {
			cached := make([]*storage.Cached, (n+1)/2)
			l := sharedConfigMaps(n, cached)
			r := httptest.NewRequest(http.MethodGet, "/api/v1/configmaps", nil)
			// A small list keeps the first item's encoding.
			if !writeSharedList(httptest.NewRecorder(), r, Output{Info: info}, &registry.SharedList{List: l.List, Items: l.Items[:1]}) {
				t.Fatal("not written")
			}
			func() {
				defer func(n int) { keepEncodingsMax = n }(keepEncodingsMax)
				keepEncodingsMax = n - 1
				w := httptest.NewRecorder()
				if !writeSharedList(w, r, Output{Info: info}, l) {
					t.Fatal("not written")
				}
				if got, want := w.Body.Bytes(), standardList(t, info, l); !bytes.Equal(got, want) {
					t.Fatalf("%s, %d items:\n got %q\nwant %q", mt, n, got, want)
				}
			}()
			for i, c := range cached {
				if _, kept := c.Kept(id); kept != (i == 0) {
					t.Fatalf("%s, %d items: item %d keeps an encoding: %v", mt, n, 2*i, kept)
				}
			}
		}
	}
}

// TestSharedListKeepsCountsPages: a page of a list counts with the items
// after it (remainingItemCount) against keepEncodingsMax.
func TestSharedListKeepsCountsPages(t *testing.T) {
	defer func(n int) { keepEncodingsMax = n }(keepEncodingsMax)
	keepEncodingsMax = 10
	info, _ := SerializerFor("application", "json")
	id := runtime.Identifier(string(info.Serializer.Identifier()) + itemEncodingSuffix)
	for _, c := range []struct {
		remaining *int64
		kept      bool
	}{{nil, true}, {new(int64(3)), true}, {new(int64(4)), false}} {
		cached := make([]*storage.Cached, 4)
		l := sharedConfigMaps(7, cached)
		l.List.(*corev1.ConfigMapList).RemainingItemCount = c.remaining
		if !writeSharedList(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/api/v1/configmaps", nil), Output{Info: info}, l) {
			t.Fatal("not written")
		}
		if _, kept := cached[0].Kept(id); kept != c.kept {
			t.Errorf("7 items, %v more: kept %v", c.remaining, kept)
		}
	}
}

// TestSharedListEncodingFails: an item that cannot be encoded ends the
// list with an error, from the writer or from a helper, and the helpers
// end.
func TestSharedListEncodingFails(t *testing.T) {
	info, _ := SerializerFor("application", "vnd.kubernetes.protobuf")
	before := goruntime.NumGoroutine()
	for _, keepMax := range []int{keepEncodingsMax, 0} {
		for _, bad := range []int{0, 3 * encodeChunk / 2} {
			l := sharedConfigMaps(4*encodeAheadMin, nil)
			l.Items[bad] = &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap"}}
			func() {
				defer func(n int) { keepEncodingsMax = n }(keepEncodingsMax)
				keepEncodingsMax = keepMax
				w := httptest.NewRecorder()
				writeSharedList(w, httptest.NewRequest(http.MethodGet, "/api/v1/configmaps", nil), Output{Info: info}, l)
				if w.Code != http.StatusInternalServerError || !strings.Contains(w.Body.String(), "cannot be encoded as protobuf") {
					t.Fatalf("keep up to %d, item %d bad: %d %q", keepMax, bad, w.Code, w.Body.String())
				}
			}()
		}
	}
	for deadline := time.Now().Add(5 * time.Second); goruntime.NumGoroutine() > before; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines, %d before", goruntime.NumGoroutine(), before)
		}
	}
}

// TestEncodeItemsWindow: the helpers give the items in order, and run at
// most encodeWindow chunks ahead of the writer, dropping the chunks it
// is done with.
func TestEncodeItemsWindow(t *testing.T) {
	if goruntime.GOMAXPROCS(0) < 2 {
		t.Skip("one core: no helpers")
	}
	objs := make([]runtime.Object, 40*encodeChunk+3)
	for i := range objs {
		objs[i] = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: strconv.Itoa(i)}}
	}
	var made atomic.Int64
	e := encodeItems(objs, func(o runtime.Object) (encodedItem, error) {
		made.Add(1)
		return encodedItem{b: []byte(o.(*corev1.ConfigMap).Name)}, nil
	})
	defer e.stop()
	for i := range objs {
		b, err := e.item(i)
		if err != nil || string(b) != strconv.Itoa(i) {
			t.Fatalf("item %d: %q %v", i, b, err)
		}
		if ahead := made.Load() - int64(i); ahead > (encodeWindow+1)*encodeChunk {
			t.Fatalf("at item %d, %d made ahead", i, ahead)
		}
		if i%encodeChunk == 0 && i > 0 && e.out[i-1].b != nil {
			t.Fatalf("at item %d, the chunk before is kept", i)
		}
		if i%(4*encodeChunk) == 0 {
			time.Sleep(time.Millisecond) // the helpers run ahead
		}
	}
}
