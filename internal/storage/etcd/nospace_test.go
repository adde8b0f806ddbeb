package etcd

import (
	"context"
	"testing"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"kapi/internal/storage"
	"kapi/internal/storage/storagetest"
)

// quotaCrossingKV is etcd at the moment a write crosses its space quota:
// the next transaction is applied, then answered "database space exceeded"
// (etcd's quota applier); the ones after are refused without being
// applied (its alarm raised).
type quotaCrossingKV struct {
	clientv3.KV
	crossed *bool
}

func (q quotaCrossingKV) Txn(ctx context.Context) clientv3.Txn {
	return &quotaTxn{Txn: q.KV.Txn(ctx), crossed: q.crossed}
}

type quotaTxn struct {
	clientv3.Txn
	crossed *bool
}

func (t *quotaTxn) If(cs ...clientv3.Cmp) clientv3.Txn   { t.Txn = t.Txn.If(cs...); return t }
func (t *quotaTxn) Then(ops ...clientv3.Op) clientv3.Txn { t.Txn = t.Txn.Then(ops...); return t }
func (t *quotaTxn) Else(ops ...clientv3.Op) clientv3.Txn { t.Txn = t.Txn.Else(ops...); return t }

func (t *quotaTxn) Commit() (*clientv3.TxnResponse, error) {
	if *t.crossed {
		return nil, rpctypes.ErrNoSpace
	}
	*t.crossed = true
	if _, err := t.Txn.Commit(); err != nil {
		return nil, err
	}
	return nil, rpctypes.ErrNoSpace
}

// TestQuotaCrossingWrite: the write that crosses etcd's space quota is
// applied though etcd answers "database space exceeded": kapi answers it
// as done, with its resourceVersion; a write etcd refused stays an error.
func TestQuotaCrossingWrite(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	real := s.client
	crossing := func() {
		crossed := false
		c := clientv3.NewCtxClient(ctx)
		c.KV, c.Watcher = quotaCrossingKV{KV: real.KV, crossed: &crossed}, real.Watcher
		s.client = c
	}

	crossing()
	out, err := s.Create(ctx, "a/one", storagetest.CM("a", "one", "x"))
	if err != nil {
		t.Fatalf("the create etcd applied: %v", err)
	}
	resp, err := real.Get(ctx, "/registry/configmaps/a/one")
	if err != nil || len(resp.Kvs) != 1 || resp.Kvs[0].ModRevision != storagetest.RV(t, out) {
		t.Fatalf("the create answered %v, etcd holds %v %v", out, resp, err)
	}
	if _, err := s.Create(ctx, "a/two", storagetest.CM("a", "two", "x")); err == nil {
		t.Fatal("a create etcd refused succeeded")
	}

	crossing()
	set := func(v string) storage.UpdateFunc {
		return func(cur runtime.Object) (storage.Decision, error) {
			cm := cur.(*corev1.ConfigMap).DeepCopy()
			cm.Data = map[string]string{"k": v}
			return storage.WriteObject(cm), nil
		}
	}
	out, err = s.Update(ctx, "a/one", false, set("y"))
	if err != nil || out.(*corev1.ConfigMap).Data["k"] != "y" {
		t.Fatalf("the update etcd applied: %v %v", out, err)
	}
	resp, err = real.Get(ctx, "/registry/configmaps/a/one")
	if err != nil || len(resp.Kvs) != 1 || resp.Kvs[0].ModRevision != storagetest.RV(t, out) {
		t.Fatalf("the update answered %v, etcd holds %v %v", out, resp, err)
	}
	if _, err := s.Update(ctx, "a/one", false, set("z")); err == nil {
		t.Fatal("an update etcd refused succeeded")
	}
}
