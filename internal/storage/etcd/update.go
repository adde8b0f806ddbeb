package etcd

import (
	"bytes"
	"context"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/apimachinery/pkg/runtime"

	"kapi/internal/storage"
)

// Update is a read-modify-write loop: read the current object, let
// tryUpdate change it, and write it in a transaction that compares the
// mod_revision read. When another writer came first, the transaction's
// else branch returns the new current value and the loop runs again.
func (s *Store) Update(ctx context.Context, key string, allowCreate bool, tryUpdate storage.UpdateFunc) (runtime.Object, error) {
	k := s.key(key)
	resp, err := s.client.Get(ctx, k)
	if err != nil {
		return nil, err
	}
	var cur *mvccpb.KeyValue
	if len(resp.Kvs) > 0 {
		cur = resp.Kvs[0]
	}
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var current runtime.Object
		var modRev int64
		if cur != nil {
			if current, err = s.decode(cur.Value, cur.ModRevision); err != nil {
				return nil, err
			}
			modRev = cur.ModRevision
		} else if !allowCreate {
			return nil, &storage.Error{Code: storage.CodeNotFound, Key: key}
		}
		updated, err := tryUpdate(current)
		if err != nil {
			return nil, err
		}
		data, err := s.encode(updated)
		if err != nil {
			return nil, err
		}
		if cur != nil && bytes.Equal(data, cur.Value) {
			// Nothing changed: no write, same resourceVersion.
			return s.decode(cur.Value, cur.ModRevision)
		}
		if len(data) > maxObjectSize {
			return nil, tooLarge(key, len(data))
		}
		txn, err := s.client.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(k), "=", modRev)).
			Then(clientv3.OpPut(k, string(data))).
			Else(clientv3.OpGet(k)).
			Commit()
		if err != nil {
			return nil, err
		}
		if txn.Succeeded {
			return s.decode(data, txn.Header.Revision)
		}
		cur = nil
		if kvs := txn.Responses[0].GetResponseRange().Kvs; len(kvs) > 0 {
			cur = kvs[0]
		}
	}
}
