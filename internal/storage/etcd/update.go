package etcd

import (
	"bytes"
	"context"
	"strconv"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"

	"kapi/internal/storage"
)

// Update is a read-modify-write loop: read the current object, let
// tryUpdate decide, and carry the decision out in a transaction that
// compares the mod_revision read. When another writer came first, the
// transaction's else branch returns the new current value and the loop
// runs again.
func (s *Store) Update(ctx context.Context, key string, allowCreate bool, tryUpdate storage.UpdateFunc) (runtime.Object, error) {
	return s.UpdateFrom(ctx, key, allowCreate, tryUpdate, nil)
}

// UpdateFrom is Update starting from hint, the object as a cache last saw
// it, instead of reading it first: one transaction when the hint is
// current. A stale hint costs a retry: the transaction compares its
// revision, and its else branch returns the current object. A decision
// that writes nothing (an error, a NoWrite, an unchanged object) is
// believed once a read shows the hint was current, without asking
// tryUpdate again: a refused or dry-run update runs its admission once.
func (s *Store) UpdateFrom(ctx context.Context, key string, allowCreate bool, tryUpdate storage.UpdateFunc, hint runtime.Object) (runtime.Object, error) {
	ctx, span := s.startSpan(ctx, "GuaranteedUpdate etcd3", key)
	defer span.End()
	k := s.key(key)
	// hinted is the hint's copy: what decoding cur would give, without
	// paying for the decode (the cache decoded it already).
	cur, hinted, err := s.hinted(hint)
	// curStale: cur was stored with a key that is no longer the first
	// (Codec.Transformer), so an update writes it even if unchanged.
	curStale := false
	fetch := func() error {
		start := time.Now()
		resp, err := s.client.Get(ctx, k)
		err = s.observe(opGet, start, err)
		if err != nil {
			return err
		}
		cur, hinted, curStale = nil, nil, false
		if len(resp.Kvs) > 0 {
			cur, curStale, err = s.open(ctx, resp.Kvs[0])
		}
		return err
	}
	// stale reads the object again when cur came from the hint, and
	// reports whether it changed since (then the loop decides again).
	fromHint := err == nil && cur != nil
	stale := func() (bool, error) {
		if !fromHint {
			return false, nil
		}
		fromHint = false
		rev := cur.ModRevision
		if err := fetch(); err != nil {
			return false, err
		}
		return cur == nil || cur.ModRevision != rev || curStale, nil
	}
	if !fromHint {
		if err := fetch(); err != nil {
			return nil, err
		}
	}
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var current runtime.Object
		var modRev int64
		if cur != nil {
			if hinted != nil {
				current, hinted = hinted, nil
			} else if current, err = s.decode(cur.Value, cur.ModRevision); err != nil {
				return nil, err
			}
			modRev = cur.ModRevision
		} else if !allowCreate {
			return nil, &storage.Error{Code: storage.CodeNotFound, Key: key}
		}
		d, err := tryUpdate(current)
		if err == nil && d.Action == storage.Remove && cur == nil {
			return nil, &storage.Error{Code: storage.CodeNotFound, Key: key}
		}
		var data []byte
		if err == nil && d.Action == storage.Write {
			data, err = s.encode(d.Object)
			if err != nil {
				return nil, err
			}
		}
		unchanged := err == nil && d.Action == storage.Write && cur != nil && !curStale && bytes.Equal(data, cur.Value)
		if err != nil || d.Action == storage.NoWrite || unchanged {
			if again, ferr := stale(); ferr != nil {
				return nil, ferr
			} else if again {
				continue
			}
			switch {
			case err != nil:
				return nil, err
			case d.Action == storage.NoWrite:
				return d.Object, nil
			}
			// Nothing changed: no write, same resourceVersion.
			return s.decodeWritten(cur.Value, cur.ModRevision)
		}
		op := clientv3.OpDelete(k)
		var stored []byte
		if d.Action == storage.Write {
			if stored, err = s.seal(ctx, k, data); err != nil {
				return nil, err
			}
			if len(stored) > maxObjectSize {
				return nil, tooLarge(key, len(stored))
			}
			put, err := s.putOptions(ctx)
			if err != nil {
				return nil, err
			}
			op = clientv3.OpPut(k, string(stored), put...)
		}
		// A stale charge fails the transaction too; the object, read
		// again, may be unchanged: the loop decides again on it (the
		// decision reads the charged object anew).
		ifs, thens := chargeOps(d.Charges)
		// A removal is kube's "delete" (its registry deletes what an
		// update leaves without finalizers with a Delete).
		metric := opUpdate
		if d.Action == storage.Remove {
			metric = opDelete
		}
		start := time.Now()
		txn, err := s.client.Txn(ctx).
			If(append([]clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(k), "=", modRev)}, ifs...)...).
			Then(append([]clientv3.Op{op}, thens...)...).
			Else(clientv3.OpGet(k)).
			Commit()
		err = s.observe(metric, start, err)
		if kv := s.appliedAnyway(ctx, err, k, stored); kv != nil {
			return s.decodeWritten(data, kv.ModRevision)
		}
		if err != nil {
			return nil, err
		}
		if txn.Succeeded {
			if d.Action == storage.Remove {
				return current, nil
			}
			return s.decodeWritten(data, txn.Header.Revision)
		}
		cur, hinted, fromHint, curStale = nil, nil, false, false
		if kvs := txn.Responses[0].GetResponseRange().Kvs; len(kvs) > 0 {
			if cur, curStale, err = s.open(ctx, kvs[0]); err != nil {
				return nil, err
			}
		}
	}
}

// hinted is the key-value a hint stands for, its encoding at its
// resourceVersion, and a copy of the hint to update. nil without a usable
// hint.
func (s *Store) hinted(hint runtime.Object) (*mvccpb.KeyValue, runtime.Object, error) {
	if hint == nil {
		return nil, nil, nil
	}
	m, err := meta.Accessor(hint)
	if err != nil {
		return nil, nil, err
	}
	rv := m.GetResourceVersion()
	rev, err := strconv.ParseInt(rv, 10, 64)
	if err != nil || rev <= 0 {
		return nil, nil, err
	}
	obj := hint.DeepCopyObject()
	data, err := s.encode(obj)
	if err != nil {
		return nil, nil, err
	}
	m, err = meta.Accessor(obj)
	if err != nil {
		return nil, nil, err
	}
	m.SetResourceVersion(rv) // encode cleared it
	return &mvccpb.KeyValue{Value: data, ModRevision: rev}, obj, nil
}
