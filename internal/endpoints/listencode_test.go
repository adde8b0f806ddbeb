package endpoints

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
