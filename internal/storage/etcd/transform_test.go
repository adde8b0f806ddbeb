package etcd

import (
	"bytes"
	"context"
	"crypto/aes"
	"errors"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/apimachinery/pkg/watch"
	aestransformer "k8s.io/apiserver/pkg/storage/value/encrypt/aes"
	"k8s.io/apiserver/pkg/storage/value/encrypt/identity"
	"k8s.io/client-go/kubernetes/scheme"

	"k8s.io/apiserver/pkg/storage/value"

	"kapi/internal/storage"
	"kapi/internal/storage/embedded"
	"kapi/internal/storage/storagetest"
)

// aescbc is kube's aescbc provider with the named keys, the first
// writing, all reading (k8s.io/apiserver's transformers, as an
// EncryptionConfiguration builds them), then identity.
func aescbc(t testing.TB, names ...string) value.Transformer {
	var ts []value.PrefixTransformer
	for _, n := range names {
		block, err := aes.NewCipher(bytes.Repeat([]byte(n[len(n)-1:]), 32))
		if err != nil {
			t.Fatal(err)
		}
		ts = append(ts, value.PrefixTransformer{Prefix: []byte("k8s:enc:aescbc:v1:" + n + ":"), Transformer: aestransformer.NewCBCTransformer(block)})
	}
	ts = append(ts, value.PrefixTransformer{Transformer: identity.NewEncryptCheckTransformer()})
	return value.NewPrefixTransformers(errors.New("no matching prefix"), ts...)
}

// transformedStores are two Stores of ConfigMaps on one real etcd, one
// with each transformer (a kapi before and after its file changed).
func transformedStores(t testing.TB, before, after value.Transformer) (*Store, *Store) {
	e, err := embedded.Start(context.Background(), t.TempDir()+"/etcd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	mk := func(tr value.Transformer) *Store {
		return New(e.Client, "/registry/configmaps/", Codec{Serializer: protobuf.NewSerializer(scheme.Scheme, scheme.Scheme),
			GVK: corev1.SchemeGroupVersion.WithKind("ConfigMap"), New: func() runtime.Object { return &corev1.ConfigMap{} }, Transformer: tr})
	}
	return mk(before), mk(after)
}

// TestTransformer: values are sealed at their etcd key; get, list, watch
// and delete open them; an unchanged update is no write while the value's
// key is the first, and a write when it is not (kube's stale), from a
// hint too.
func TestTransformer(t *testing.T) {
	old, cur := transformedStores(t, aescbc(t, "key1", "key2"), aescbc(t, "key2", "key1"))
	ctx := context.Background()
	created, err := old.Create(ctx, "a/one", storagetest.CM("a", "one", "plain-value"))
	if err != nil {
		t.Fatal(err)
	}
	raw := func() []byte {
		resp, err := old.client.Get(ctx, "/registry/configmaps/a/one")
		if err != nil || len(resp.Kvs) != 1 {
			t.Fatalf("raw: %v %v", err, resp)
		}
		return resp.Kvs[0].Value
	}
	if v := raw(); !bytes.HasPrefix(v, []byte("k8s:enc:aescbc:v1:key1:")) || bytes.Contains(v, []byte("plain-value")) {
		t.Fatalf("stored as %.40q", v)
	}
	w, err := cur.Watch(ctx, "a/", storage.WatchOptions{ResourceVersion: storagetest.RV(t, created)})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	got, err := cur.Get(ctx, "a/one", storage.ReadOptions{})
	if err != nil || got.(*corev1.ConfigMap).Labels["l"] != "plain-value" {
		t.Fatalf("get with key1 second: %v %v", got, err)
	}
	// Not stale to the old store: unchanged, no write.
	same, err := old.Update(ctx, "a/one", false, storagetest.Write(func(o runtime.Object) (runtime.Object, error) { return o, nil }))
	if err != nil || storagetest.RV(t, same) != storagetest.RV(t, created) {
		t.Fatalf("unchanged update, key1 first: %v", err)
	}
	// Stale to the new one: written with key2, from a hint (the cache's
	// copy) as from etcd.
	for i, hint := range []runtime.Object{got, nil} {
		if i == 1 {
			if _, err := old.Update(ctx, "a/one", false, storagetest.Write(func(o runtime.Object) (runtime.Object, error) {
				o.(*corev1.ConfigMap).Data = map[string]string{"back": "to key1"}
				return o, nil
			})); err != nil {
				t.Fatal(err)
			}
		}
		out, err := cur.UpdateFrom(ctx, "a/one", false, storagetest.Write(func(o runtime.Object) (runtime.Object, error) { return o, nil }), hint)
		if err != nil {
			t.Fatal(err)
		}
		if v := raw(); !bytes.HasPrefix(v, []byte("k8s:enc:aescbc:v1:key2:")) {
			t.Fatalf("stale value rewritten (hint %v) as %.30q", hint != nil, v)
		}
		again, err := cur.UpdateFrom(ctx, "a/one", false, storagetest.Write(func(o runtime.Object) (runtime.Object, error) { return o, nil }), out)
		if err != nil || storagetest.RV(t, again) != storagetest.RV(t, out) {
			t.Fatalf("unchanged update of a fresh value wrote: %v", err)
		}
	}
	list, err := cur.List(ctx, "a/", storage.ListOptions{})
	if err != nil || len(list.Items) != 1 {
		t.Fatalf("list: %v %v", list, err)
	}
	if _, err := cur.Delete(ctx, "a/one", nil); err != nil {
		t.Fatal(err)
	}
	// The watch saw every write decrypted: two updates of key2, one of
	// key1, the delete.
	for _, want := range []watch.EventType{watch.Modified, watch.Modified, watch.Modified, watch.Deleted} {
		select {
		case ev := <-w.ResultChan():
			cm, ok := ev.Object.(*corev1.ConfigMap)
			if ev.Type != want || !ok || cm.Labels["l"] != "plain-value" {
				t.Fatalf("watch: want %s, got %s %v", want, ev.Type, ev.Object)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("watch: no %s", want)
		}
	}
	// A value no provider opens is an error naming the key.
	if _, err := old.client.Put(ctx, "/registry/configmaps/a/bad", "k8s:enc:aescbc:v1:key9:garbage"); err != nil {
		t.Fatal(err)
	}
	if _, err := cur.Get(ctx, "a/bad", storage.ReadOptions{}); err == nil || !bytes.Contains([]byte(err.Error()), []byte("/registry/configmaps/a/bad")) {
		t.Fatalf("an unreadable value: %v", err)
	}
}

// BenchmarkTransformer: a create and a get of a ConfigMap on a real etcd,
// as encoded and with kube's aescbc.
func BenchmarkTransformer(b *testing.B) {
	for _, c := range []struct {
		name string
		tr   func(testing.TB) value.Transformer
	}{
		{"none", func(testing.TB) value.Transformer { return nil }},
		{"aescbc", func(t testing.TB) value.Transformer { return aescbc(t, "key1") }},
	} {
		b.Run(c.name, func(b *testing.B) {
			s, _ := transformedStores(b, c.tr(b), nil)
			ctx := context.Background()
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				name := fmt.Sprint("n", i)
				if _, err := s.Create(ctx, "a/"+name, storagetest.CM("a", name, "v")); err != nil {
					b.Fatal(err)
				}
				if _, err := s.Get(ctx, "a/"+name, storage.ReadOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
