package etcd

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/client-go/kubernetes/scheme"
)

func envelopePod() *corev1.Pod {
	return &corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "ns", UID: "u1", Labels: map[string]string{"app": "web"},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "m", Operation: metav1.ManagedFieldsOperationUpdate,
				FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:spec":{}}`)}}}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.example.com/web:1.0",
			Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}}}}}}
}

// TestDecodeEnvelope: a value in kube's protobuf envelope of the store's
// kind decodes to what the protobuf serializer gives, and shares no bytes
// with the value; any other value is left to the serializer.
func TestDecodeEnvelope(t *testing.T) {
	ser := protobuf.NewSerializer(scheme.Scheme, scheme.Scheme)
	encode := func(obj runtime.Object) []byte {
		var buf bytes.Buffer
		if err := ser.Encode(obj, &buf); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	for _, obj := range []runtime.Object{
		envelopePod(),
		&corev1.Secret{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"}, ObjectMeta: metav1.ObjectMeta{Name: "s"},
			Data: map[string][]byte{"k": []byte("value")}},
		&appsv1.Deployment{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"}, ObjectMeta: metav1.ObjectMeta{Name: "d"}},
	} {
		gvk := obj.GetObjectKind().GroupVersionKind()
		data := encode(obj)
		want, _, err := ser.Decode(data, &gvk, nil)
		if err != nil {
			t.Fatal(err)
		}
		got := reflect.New(reflect.TypeOf(obj).Elem()).Interface().(runtime.Object)
		if !decodeEnvelope(data, gvk.GroupVersion().String(), gvk, got) {
			t.Fatalf("%s: not decoded", gvk.Kind)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s:\n got %#v\nwant %#v", gvk.Kind, got, want)
		}
		clear(data) // the value's buffer is the etcd client's, not the object's
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s shares bytes with the value it was decoded from", gvk.Kind)
		}
	}

	podGVK := schema.GroupVersionKind{Version: "v1", Kind: "Pod"}
	pod := encode(envelopePod())
	for name, c := range map[string]struct {
		data       []byte
		apiVersion string
		gvk        schema.GroupVersionKind
	}{
		"another kind":      {pod, "v1", schema.GroupVersionKind{Version: "v1", Kind: "Secret"}},
		"another version":   {pod, "v2", schema.GroupVersionKind{Version: "v2", Kind: "Pod"}},
		"JSON":              {[]byte(`{"apiVersion":"v1","kind":"Pod"}`), "v1", podGVK},
		"a truncated value": {pod[:len(pod)-3], "v1", podGVK},
		"the magic alone":   {protobufMagic, "v1", podGVK},
	} {
		if decodeEnvelope(c.data, c.apiVersion, c.gvk, &corev1.Pod{}) {
			t.Errorf("%s: decoded", name)
		}
	}
}

// BenchmarkDecodeStored: a Pod's stored value of 3 KB, as large as a
// Deployment's Pods (most of it one annotation here), decoded by the
// protobuf serializer, and by decodeEnvelope.
func BenchmarkDecodeStored(b *testing.B) {
	ser := protobuf.NewSerializer(scheme.Scheme, scheme.Scheme)
	pod := envelopePod()
	pod.Annotations = map[string]string{"example.com/config": strings.Repeat("x", 2700)}
	var buf bytes.Buffer
	if err := ser.Encode(pod, &buf); err != nil {
		b.Fatal(err)
	}
	gvk := schema.GroupVersionKind{Version: "v1", Kind: "Pod"}
	b.Run("serializer", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := ser.Decode(buf.Bytes(), &gvk, &corev1.Pod{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("envelope", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !decodeEnvelope(buf.Bytes(), "v1", gvk, &corev1.Pod{}) {
				b.Fatal("not decoded")
			}
		}
	})
}
