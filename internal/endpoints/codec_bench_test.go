package endpoints

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"kapi/internal/registry"
	"kapi/internal/storage"
)

func benchConfigMap() *corev1.ConfigMap {
	cm := &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Name: "bench", Namespace: "default", Labels: map[string]string{"app": "bench", "tier": "web"}, ResourceVersion: "12345", UID: "6b1c7c4e-0d35-4b8a-9d3a-3f3c2f1b7e21"},
		Data:       map[string]string{"d": strings.Repeat("x", 1024)},
	}
	return cm
}

func serializer(b *testing.B, mediaType string) runtime.SerializerInfo {
	for _, info := range registry.Codecs.SupportedMediaTypes() {
		if info.MediaType == mediaType {
			return info
		}
	}
	b.Fatalf("no %s", mediaType)
	return runtime.SerializerInfo{}
}

// BenchmarkDecodeRequest: a 1 KiB ConfigMap body, decoded as a create
// decodes it (strict, for field validation).
func BenchmarkDecodeRequest(b *testing.B) {
	for _, mt := range []string{"application/json", "application/vnd.kubernetes.protobuf"} {
		b.Run(mt, func(b *testing.B) {
			info := serializer(b, mt)
			var buf bytes.Buffer
			if err := info.Serializer.Encode(benchConfigMap(), &buf); err != nil {
				b.Fatal(err)
			}
			body := buf.Bytes()
			w := httptest.NewRecorder()
			gvk := corev1.SchemeGroupVersion.WithKind("ConfigMap")
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for i := 0; i < b.N; i++ {
				if _, err := decodeAs(w, info, metav1.FieldValidationWarn, body, gvk, &corev1.ConfigMap{}, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEncodeResponse: one ConfigMap, and a list of 500, written as a
// GET and a LIST answer.
func BenchmarkEncodeResponse(b *testing.B) {
	list := &corev1.ConfigMapList{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMapList"}}
	for i := 0; i < 500; i++ {
		list.Items = append(list.Items, *benchConfigMap())
	}
	for _, mt := range []string{"application/json", "application/vnd.kubernetes.protobuf"} {
		for name, obj := range map[string]runtime.Object{"one": benchConfigMap(), "list500": list} {
			b.Run(mt+"/"+name, func(b *testing.B) {
				out := Output{Info: serializer(b, mt)}
				r := httptest.NewRequest(http.MethodGet, "/api/v1/configmaps", nil)
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					w := httptest.NewRecorder()
					WriteObject(w, r, http.StatusOK, out, obj)
				}
			})
		}
	}
}

// BenchmarkEncodeShared: what serialize-once saves. One ConfigMap and a
// list of 500 as the watch cache hands them to handlers (storage.Cached,
// encodings kept), against the same objects not shared (encoded afresh
// each time, from a copy, as before the cache held encodings).
func BenchmarkEncodeShared(b *testing.B) {
	items := make([]*storage.Cached, 500)
	for i := range items {
		cm := benchConfigMap()
		cm.Name = fmt.Sprintf("cm-%d", i)
		items[i] = storage.NewCached(cm)
	}
	newList := func(shared bool) *registry.SharedList {
		l := &registry.SharedList{List: &corev1.ConfigMapList{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMapList"}}}
		for _, c := range items {
			if shared {
				l.Items = append(l.Items, c)
			} else {
				l.Items = append(l.Items, c.DeepCopyObject())
			}
		}
		return l
	}
	for _, mt := range []string{"application/json", "application/vnd.kubernetes.protobuf"} {
		out := Output{Info: serializer(b, mt)}
		r := httptest.NewRequest(http.MethodGet, "/api/v1/configmaps", nil)
		for _, shared := range []bool{false, true} {
			name := "copied"
			if shared {
				name = "shared"
			}
			b.Run(mt+"/one/"+name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					var obj runtime.Object = items[0]
					if !shared {
						obj = items[0].DeepCopyObject()
					}
					WriteObject(discard{}, r, http.StatusOK, out, obj)
				}
			})
			b.Run(mt+"/list500/"+name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if !writeSharedList(discard{}, r, out, newList(shared)) {
						b.Fatal("not written")
					}
				}
			})
		}
		// The same list to a client that takes gzip, as client-go's
		// transport asks: past 128 KiB the answer is compressed.
		gz := httptest.NewRequest(http.MethodGet, "/api/v1/configmaps", nil)
		gz.Header.Set("Accept-Encoding", "gzip")
		b.Run(mt+"/list500/shared/gzip", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if !writeSharedList(discard{}, gz, out, newList(true)) {
					b.Fatal("not written")
				}
			}
		})
	}
}

// BenchmarkEncodeSharedFirst: the first list of 2,000 cached objects, whose
// encodings are made by the list, in the writer's goroutine alone or with
// helpers on the other cores (encodeItems), and by a list too long to keep
// them (keepEncodingsMax).
func BenchmarkEncodeSharedFirst(b *testing.B) {
	objs := make([]*corev1.ConfigMap, 2000)
	for i := range objs {
		objs[i] = benchConfigMap()
		objs[i].Name = fmt.Sprintf("cm-%d", i)
	}
	for _, mt := range []string{"application/json", "application/vnd.kubernetes.protobuf"} {
		out := Output{Info: serializer(b, mt)}
		r := httptest.NewRequest(http.MethodGet, "/api/v1/configmaps", nil)
		for _, name := range []string{"writer-alone", "ahead", "ahead-not-kept"} {
			b.Run(mt+"/"+name, func(b *testing.B) {
				switch name {
				case "writer-alone":
					defer func(n int) { encodeAheadMin = n }(encodeAheadMin)
					encodeAheadMin = len(objs) + 1
				case "ahead-not-kept":
					defer func(n int) { keepEncodingsMax = n }(keepEncodingsMax)
					keepEncodingsMax = len(objs) - 1
				}
				b.ReportAllocs()
				for b.Loop() {
					b.StopTimer()
					l := &registry.SharedList{List: &corev1.ConfigMapList{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMapList"}}}
					for _, o := range objs {
						l.Items = append(l.Items, storage.NewCached(o))
					}
					b.StartTimer()
					if !writeSharedList(discard{}, r, out, l) {
						b.Fatal("not written")
					}
				}
			})
		}
	}
}

// discard is a ResponseWriter that keeps nothing: the benchmarks measure
// encoding, not a recorder's buffer.
type discard struct{}

func (discard) Header() http.Header         { return http.Header{} }
func (discard) Write(p []byte) (int, error) { return len(p), nil }
func (discard) WriteHeader(int)             {}
