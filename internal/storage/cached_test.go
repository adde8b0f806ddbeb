package storage

import (
	"bytes"
	"io"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/client-go/kubernetes/scheme"
)

// TestCachedEncodesOnce: concurrent readers of one encoding share one
// computation, each encoding is kept apart, encode works on a copy, and
// a serializer encodes a Cached from its cache.
func TestCachedEncodesOnce(t *testing.T) {
	cm := &corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Name: "a", Namespace: "ns", ResourceVersion: "5"}, Data: map[string]string{"k": "v"}}
	c := NewCached(cm)
	var calls atomic.Int32
	encode := func(obj runtime.Object, w io.Writer) error {
		calls.Add(1)
		obj.(*corev1.ConfigMap).Name = "changed by the encoder" // a copy: harmless
		_, err := w.Write([]byte("A"))
		return err
	}
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, err := c.Encoded("a", encode)
			if err != nil || string(b) != "A" {
				t.Errorf("%q %v", b, err)
			}
		}()
	}
	wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Fatalf("encoded %d times", n)
	}
	if b, _ := c.Encoded("b", func(runtime.Object, io.Writer) error { return io.ErrUnexpectedEOF }); b != nil {
		t.Fatalf("b: %q", b)
	}
	if _, err := c.Encoded("b", encode); err != io.ErrUnexpectedEOF {
		t.Fatalf("the failed encoding is kept: %v", err)
	}
	if cm.Name != "a" {
		t.Fatalf("the shared object changed: %q", cm.Name)
	}

	ser := json.NewSerializerWithOptions(json.DefaultMetaFactory, scheme.Scheme, scheme.Scheme, json.SerializerOptions{})
	var direct, first, second bytes.Buffer
	if err := ser.Encode(cm, &direct); err != nil {
		t.Fatal(err)
	}
	ser.Encode(c, &first)
	ser.Encode(c, &second)
	if !bytes.Equal(direct.Bytes(), first.Bytes()) || !bytes.Equal(first.Bytes(), second.Bytes()) {
		t.Fatalf("serializer output differs:\n%s\n%s\n%s", direct.Bytes(), first.Bytes(), second.Bytes())
	}
	if got, err := c.Encoded(ser.Identifier(), nil); err != nil || !bytes.Equal(got, direct.Bytes()) {
		t.Fatalf("the serializer's encoding is not cached: %q %v", got, err)
	}

	cp := c.DeepCopyObject().(*corev1.ConfigMap)
	cp.Data["k"] = "changed"
	if cm.Data["k"] != "v" {
		t.Fatal("a copy shares the object's data")
	}
	if Unwrap(c) != runtime.Object(cm) || Unwrap(cp) != runtime.Object(cp) {
		t.Fatal("Unwrap")
	}
}

// TestEncodingCopy: a typed object's copy has its own fields (an encoder
// sets its kind) and shares what they point to; an unstructured object,
// whose kind is in its map, is copied deeply.
func TestEncodingCopy(t *testing.T) {
	cm := &corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Name: "a"}, Data: map[string]string{"k": "v"}}
	cp := EncodingCopy(cm).(*corev1.ConfigMap)
	if cp == cm || !reflect.DeepEqual(cp, cm) {
		t.Fatalf("not a copy: %p %p %v", cp, cm, cp)
	}
	cp.SetGroupVersionKind(schema.GroupVersionKind{})
	cp.Name = "b"
	if cm.Kind != "ConfigMap" || cm.Name != "a" {
		t.Fatalf("the copy's fields are the object's: %v", cm)
	}
	if reflect.ValueOf(cp.Data).UnsafePointer() != reflect.ValueOf(cm.Data).UnsafePointer() {
		t.Fatal("the copy does not share the object's data")
	}

	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "x/v1", "kind": "X", "spec": map[string]any{"a": "b"}}}
	ucp := EncodingCopy(u).(*unstructured.Unstructured)
	ucp.SetGroupVersionKind(schema.GroupVersionKind{})
	unstructured.SetNestedField(ucp.Object, "c", "spec", "a")
	if u.GetKind() != "X" || u.Object["spec"].(map[string]any)["a"] != "b" {
		t.Fatalf("an unstructured copy shares its map: %v", u.Object)
	}
}

// TestCachedKindReadOnly: setting the kind an object has is allowed (a
// no-op); setting another panics, as any change to a shared object is a
// bug.
func TestCachedKindReadOnly(t *testing.T) {
	c := NewCached(&corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"}})
	c.GetObjectKind().SetGroupVersionKind(schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"})
	defer func() {
		if recover() == nil {
			t.Fatal("changing a shared object's kind did not panic")
		}
	}()
	c.GetObjectKind().SetGroupVersionKind(schema.GroupVersionKind{})
}
