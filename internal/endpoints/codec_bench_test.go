package endpoints

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"kapi/internal/registry"
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
				if _, err := decodeAs(w, info, metav1.FieldValidationWarn, body, gvk, &corev1.ConfigMap{}); err != nil {
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
