package etcd

import (
	"context"
	"fmt"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/apimachinery/pkg/runtime"

	"kapi/internal/storage"
)

// Delete removes the object at key in a transaction that compares the
// mod_revision that check accepted; when the object changed in between,
// check sees the new one.
func (s *Store) Delete(ctx context.Context, key string, check func(current runtime.Object) error) (runtime.Object, error) {
	ctx, span := s.startSpan(ctx, "Delete etcd3", key)
	defer span.End()
	return s.deleteIf(ctx, key, func(cur *mvccpb.KeyValue) (runtime.Object, bool, error) {
		obj, err := s.decodeKV(ctx, cur)
		if err != nil {
			return nil, false, err
		}
		if check != nil {
			if err := check(obj); err != nil {
				return nil, false, err
			}
		}
		return obj, true, nil
	})
}

// DeleteCorrupt removes the object at key if it does not decrypt or
// decode, in a transaction on the mod_revision read (kube's unsafe
// deletion of corrupt objects).
func (s *Store) DeleteCorrupt(ctx context.Context, key string, dryRun bool) error {
	ctx, span := s.startSpan(ctx, "DeleteCorrupt etcd3", key)
	defer span.End()
	_, err := s.deleteIf(ctx, key, func(cur *mvccpb.KeyValue) (runtime.Object, bool, error) {
		_, err := s.decodeKV(ctx, cur)
		switch {
		case err == nil:
			return nil, false, &storage.Error{Code: storage.CodeNotCorrupt, Key: string(cur.Key),
				Msg: fmt.Sprintf("StorageError: invalid object, Code: 4, Key: %s, ResourceVersion: 0, AdditionalErrorMsg: unsafe deletion is not allowed because the object is decodable from storage", cur.Key)}
		case !storage.HasCode(err, storage.CodeCorrupt):
			return nil, false, err
		}
		return nil, !dryRun, nil
	})
	return err
}

// deleteIf removes the object at key if decide, given its current value,
// says so, in a transaction on that value's mod_revision; when the object
// changed in between, decide sees the new value. It returns what decide
// returned for the value removed (or not, when decide says no).
func (s *Store) deleteIf(ctx context.Context, key string, decide func(cur *mvccpb.KeyValue) (runtime.Object, bool, error)) (runtime.Object, error) {
	k := s.key(key)
	start := time.Now()
	resp, err := s.client.Get(ctx, k)
	err = s.observe(opGet, start, err)
	if err != nil {
		return nil, err
	}
	kvs := resp.Kvs
	for {
		if len(kvs) == 0 {
			return nil, &storage.Error{Code: storage.CodeNotFound, Key: key}
		}
		cur := kvs[0]
		obj, del, err := decide(cur)
		if err != nil || !del {
			return obj, err
		}
		start := time.Now()
		txn, err := s.client.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(k), "=", cur.ModRevision)).
			Then(clientv3.OpDelete(k)).
			Else(clientv3.OpGet(k)).
			Commit()
		err = s.observe(opDelete, start, err)
		if err != nil {
			return nil, err
		}
		if txn.Succeeded {
			return obj, nil
		}
		kvs = txn.Responses[0].GetResponseRange().Kvs
	}
}
